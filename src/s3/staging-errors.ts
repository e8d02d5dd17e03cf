import { statfs } from 'node:fs/promises';
import { configError, type ConnectorError } from '../protocol/errors.js';
import { formatBytes } from '../format-bytes.js';

const errorCode = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code;


async function freeBytes(dir: string): Promise<number | undefined> {
  try {
    const stats = await statfs(dir);
    return stats.bavail * stats.bsize;
  } catch {
    return undefined;
  }
}

/**
 * The error for a failed write into the staging directory when the disk (or the
 * user's quota) is full: it names the object, SOURCE_S3_STAGING_DIR, the space
 * the object needed and what was free. Undefined for any other failure, which
 * the caller maps as before. Call it after removing the partial file, so the
 * free space reported is what the object had to fit in.
 */
export async function stagingSpaceError(error: unknown, where: { dir: string; url: string; needed: number }): Promise<ConnectorError | undefined> {
  const code = errorCode(error);
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return undefined;
  const free = await freeBytes(where.dir);
  const had = free === undefined ? 'less' : `${formatBytes(free)} free`;
  return configError(
    `No space left to stage ${where.url}: it needs ${formatBytes(where.needed)} and the staging directory ${where.dir} (SOURCE_S3_STAGING_DIR) has ${had}` +
      `${code === 'EDQUOT' ? ' within your disk quota' : ''}. Set SOURCE_S3_STAGING_DIR to a volume with room for the largest object (twice that while the next file is prefetched), or free space there.`,
    { cause: error },
  );
}

/** The error for a SOURCE_S3_STAGING_DIR that cannot hold a staging folder at all. */
export function stagingDirError(error: unknown, parent: string): ConnectorError {
  const code = errorCode(error);
  const reasons: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EROFS: 'it is on a read-only file system',
    ENOTDIR: 'a part of the path is a file, not a directory',
    EEXIST: 'it is a file, not a directory',
    ENOENT: 'a part of the path does not exist',
    ENOSPC: 'no space left on the device',
    EDQUOT: 'the disk quota is exhausted',
  };
  const reason = (code !== undefined ? reasons[code] : undefined) ?? `error ${code ?? 'unknown'}`;
  return configError(`The staging directory ${parent} (SOURCE_S3_STAGING_DIR) cannot be used: ${reason}. Set SOURCE_S3_STAGING_DIR to a writable directory with room for the objects being read.`, { cause: error });
}
