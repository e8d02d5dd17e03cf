import { open } from 'node:fs/promises';
import type { Bucket } from './bucket.js';
import { readObjectBytes, writeAt } from './object-reader.js';
import type { S3Object } from './settings.js';

export interface PartOptions {
  /** Bytes per ranged GET. */
  partBytes: number;
  /** Ranged GETs at once. */
  inFlight: number;
}

/**
 * Downloads a whole listed object to `path` (created or truncated, mode 0600)
 * with concurrent ranged GETs, each written at its offset: one GET is often
 * held to one connection's speed, several fill the link. Each part has every
 * guarantee of readObjectBytes (If-Match with the listed ETag, the answer's
 * range and size checked, resumed from the byte reached, stall timeouts), so
 * the parts are all of the listed version. For formats read by random access
 * (Parquet); text needs its bytes in order and is streamed instead.
 * Returns the bytes fetched (the object's size).
 */
export async function downloadObjectInParts(bucket: Bucket, object: S3Object, path: string, options: PartOptions): Promise<number> {
  const handle = await open(path, 'w', 0o600);
  try {
    await handle.truncate(object.size);
    const parts: { start: number; end: number }[] = [];
    for (let start = 0; start < object.size; start += options.partBytes) parts.push({ start, end: Math.min(object.size, start + options.partBytes) - 1 });
    let next = 0;
    let failed = false;
    const worker = async () => {
      // After one part failed for good, the others stop taking new parts: the download has failed.
      while (!failed && next < parts.length) {
        const part = parts[next++]!;
        let position = part.start;
        try {
          await readObjectBytes(bucket, object, part, async (chunk) => {
            await writeAt(handle, chunk, position);
            position += chunk.length;
          });
        } catch (error) {
          failed = true;
          throw error;
        }
      }
    };
    const workers = Array.from({ length: Math.max(1, Math.min(options.inFlight, parts.length)) }, worker);
    const settled = await Promise.allSettled(workers);
    const failure = settled.find((result) => result.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
    return object.size;
  } finally {
    await handle.close();
  }
}
