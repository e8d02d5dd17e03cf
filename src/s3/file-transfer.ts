import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, chmod, mkdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ConnectorError } from '../protocol/errors.js';
import type { Bucket } from './bucket.js';
import { downloadObject } from './object-reader.js';
import type { S3Object } from './settings.js';

/** Where the platform mounts the folder copied files go (Airbyte's raw-file transfer). */
export const STAGING_DIRECTORY_VARIABLE = 'AIRBYTE_STAGING_DIRECTORY';
export const DEFAULT_STAGING_DIRECTORY = '/staging/files';

/** Longest file or folder name most file systems take (NAME_MAX), in bytes. */
const NAME_MAX_BYTES = 255;

/**
 * The staging directory named by AIRBYTE_STAGING_DIRECTORY (default /staging/files), resolved to
 * its real absolute path: it must exist, be a directory and be writable. Anything else is the
 * deployment's to fix (the platform mounts it), so a system_error naming the variable.
 */
export async function fileStagingDirectory(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const given = env[STAGING_DIRECTORY_VARIABLE]?.trim() || DEFAULT_STAGING_DIRECTORY;
  const named = `${STAGING_DIRECTORY_VARIABLE} (${given}${env[STAGING_DIRECTORY_VARIABLE]?.trim() ? '' : ', the default'})`;
  const fix = `Mount a writable volume there (docker run -v /some/dir:${DEFAULT_STAGING_DIRECTORY}) or set ${STAGING_DIRECTORY_VARIABLE} to a writable directory.`;
  let dir: string;
  try {
    dir = await realpath(resolve(given));
    if (!(await stat(dir)).isDirectory()) throw stagingError(`${named} is not a directory. ${fix}`);
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    if (error instanceof ConnectorError) throw error;
    const code = (error as { code?: string }).code;
    const what = code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'is not a directory' : code === 'EACCES' || code === 'EROFS' || code === 'EPERM' ? 'is not writable' : `cannot be used (${code ?? String(error)})`;
    throw stagingError(`${named} ${what}: raw-file transfer copies files there. ${fix}`);
  }
  return dir;
}

function stagingError(message: string): ConnectorError {
  return new ConnectorError('system_error', message);
}

/**
 * The path a copied object gets below its staging folder, and reports as source_file_relative_path:
 * the key below the path prefix (preserveDirectories), or its file name only. Keys are anyone's
 * input, so the path is made safe to write and to hand to a destination: empty and `.` segments
 * are dropped, `..` becomes `%2E%2E` (never a step up), control characters (NUL, line breaks) and
 * backslashes (a separator on Windows) are percent-encoded, and a name longer than 255 bytes is
 * cut and made unique by a hash of it. Two keys may then map to one path (a//b and a/b): the
 * caller refuses that (see duplicatePaths), as Airbyte refuses two files of one name.
 */
export function transferRelativePath(key: string, pathPrefix: string, preserveDirectories: boolean): string {
  const below = key.startsWith(pathPrefix) ? key.slice(pathPrefix.length) : key;
  const segments = below.split('/').filter((segment) => segment !== '' && segment !== '.');
  const kept = preserveDirectories ? segments : segments.slice(-1);
  if (kept.length === 0) return '%2F';
  return kept.map(safeName).join('/');
}

function safeName(segment: string): string {
  const encoded = segment === '..' ? '%2E%2E' : segment.replace(/[\u0000-\u001f\u007f\\]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  return Buffer.byteLength(encoded) <= NAME_MAX_BYTES ? encoded : shortened(encoded);
}

/** A name cut to 255 bytes: its start, a hash of the whole name, and its extension (kept if short). */
function shortened(name: string): string {
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 16);
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 && Buffer.byteLength(name) - Buffer.byteLength(name.slice(0, dot)) <= 16 ? name.slice(dot) : '';
  const room = NAME_MAX_BYTES - Buffer.byteLength(extension) - hash.length - 1;
  let start = '';
  for (const char of name) {
    if (Buffer.byteLength(start + char) > room) break;
    start += char;
  }
  return `${start}~${hash}${extension}`;
}

/** Paths that more than one key maps to, with those keys (at most `limit` paths). */
export function duplicatePaths(paths: ReadonlyMap<string, string>, limit = 5): { path: string; keys: string[] }[] {
  const byPath = new Map<string, string[]>();
  for (const [key, path] of paths) {
    const keys = byPath.get(path);
    if (keys === undefined) byPath.set(path, [key]);
    else keys.push(key);
  }
  return [...byPath].filter(([, keys]) => keys.length > 1).slice(0, limit).map(([path, keys]) => ({ path, keys }));
}

/** A file copied into the staging directory. */
export interface CopiedFile {
  object: S3Object;
  /** Absolute path of the copy: staging directory / a folder of its own / relative path. */
  path: string;
  relativePath: string;
  /** The folder of its own the copy lies in (removed if the copy is never reported). */
  folder: string;
}

/**
 * Copies one listed object byte for byte to `<stagingDir>/<random folder>/<relativePath>`,
 * streamed (a chunk at a time, whatever the size), resumed after network failures, with its size
 * and ETag checked (downloadObject). Each file gets a folder of its own, as Airbyte does, so two
 * streams or two syncs never share a staging file. The bytes go to a temporary name first and are
 * renamed when complete: a cut body never leaves a file under its final name; on any failure the
 * folder is removed.
 */
export async function copyToStaging(bucket: Bucket, object: S3Object, stagingDir: string, relativePath: string): Promise<CopiedFile> {
  const url = `s3://${bucket.name}/${object.key}`;
  const folder = join(stagingDir, randomBytes(16).toString('hex'));
  const path = join(folder, relativePath);
  // transferRelativePath never steps up; checked again here because a wrong write is unrecoverable.
  const inside = relative(folder, path);
  if (inside === '' || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside) || !path.startsWith(folder + sep)) {
    throw new ConnectorError('system_error', `Refused to copy ${url}: its staging path ${JSON.stringify(relativePath.slice(0, 200))} would lie outside the staging directory.`);
  }
  const partial = join(dirname(path), `.partial-${randomBytes(8).toString('hex')}`);
  try {
    await mkdir(dirname(path), { recursive: true });
    await downloadObject(bucket, object, partial);
    // Readable by the destination, which may run as another user on the shared volume.
    await chmod(partial, 0o644);
    await rename(partial, path);
  } catch (error) {
    await rm(folder, { recursive: true, force: true });
    if (error instanceof ConnectorError) throw error;
    const { code, message } = error as { code?: string; message?: string };
    throw new ConnectorError(
      'system_error',
      `Could not copy ${url} into the staging directory ${stagingDir} (${code ?? 'error'}: ${String(message ?? error).split(stagingDir).join('<staging>').slice(0, 200)}).${code === 'ENOSPC' ? ' The staging volume is full.' : ''}`,
      { cause: error },
    );
  }
  return { object, path, relativePath, folder };
}

/** Removes a copy that was never reported in a record (a sync that failed before its turn). */
export async function discardCopy(copy: CopiedFile): Promise<void> {
  await rm(copy.folder, { recursive: true, force: true });
}
