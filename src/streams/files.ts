import type { FileStreamConfig } from '../config/resolved.js';
import type { Bucket } from '../s3/bucket.js';
import { expandZips } from './zip-files.js';
import { GlobMatcher } from '../s3/globs.js';
import type { S3Object } from '../s3/settings.js';

/** The objects of a file stream: keys matching its globs, not modified before start_date. */
export async function* streamFiles(
  bucket: Bucket,
  pathPrefix: string,
  stream: FileStreamConfig,
  startDate: Date | undefined,
): AsyncGenerator<S3Object> {
  for await (const page of streamFilePages(bucket, pathPrefix, stream, startDate)) yield* page;
}

/**
 * The same objects, one array per listing page (empty when a page holds none of them), for
 * callers that stop listing as soon as they have enough. start_date cannot narrow the listing
 * itself: S3 lists by key, never by date, so every key under the globs' shared folder is listed.
 */
export async function* streamFilePages(
  bucket: Bucket,
  pathPrefix: string,
  stream: FileStreamConfig,
  startDate: Date | undefined,
): AsyncGenerator<S3Object[]> {
  // A matching .zip stands for its members (one ranged GET or two for its directory).
  for await (const page of matchingObjectPages(bucket, pathPrefix, stream, startDate)) yield expandZips(bucket, stream, page);
}

/** The listed objects themselves, a .zip as one object: what raw-file transfer copies. */
export async function* matchingObjectPages(
  bucket: Bucket,
  pathPrefix: string,
  stream: FileStreamConfig,
  startDate: Date | undefined,
): AsyncGenerator<S3Object[]> {
  const matcher = streamMatcher(pathPrefix, stream);
  for await (const page of bucket.listPages(matcher.listPrefix)) {
    yield page.filter((object) => matcher.matches(object.key) && (startDate === undefined || object.lastModified >= startDate));
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
