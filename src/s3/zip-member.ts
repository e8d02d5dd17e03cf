import { once } from 'node:events';
import { PassThrough, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw, crc32 } from 'node:zlib';
import { configError, ConnectorError } from '../protocol/errors.js';
import type { Bucket } from './bucket.js';
import { compressionOf, decompressStream } from './compression.js';
import { compressedDataError, isDecompressionError } from './content-check.js';
import { readObjectBytes, type ByteSink } from './object-reader.js';
import type { S3Object } from './settings.js';
import type { ZipMember } from './zip-directory.js';

const LOCAL_HEADER = 0x04034b50;
const METHODS: Record<number, string> = { 0: 'stored', 8: 'deflate', 9: 'deflate64', 12: 'bzip2', 14: 'lzma', 93: 'zstd', 95: 'xz', 99: 'AES encryption' };

/**
 * Reads a zip member's text into `sink`, in order: a ranged GET of its bytes in the zip (with every
 * guarantee of a download: If-Match the zip's ETag, resumed, size checked), inflated, and proved
 * complete by its CRC-32 and size from the central directory; a member named .gz/.zst/.bz2 is
 * decompressed too. Output beyond the declared size fails at once: a zip bomb costs neither memory
 * nor more disk than its directory admits. `sink` may throw to stop early (a sample has enough).
 * Returns the compressed bytes fetched.
 */
export async function readMemberText(bucket: Bucket, object: S3Object, sink: ByteSink): Promise<number> {
  const member = object.member as ZipMember;
  const url = `s3://${bucket.name}/${object.key}`;
  refuseUnreadable(url, member);
  const start = await dataStart(bucket, member, url);
  const inner = compressionOf(member.name);
  const stages: Transform[] = [...(member.method === 8 ? [createInflateRaw({ chunkSize: 256 << 10 })] : []), new MemberCheck(member, url)];
  if (inner !== 'none' && member.uncompressedSize > 0) stages.push(decompressStream(inner));
  const source = new PassThrough({ highWaterMark: 1 << 20 });
  const target = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _encoding, done) {
      sink(chunk).then(() => done(), done);
    },
  });
  const flowing = pipeline([source, ...stages, target]);
  flowing.catch(() => undefined);
  let fetched = 0;
  try {
    if (member.compressedSize > 0) {
      fetched = await readObjectBytes(bucket, member.archive, { start, end: start + member.compressedSize - 1 }, async (chunk) => {
        if (!source.write(chunk)) await Promise.race([once(source, 'drain'), flowing]);
      });
    }
    source.end();
    await flowing;
  } catch (error) {
    source.destroy();
    if (error instanceof ConnectorError) throw error;
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_') && member.method === 8) {
      throw configError(`${url} is not valid deflate data (${(error as Error).message}): the zip is corrupt. None of its rows were used. Upload the zip again, or exclude it with the stream's globs.`);
    }
    if (inner !== 'none' && isDecompressionError(error)) throw compressedDataError(url, inner, error);
    throw error;
  }
  return fetched;
}

/** Thrown by a sink that has all it wants: stops the read without an error. */
export class Enough extends Error {}

/** The first `limit` bytes of a member's text, and whether that is all of it. */
export async function readMemberPrefix(bucket: Bucket, object: S3Object, limit: number): Promise<{ text: Buffer; whole: boolean; fetched: number }> {
  const chunks: Buffer[] = [];
  let kept = 0;
  let whole = true;
  let fetched = 0;
  try {
    fetched = await readMemberText(bucket, object, async (chunk) => {
      const room = limit - kept;
      if (chunk.length > room) whole = false;
      if (room > 0) {
        chunks.push(chunk.subarray(0, room));
        kept += Math.min(room, chunk.length);
      }
      if (!whole) throw new Enough();
    });
  } catch (error) {
    if (!(error instanceof Enough)) throw error;
    fetched = Math.min(object.member?.compressedSize ?? 0, kept);
  }
  return { text: Buffer.concat(chunks), whole, fetched };
}

function refuseUnreadable(url: string, member: ZipMember): void {
  const how = member.encrypted ? 'encrypted' : member.method === 0 || member.method === 8 ? undefined : `compressed with ${METHODS[member.method] ?? `method ${member.method}`}`;
  if (how === undefined) return;
  throw configError(`${url} is ${how}, which is not read (zip members are read when stored or deflated, unencrypted). Zip it again with plain deflate (e.g. \`zip\`, Python's zipfile with ZIP_DEFLATED), or exclude it with the stream's globs.`);
}

/** Where the member's data starts: after its local header, whose name and extra field may differ in length from the central directory's. */
async function dataStart(bucket: Bucket, member: ZipMember, url: string): Promise<number> {
  const header = await bucket.readRange(member.archive, member.localHeaderOffset, Math.min(member.archive.size, member.localHeaderOffset + 30) - 1);
  if (header.length < 30 || header.readUInt32LE(0) !== LOCAL_HEADER) {
    throw configError(`${url} cannot be read: its local header in the zip is damaged. Upload the zip again, or exclude it with the stream's globs.`);
  }
  const start = member.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  if (start + member.compressedSize > member.archive.size) throw configError(`${url} cannot be read: its data lies past the end of the zip (the upload may be cut off).`);
  return start;
}

/** Counts and checksums the member's uncompressed bytes against the central directory. */
class MemberCheck extends Transform {
  private crc = 0;
  private bytes = 0;

  constructor(
    private readonly member: ZipMember,
    private readonly url: string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.member.uncompressedSize) {
      return done(configError(`${this.url} expands past the ${this.member.uncompressedSize} bytes its zip directory declares: the zip is corrupt or crafted. None of its rows were used.`));
    }
    this.crc = crc32(chunk, this.crc);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.bytes !== this.member.uncompressedSize) {
      return done(configError(`${this.url} is cut off: it holds ${this.bytes} of the ${this.member.uncompressedSize} bytes its zip directory declares. None of its rows were used. Upload the zip again, or exclude it with the stream's globs.`));
    }
    if (this.crc >>> 0 !== this.member.crc32 >>> 0) {
      return done(configError(`${this.url} is corrupt: its CRC-32 does not match its zip directory. None of its rows were used. Upload the zip again, or exclude it with the stream's globs.`));
    }
    done();
  }
}

