import type { FileStreamConfig } from '../config/resolved.js';
import type { Bucket } from '../s3/bucket.js';
import { GlobMatcher } from '../s3/globs.js';
import type { S3Object } from '../s3/settings.js';

/** The objects of a file stream: keys matching its globs, not modified before start_date. */
export async function* streamFiles(
  bucket: Bucket,
  pathPrefix: string,
  stream: FileStreamConfig,
  startDate: Date | undefined,
): AsyncGenerator<S3Object> {
  const matcher = streamMatcher(pathPrefix, stream);
  for await (const object of bucket.list(matcher.listPrefix)) {
    if (!matcher.matches(object.key)) continue;
    if (startDate !== undefined && object.lastModified < startDate) continue;
    yield object;
  }
}

/** The default stream matches extensions in any case (REPORT.CSV too); configured globs match as written. */
export function streamMatcher(pathPrefix: string, stream: FileStreamConfig): GlobMatcher {
  return new GlobMatcher(pathPrefix, stream.globs, { caseInsensitive: stream.isDefault });
}

/** Oldest first, by last-modified then key: the order files are read in, and history grows in. */
export function oldestFirst(objects: S3Object[]): S3Object[] {
  return [...objects].sort((a, b) => a.lastModified.getTime() - b.lastModified.getTime() || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export function s3Url(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}
