import type { Bucket } from './bucket.js';
import { compressionOf, prefixDecoder } from './compression.js';
import { compressedDataError } from './content-check.js';
import type { S3Object } from './settings.js';
import { readMemberPrefix } from './zip-member.js';

/** First and largest ranged read while decompressing a sample: small files cost one small request. */
const FIRST_RANGE_BYTES = 64 << 10;
const MAX_RANGE_BYTES = 1 << 20;

export interface TextPrefix {
  /** Up to `limit` bytes of the (decompressed) text. */
  text: Buffer;
  /** True when `text` is the whole file. */
  whole: boolean;
  /** Bytes fetched from S3. */
  fetched: number;
}

/**
 * The first `limit` bytes of an object's text: a ranged read for plain files;
 * for .gz/.zst, growing ranged reads decompressed as they arrive, until
 * `limit` bytes of text are out or the file ends.
 */
export async function readTextPrefix(bucket: Bucket, object: S3Object, limit: number): Promise<TextPrefix> {
  if (object.member !== undefined) return readMemberPrefix(bucket, object, limit);
  const compression = compressionOf(object.key);
  if (compression === 'none') {
    const end = Math.min(object.size, limit) - 1;
    const text = end < 0 ? Buffer.alloc(0) : await bucket.readRange(object, 0, end);
    return { text, whole: object.size <= limit, fetched: text.length };
  }
  const decoder = prefixDecoder(compression, limit);
  const url = `s3://${bucket.name}/${object.key}`;
  let fetched = 0;
  let rangeBytes = FIRST_RANGE_BYTES;
  while (fetched < object.size && !decoder.full) {
    const chunk = await bucket.readRange(object, fetched, Math.min(object.size, fetched + rangeBytes) - 1);
    fetched += chunk.length;
    rangeBytes = Math.min(MAX_RANGE_BYTES, rangeBytes * 2);
    try {
      await decoder.push(chunk);
    } catch (error) {
      throw compressedDataError(url, compression, error);
    }
  }
  // The whole file was read: its compressed data must end where it says (a cut upload ends early).
  // A zero-byte object is empty, not cut: it has no rows.
  if (fetched >= object.size && !decoder.full && object.size > 0) {
    try {
      await decoder.finish();
    } catch (error) {
      throw compressedDataError(url, compression, error);
    }
  }
  // Asked only now: a decoder holding input back (bzip2 keeps up to a block's) may pass the limit in finish.
  const whole = fetched >= object.size && !decoder.full;
  return { text: decoder.output, whole, fetched };
}
