import { configError } from '../protocol/errors.js';
import type { Bucket } from './bucket.js';
import type { S3Object } from './settings.js';

/**
 * A .zip object read without downloading it: its central directory (found from the end-of-central-
 * directory record, ZIP64 too) is fetched with ranged GETs and each file member becomes an object
 * of its own, `key` = `<zip key>#<member path>` (the name in `_ab_source_file_url`), `size` its
 * uncompressed size, and the zip's ETag and time: a rewritten zip is read again, an unchanged one
 * is not. Nothing is ever extracted by its name, so `../` or absolute member paths reach no disk path.
 */
export interface ZipMember {
  /** The zip object as listed: every read of the member is a ranged GET of it, If-Match its ETag. */
  archive: S3Object;
  /** The member's path as in the archive. */
  name: string;
  /** 0 stored, 8 deflate; others are refused when the member is read. */
  method: number;
  encrypted: boolean;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

/** A zip's own directory larger than this (about a million members) is refused, not fetched. */
const MAX_DIRECTORY_BYTES = 64 << 20;
/** More members than this in one zip are refused: each is a file of the stream, with its own state entry. */
export const MAX_ZIP_MEMBERS = 100_000;
/** End-of-central-directory record (22 bytes) + the longest comment + the ZIP64 locator (20). */
const TAIL_BYTES = 22 + 0xffff + 20;

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL_ENTRY = 0x02014b50;

export function isZipKey(key: string): boolean {
  return key.toLowerCase().endsWith('.zip');
}

/** The member objects of a listed zip: files only (no folders, no `__MACOSX/` or AppleDouble `._*` entries). */
export async function zipMembers(bucket: Bucket, archive: S3Object): Promise<S3Object[]> {
  const url = `s3://${bucket.name}/${archive.key}`;
  const { entries, offset, size } = await centralDirectory(bucket, archive, url);
  if (entries > MAX_ZIP_MEMBERS) throw tooMany(url, entries);
  if (size > MAX_DIRECTORY_BYTES) throw notRead(url, `its central directory is ${size} bytes, more than the ${MAX_DIRECTORY_BYTES} read`);
  if (offset + size > archive.size) throw notZip(url, 'its central directory lies past its end (the upload may be cut off)');
  const directory = size === 0 ? Buffer.alloc(0) : await bucket.readRange(archive, offset, offset + size - 1);
  const members: S3Object[] = [];
  let at = 0;
  for (let index = 0; index < entries; index++) {
    if (at + 46 > directory.length || directory.readUInt32LE(at) !== CENTRAL_ENTRY) throw notZip(url, `entry ${index + 1} of its central directory is damaged`);
    const flags = directory.readUInt16LE(at + 8);
    const method = directory.readUInt16LE(at + 10);
    const crc32 = directory.readUInt32LE(at + 16);
    let compressedSize = directory.readUInt32LE(at + 20);
    let uncompressedSize = directory.readUInt32LE(at + 24);
    const nameLength = directory.readUInt16LE(at + 28);
    const extraLength = directory.readUInt16LE(at + 30);
    const commentLength = directory.readUInt16LE(at + 32);
    let localHeaderOffset = directory.readUInt32LE(at + 42);
    const end = at + 46 + nameLength + extraLength + commentLength;
    if (end > directory.length) throw notZip(url, `entry ${index + 1} of its central directory is damaged`);
    const name = directory.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    // ZIP64: the 32-bit fields at their maximum are in the extra field, in this order.
    const zip64 = extraField(directory.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength), 0x0001);
    if (zip64 !== undefined) {
      let field = 0;
      const next = () => {
        if (field + 8 > zip64.length) throw notZip(url, `the ZIP64 sizes of member ${JSON.stringify(name.slice(0, 200))} are damaged`);
        field += 8;
        return Number(zip64.readBigUInt64LE(field - 8));
      };
      if (uncompressedSize === 0xffffffff) uncompressedSize = next();
      if (compressedSize === 0xffffffff) compressedSize = next();
      if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
    }
    at = end;
    if (!isFileMember(name)) continue;
    if (name.includes('\0')) throw notRead(url, `member ${JSON.stringify(name.slice(0, 200))} has a NUL character in its name`);
    if (localHeaderOffset + 30 + compressedSize > archive.size) throw notZip(url, `member ${JSON.stringify(name.slice(0, 200))} lies past its end`);
    members.push({
      key: `${archive.key}#${name}`,
      size: uncompressedSize,
      lastModified: archive.lastModified,
      ...(archive.etag === undefined ? {} : { etag: archive.etag }),
      member: { archive, name, method, encrypted: (flags & 1) !== 0, crc32, compressedSize, uncompressedSize, localHeaderOffset },
    });
  }
  refuseOverlaps(url, members, offset);
  return members;
}

/**
 * Each member's bytes (its 30-byte local header and its data) must lie apart from every other's and
 * before the central directory. Two entries sharing bytes are never what a zip writer makes (data
 * descriptors follow the data, inside the gap): they are a crafted zip that would read the same rows
 * twice under two names, or a non-recursive zip bomb (many entries inflating one shared kernel).
 */
function refuseOverlaps(url: string, members: S3Object[], directoryOffset: number): void {
  const spans = members
    .map((object) => object.member as ZipMember)
    .map((member) => ({ name: member.name, start: member.localHeaderOffset, end: member.localHeaderOffset + 30 + member.compressedSize }))
    .sort((a, b) => a.start - b.start);
  for (let index = 0; index < spans.length; index++) {
    const span = spans[index]!;
    const next = spans[index + 1];
    if (next !== undefined && span.end > next.start) {
      throw notZip(url, `members ${quoted(span.name)} and ${quoted(next.name)} share bytes (their directory entries overlap), as only a crafted zip or a zip bomb has`);
    }
    if (span.end > directoryOffset) throw notZip(url, `member ${quoted(span.name)} runs into its central directory (its directory entry is damaged)`);
  }
}

const quoted = (name: string) => JSON.stringify(name.slice(0, 200));

/** Folders, macOS resource forks (`__MACOSX/`, `._name`) are not files of the stream. */
function isFileMember(name: string): boolean {
  if (name.endsWith('/') || name.endsWith('\\')) return false;
  if (name.startsWith('__MACOSX/') || name.includes('/__MACOSX/')) return false;
  const base = name.slice(name.lastIndexOf('/') + 1);
  return !base.startsWith('._');
}

/** Where the central directory is and how many entries it holds, from the zip's last bytes. */
async function centralDirectory(bucket: Bucket, archive: S3Object, url: string): Promise<{ entries: number; offset: number; size: number }> {
  if (archive.size < 22) throw notZip(url, `it is ${archive.size} bytes, shorter than an empty zip`);
  const tailStart = Math.max(0, archive.size - TAIL_BYTES);
  const tail = await bucket.readRange(archive, tailStart, archive.size - 1);
  let eocd = -1;
  for (let at = tail.length - 22; at >= 0; at--) {
    // The record's comment must end exactly at the file's end: a signature inside a member's data does not.
    if (tail.readUInt32LE(at) === EOCD && at + 22 + tail.readUInt16LE(at + 20) === tail.length) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw notZip(url, 'it has no end-of-central-directory record: it is not a zip, or its upload was cut off');
  let entries = tail.readUInt16LE(eocd + 10);
  let size = tail.readUInt32LE(eocd + 12);
  let offset = tail.readUInt32LE(eocd + 16);
  const locator = eocd - 20;
  if (locator >= 0 && tail.readUInt32LE(locator) === ZIP64_LOCATOR) {
    const recordAt = Number(tail.readBigUInt64LE(locator + 8));
    if (recordAt + 56 > archive.size) throw notZip(url, 'its ZIP64 end-of-central-directory record lies past its end');
    const record = recordAt >= tailStart ? tail.subarray(recordAt - tailStart, recordAt - tailStart + 56) : await bucket.readRange(archive, recordAt, recordAt + 55);
    if (record.length < 56 || record.readUInt32LE(0) !== ZIP64_EOCD) throw notZip(url, 'its ZIP64 end-of-central-directory record is damaged');
    entries = Number(record.readBigUInt64LE(32));
    size = Number(record.readBigUInt64LE(40));
    offset = Number(record.readBigUInt64LE(48));
  }
  return { entries, offset, size };
}

/** The data of extra field `id`, if present. */
function extraField(extra: Buffer, id: number): Buffer | undefined {
  for (let at = 0; at + 4 <= extra.length; ) {
    const length = extra.readUInt16LE(at + 2);
    if (extra.readUInt16LE(at) === id) return extra.subarray(at + 4, Math.min(extra.length, at + 4 + length));
    at += 4 + length;
  }
  return undefined;
}

const FIX = "Upload it again as a zip made by a common tool (zip, Python's zipfile, the OS's compress), or exclude it with the stream's globs.";

function notZip(url: string, why: string) {
  return configError(`${url} cannot be read as a zip: ${why}. ${FIX}`);
}

function notRead(url: string, why: string) {
  return configError(`${url} is not read: ${why}. ${FIX}`);
}

function tooMany(url: string, entries: number) {
  return configError(`${url} holds ${entries} entries, more than the ${MAX_ZIP_MEMBERS} read from one zip. Split it into several zips, or exclude it with the stream's globs.`);
}
