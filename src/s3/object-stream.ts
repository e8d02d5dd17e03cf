import { once } from 'node:events';
import { PassThrough, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ConnectorError } from '../protocol/errors.js';
import type { Bucket } from './bucket.js';
import { compressionOf, decompressStream } from './compression.js';
import { compressedDataError, isDecompressionError } from './content-check.js';
import { mapAwsError } from './errors.js';
import { FifoWriter, ReaderGone } from './fifo-writer.js';
import { readObjectBytes } from './object-reader.js';
import type { S3Object } from './settings.js';
import { unixLineEndings } from './unix-line-endings.js';

/** How a pass hands over line endings: as in the object, or with every CRLF made LF. */
export type LineEndings = 'as-is' | 'lf';

/**
 * A line this long without a newline is let through unchecked: no reader takes a row that long
 * (DuckDB's CSV reader is given 16 MiB at most), so it fails on it anyway, and memory stays bounded.
 */
const MAX_HELD_BYTES = 32 << 20;

/**
 * A text object read straight from S3 into a FIFO, instead of staged on disk:
 * the reader (DuckDB) opens `fifoPath`, and each `open` fills it with the
 * object's bytes from a new GET, decompressed for .gz/.gzip/.zst/.zstd. Disk
 * use does not grow with the object's size.
 *
 * A failed or short body must never look like a shorter file, because the
 * reader takes the end of the FIFO for the end of the object. So:
 * - the GET has every guarantee of a download (readObjectBytes: If-Match,
 *   resumed from the byte reached, size and ETag checked, stall timeouts);
 * - bytes after the last newline are held back until the whole object has
 *   arrived and its compressed data ended where it should: the reader only
 *   ever has whole lines before the end is certain;
 * - on a failure, `beforeClose` runs first (the caller interrupts the reading
 *   query), and only then is the FIFO closed; the pass reports the failure,
 *   which the caller reports in place of whatever the reader said.
 */
export class ObjectStream {
  /** Set to 'lf' for the passes after one that found mixed line endings. */
  lineEndings: LineEndings = 'as-is';

  constructor(
    private readonly bucket: Bucket,
    readonly object: S3Object,
    readonly fifoPath: string,
  ) {}

  /**
   * Starts one pass over the object: it waits for a reader to open the FIFO, then fills it. Passes
   * of one stream must not overlap (they share the FIFO): `finish` each before opening the next.
   */
  open(beforeClose: () => void): ObjectPass {
    return new ObjectPass(this.bucket, this.object, this.fifoPath, this.lineEndings, beforeClose);
  }
}

type PassState = 'waiting' | 'pumping' | 'ending' | 'done' | 'failed' | 'cancelled';

/** One GET of the object into the FIFO (see ObjectStream). */
export class ObjectPass {
  private state: PassState = 'waiting';
  private writer: FifoWriter | undefined;
  private readonly outcome: Promise<ConnectorError | undefined>;

  constructor(
    private readonly bucket: Bucket,
    private readonly object: S3Object,
    private readonly fifoPath: string,
    private readonly lineEndings: LineEndings,
    private readonly beforeClose: () => void,
  ) {
    this.outcome = this.run();
  }

  /**
   * Called once the reader is done with the FIFO (its query ended, well or not). Returns the
   * pass's failure, if it failed: that is then the error to report, since the reader may have
   * been cut short by it. A pass still running is stopped, and its reader's outcome stands.
   */
  async finish(): Promise<ConnectorError | undefined> {
    if (this.state === 'waiting' || this.state === 'pumping') {
      this.state = 'cancelled';
      this.writer?.destroy();
    }
    return this.outcome;
  }

  private async run(): Promise<ConnectorError | undefined> {
    let writer: FifoWriter | undefined;
    try {
      writer = await FifoWriter.open(this.fifoPath, () => this.state === 'cancelled');
    } catch (error) {
      return this.fail(error);
    }
    if (writer === undefined) return undefined;
    this.writer = writer;
    if (this.cancelled()) {
      writer.destroy();
      return undefined;
    }
    this.state = 'pumping';
    const compression = this.object.size === 0 ? 'none' : compressionOf(this.object.key);
    const stages: Transform[] = [];
    if (compression !== 'none') stages.push(decompressStream(compression));
    if (this.lineEndings === 'lf') stages.push(unixLineEndings());
    const source = new PassThrough({ highWaterMark: 1 << 20 });
    const flowing = pipeline([source, ...stages, new LineGate(writer, () => (this.state = 'ending'))]);
    // Settled below; a rejection before then is not unhandled.
    flowing.catch(() => undefined);
    try {
      await readObjectBytes(this.bucket, this.object, { start: 0, end: this.object.size - 1 }, async (chunk) => {
        if (this.cancelled()) throw new ReaderGone();
        if (!source.write(chunk)) await Promise.race([once(source, 'drain'), flowing]);
      });
      source.end();
      await flowing;
    } catch (error) {
      if (this.cancelled() || error instanceof ReaderGone) {
        // The reader stopped on its own (its query failed or was stopped): its outcome is the one to tell.
        writer.destroy();
        return undefined;
      }
      source.destroy();
      return this.fail(error, compression === 'none' ? undefined : compression);
    }
    this.state = 'done';
    return undefined;
  }

  private cancelled(): boolean {
    return this.state === 'cancelled';
  }

  /** Stops the reader before it can see an end of file, then closes the FIFO. */
  private fail(error: unknown, compression?: 'gzip' | 'zstd' | 'bzip2'): ConnectorError {
    this.state = 'failed';
    try {
      this.beforeClose();
    } finally {
      this.writer?.destroy();
    }
    const url = `s3://${this.bucket.name}/${this.object.key}`;
    if (error instanceof ConnectorError) return error;
    if (compression !== undefined && isDecompressionError(error)) return compressedDataError(url, compression, error);
    return mapAwsError(error, this.bucket.context({ operation: 'read', key: this.object.key }));
  }
}

/**
 * The last stage before the FIFO: passes on whole lines only, holding back
 * what follows the last newline until the data has ended cleanly (`final`
 * runs only then). A failure upstream destroys this stage without `final`,
 * so the held bytes are never written, and the FIFO is not closed here.
 */
class LineGate extends Writable {
  private held: Buffer[] = [];
  private heldBytes = 0;

  constructor(
    private readonly writer: FifoWriter,
    private readonly ending: () => void,
  ) {
    super({ highWaterMark: 1 << 20 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    const newline = chunk.lastIndexOf(0x0a);
    let out: Buffer[] = [];
    if (newline === -1) {
      this.held.push(chunk);
      this.heldBytes += chunk.length;
      if (this.heldBytes > MAX_HELD_BYTES) out = this.takeHeld();
    } else {
      out = [...this.takeHeld(), chunk.subarray(0, newline + 1)];
      if (newline + 1 < chunk.length) {
        this.held = [chunk.subarray(newline + 1)];
        this.heldBytes = chunk.length - newline - 1;
      }
    }
    if (out.length === 0) return done();
    this.writer.write(out).then(() => done(), done);
  }

  override _final(done: (error?: Error | null) => void): void {
    this.ending();
    this.writer
      .write(this.takeHeld())
      .then(() => this.writer.end())
      .then(() => done(), done);
  }

  private takeHeld(): Buffer[] {
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    return held;
  }
}
