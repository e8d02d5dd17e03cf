import { FILE_EXTENSIONS } from '../config/resolve.js';
import type { FileStreamConfig } from '../config/resolved.js';
import { sourceFileType } from '../engine/formats.js';
import { configError } from '../protocol/errors.js';
import type { Bucket } from '../s3/bucket.js';
import type { S3Object } from '../s3/settings.js';
import { isZipKey, zipMembers } from '../s3/zip-directory.js';

/**
 * Replaces each .zip among listed objects with its members, each then a file of the stream
 * (`s3://bucket/key.zip#member/path.csv`). A configured stream reads every member of a zip its
 * globs match. The default stream, which matches `**\/*.zip`, reads a member when its name has
 * the file type's extension (a.csv, a.csv.gz), or every member when the zip's own name does
 * (data.csv.zip): a zip of unrelated files is not read as CSV.
 */
export async function expandZips(bucket: Bucket, stream: FileStreamConfig, objects: S3Object[]): Promise<S3Object[]> {
  if (!objects.some((object) => isZipKey(object.key))) return objects;
  const expanded: S3Object[] = [];
  for (const object of objects) {
    if (!isZipKey(object.key)) {
      expanded.push(object);
      continue;
    }
    if (stream.format.filetype === 'parquet') {
      throw configError(
        `Stream "${stream.name}": s3://${bucket.name}/${object.key} is a zip; zips are read for every file type but Parquet (Parquet needs random access: upload the .parquet files themselves), or exclude it with the stream's globs.`,
        { streamName: stream.name },
      );
    }
    const members = await zipMembers(bucket, object);
    expanded.push(...(stream.isDefault ? defaultStreamMembers(stream, object.key, members) : members));
  }
  return expanded;
}

function defaultStreamMembers(stream: FileStreamConfig, zipKey: string, members: S3Object[]): S3Object[] {
  const extensions = FILE_EXTENSIONS[sourceFileType(stream.format)];
  const zipName = zipKey.toLowerCase().replace(/\.zip$/, '');
  if (extensions.some((extension) => zipName.endsWith(extension))) return members;
  return members.filter((member) => {
    const name = (member.member?.name ?? '').toLowerCase();
    return extensions.some((extension) => name.endsWith(extension));
  });
}
