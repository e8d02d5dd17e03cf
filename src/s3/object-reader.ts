import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConnectorError, transientError } from '../protocol/errors.js';
import type { Bucket, ObjectResponse } from './bucket.js';
import { maxAttempts } from './client.js';
import type { S3Object } from './settings.js';
import { s3Timeouts, TIMEOUT_VARIABLES, type S3Timeouts } from './timeouts.js';

/** Bytes [start, end] of an object, end inclusive. */
export interface ByteRange {
  start: number;
  end: number;
}

/** Takes the bytes of a read, in order; each byte is given once, whatever the retries. */
export type ByteSink = (chunk: Buffer) => Promise<void>;

/**
 * Reads bytes [start, end] of a listed object into `sink`, and only returns
 * once exactly those bytes arrived, all from the version that was listed.
 *
 * - Every GET carries If-Match with the listed ETag (S3 answers 412 once the
 *   object changed), and the answer's ETag, size and range are checked too,
 *   for stores that ignore If-Match: bytes of two versions are never mixed.
 * - A body that fails (connection reset, closed early, stalled past the
 *   first-byte or idle timeout) or that ends before the last byte (with or
 *   without a Content-Length) is resumed from the byte it reached with a
 *   ranged GET, after a backoff. Attempts per read: SOURCE_S3_MAX_ATTEMPTS.
 * - After the last attempt: a transient_error naming the object and what
 *   happened.
 *
 * Returns the number of bytes read (end - start + 1).
 */
export async function readObjectBytes(bucket: Bucket, object: S3Object, range: ByteRange, sink: ByteSink): Promise<number> {
  const whole = range.start === 0 && range.end === object.size - 1;
  const length = range.end - range.start + 1;
  if (!whole && length <= 0) return 0;
  const read: ReadInProgress = { url: `s3://${bucket.name}/${object.key}`, object, range, whole, position: range.start, etag: object.etag };
  const timeouts = s3Timeouts();
  const attempts = maxAttempts();
  for (let attempt = 1; ; attempt++) {
    const resumed = read.position > 0;
    const response = await bucket.get(object.key, {
      // A whole object is first asked for plainly, then from the byte reached; a part always as a range.
      ...(whole && !resumed ? {} : { range: { start: read.position, ...(whole ? {} : { end: range.end }) } }),
      ...(read.etag === undefined ? {} : { ifMatch: read.etag }),
    });
    let failure: string;
    try {
      checkAnswer(read, response);
      failure = await receive(read, response.body, timeouts, sink);
    } finally {
      response.body.destroy();
    }
    if (failure === '') return length;
    if (attempt >= attempts) {
      throw transientError(`Could not read ${read.url}: ${failure}, after ${attempt} attempt${attempt === 1 ? '' : 's'} (each resuming from the byte the last one reached). Try again later.`);
    }
    await sleep(backoffMs(attempt));
  }
}

/**
 * Downloads a whole listed object to `path` (created or truncated, mode 0600); its size on disk is
 * checked against the listing. `inspect`, if given, sees each byte once, in order, once it is on disk.
 */
export async function downloadObject(bucket: Bucket, object: S3Object, path: string, inspect?: ByteSink): Promise<number> {
  const handle = await open(path, 'w', 0o600);
  try {
    // One positional write per chunk, awaited: a byte counts as reached only once it is on disk. As fast
    // as pipeline() to a write stream here; batching into 1 MiB writes was slower (copies, waits).
    let position = 0;
    const bytes = await readObjectBytes(bucket, object, { start: 0, end: object.size - 1 }, async (chunk) => {
      await writeAt(handle, chunk, position);
      position += chunk.length;
      await inspect?.(chunk);
    });
    const onDisk = (await handle.stat()).size;
    // Cannot differ after the checks above; kept because a wrong row is worse than a failed sync.
    if (onDisk !== object.size) throw new Error(`staged ${onDisk} bytes of s3://${bucket.name}/${object.key}, which was listed with ${object.size}`);
    return bytes;
  } finally {
    await handle.close();
  }
}

/** Writes all of `chunk` at `position` of the file (a positional write may take only part of it). */
export async function writeAt(handle: FileHandle, chunk: Buffer, position: number): Promise<void> {
  for (let done = 0; done < chunk.length; ) done += (await handle.write(chunk, done, chunk.length - done, position + done)).bytesWritten;
}

interface ReadInProgress {
  url: string;
  object: S3Object;
  range: ByteRange;
  whole: boolean;
  /** Offset in the object of the next byte wanted. */
  position: number;
  /** The version being read: the listed ETag, or the first answer's when the listing had none. */
  etag: string | undefined;
}

/** A sink failure (a full disk, say) is not the network's: it is not retried. */
class SinkFailure {
  constructor(readonly cause: unknown) {}
}

/** The body went silent: destroyed by our own timer, since the SDK's timeouts do not cover a body. */
class BodyStalled extends Error {
  constructor(
    readonly seconds: number,
    readonly variable: string,
  ) {
    super(`no data for ${seconds} s`);
    this.name = 'BodyStalled';
  }
}

/**
 * Feeds the body to the sink; '' when the wanted bytes all arrived, else what
 * went wrong (to retry from read.position). A body with more bytes than
 * wanted means another version: thrown, not retried.
 */
async function receive(read: ReadInProgress, body: Readable, timeouts: S3Timeouts, sink: ByteSink): Promise<string> {
  const end = read.range.end + 1;
  const iterator = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let first = true;
  try {
    for (;;) {
      // The timer runs only while waiting for the server, never while the sink writes.
      const [ms, variable] = first ? [timeouts.firstByteMs, TIMEOUT_VARIABLES.firstByte] : [timeouts.idleMs, TIMEOUT_VARIABLES.idle];
      const timer = setTimeout(() => body.destroy(new BodyStalled(ms / 1000, variable)), ms);
      let next: IteratorResult<Buffer>;
      try {
        next = await iterator.next();
      } finally {
        clearTimeout(timer);
      }
      if (next.done === true) break;
      first = false;
      const chunk = next.value;
      if (read.position + chunk.length > end) {
        throw changed(read, `it sent more bytes than the ${read.whole ? `${read.object.size} listed` : `range ${read.range.start}-${read.range.end} asked for`}`);
      }
      try {
        await sink(chunk);
      } catch (error) {
        throw new SinkFailure(error);
      }
      read.position += chunk.length;
    }
  } catch (error) {
    if (error instanceof SinkFailure) throw error.cause;
    if (error instanceof ConnectorError) throw error;
    return `${bodyFailure(error)} at byte ${read.position} of ${end}`;
  }
  return read.position === end ? '' : `the body ended at byte ${read.position} of ${end}`;
}

function bodyFailure(error: unknown): string {
  if (error instanceof BodyStalled) return `the body stalled (no data for ${error.seconds} s, ${error.variable})`;
  const { code, name, message } = (error ?? {}) as { code?: string; name?: string; message?: string };
  if (name === 'TimeoutError') return `the connection went silent (${TIMEOUT_VARIABLES.idle})`;
  if (code === 'ECONNRESET') return `the connection was reset (${message === 'aborted' ? 'closed before the promised Content-Length' : 'ECONNRESET'})`;
  if (code === 'ERR_STREAM_PREMATURE_CLOSE') return 'the connection closed early';
  return `the body failed (${code ?? name ?? 'error'}: ${String(message ?? error).slice(0, 200)})`;
}

/** Refuses an answer that is not the listed version or not the bytes asked for. */
function checkAnswer(read: ReadInProgress, response: ObjectResponse): void {
  if (response.etag !== undefined) {
    if (read.etag === undefined) read.etag = response.etag;
    else if (bareEtag(response.etag) !== bareEtag(read.etag)) throw changed(read, `its ETag is ${response.etag} now, ${read.etag} when listed`);
  }
  const wanted = read.range.end + 1 - read.position;
  if (response.contentRange !== undefined) {
    const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.contentRange.trim());
    if (match !== null && match[3] !== '*' && Number(match[3]) !== read.object.size) {
      throw changed(read, `it is ${match[3]} bytes now, ${read.object.size} when listed`);
    }
    if (match === null || Number(match[1]) !== read.position) {
      throw transientError(`${read.url}: asked for bytes from ${read.position}, S3 answered ${JSON.stringify(response.contentRange.slice(0, 80))}. Try again later.`);
    }
  } else if (read.position > 0 || !read.whole) {
    // A store that ignores Range sends the object from byte 0: those are not the bytes asked for.
    throw transientError(`${read.url}: S3 ignored the Range header of a ranged GET (bytes from ${read.position}). Try again later.`);
  }
  if (response.contentLength !== undefined && response.contentLength !== wanted) {
    throw changed(read, `S3 announced ${response.contentLength} bytes where ${wanted} were expected`);
  }
}

function changed(read: ReadInProgress, detail: string): ConnectorError {
  return transientError(`${read.url} changed while being read (${detail}). Nothing of it was used; the next sync reads it again.`);
}

/** ETags compare without quotes or a weak marker (stores differ in how they print them). */
function bareEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/"/g, '');
}

/** Exponential backoff with jitter, as the SDK's standard retry mode: 100 ms doubling, at most 20 s. */
function backoffMs(attempt: number): number {
  return Math.min(20_000, 100 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
}
