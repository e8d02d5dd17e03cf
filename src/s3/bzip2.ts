import { Transform, type TransformCallback } from 'node:stream';
import { requireCjs } from '../cjs-require.js';

/**
 * bzip2 decompression in Node: DuckDB reads neither .bz2 files nor bzip2 through a FIFO, so a .bz2
 * object reaches DuckDB as plain text. The block decoder is unbzip2-stream's (the decoder behind
 * decompress-tarbz2), chosen after checking, on files made by the bzip2 tool, what matters here:
 * - it reads every stream of a multi-stream file (pbzip2/lbzip2 output, `cat a.bz2 b.bz2`);
 * - it checks each block's CRC, and input cut anywhere (inside a block, inside the end-of-stream
 *   marker) fails instead of ending as a shorter file.
 * Its stream wrapper is not used: it decodes every block it holds input for in one synchronous
 * burst (a 100 kB file of runs is thousands of 45 MB blocks: all of it in memory at once) and
 * gathers each block's output in a JS array (8 bytes a byte). Here one block is decoded per call,
 * into 1 MiB Buffers, so callers decode as fast as they can take the output: memory holds one
 * block's output (at most ~47 MB) whatever the file's ratio.
 */
type BitReader = ((bits: number | null) => number) & { bytesRead: number };
interface BlockLib {
  header(bits: BitReader): number;
  /** Decodes a block, calling `byte` for each output byte; null after the end-of-stream marker (CRC checked). */
  decompress(bits: BitReader, byte: (value: number) => void, work: Int32Array, workSize: number, streamCrc: number | null): number | null;
}
// Loaded on the first bzip2 data, not when compression.ts is imported: most syncs read no .bz2.
let lib: { blocks: BlockLib; bitIterator: (next: () => Buffer) => BitReader } | undefined;
const unbzip2 = () =>
  (lib ??= {
    blocks: requireCjs('unbzip2-stream/lib/bzip2.js') as BlockLib,
    bitIterator: requireCjs('unbzip2-stream/lib/bit_iterator.js') as (next: () => Buffer) => BitReader,
  });

/** An error of the bzip2 data; `code` BZ2_EARLY_END when the data ends before its end-of-stream marker. */
export class Bzip2Error extends Error {
  constructor(
    message: string,
    readonly code: 'BZ2_EARLY_END' | 'BZ2_DATA_ERROR',
  ) {
    super(message);
    this.name = 'Bzip2Error';
  }
}

const OUTPUT_PIECE = 1 << 20;
/** The compressed bytes a block may take (the decoder's own bound): a block is decoded once they are here, or the input ended. */
const blockInput = (level: number) => 25_000 + 100_000 * level;

/**
 * Decodes bzip2 data a block at a time: `push` takes input, each `next` decodes one block (or
 * stream header/end) and hands its output, CRC-checked, to `output`; false when it needs more
 * input, or after `end`, when all is decoded. `next` throws as soon as the data is seen to be
 * corrupt, or, after `end`, cut off.
 */
export class Bzip2Decoder {
  private readonly queue: Buffer[] = [];
  private received = 0;
  private bits: BitReader | undefined;
  /** 1-9 inside a stream, 0 between streams (before the next header). */
  private level = 0;
  private streamCrc: number | null = null;
  private ended = false;
  private failure: Bzip2Error | undefined;
  private work: Int32Array | undefined;

  constructor(private readonly output: (data: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.throwIfFailed();
    if (chunk.length === 0) return;
    this.queue.push(chunk);
    this.received += chunk.length;
    this.bits ??= unbzip2().bitIterator(() => {
      const next = this.queue.shift();
      if (next === undefined) throw new Bzip2Error('the bzip2 data ends before its end-of-stream marker', 'BZ2_EARLY_END');
      return next;
    });
  }

  /** No more input: `next` then decodes what is left and checks that the data ended where bzip2 ends. */
  end(): void {
    this.ended = true;
  }

  next(): boolean {
    this.throwIfFailed();
    const bits = this.bits;
    if (bits === undefined) return false;
    const left = this.received - bits.bytesRead;
    if (this.ended ? left <= 0 : left + 1 < blockInput(this.level)) {
      if (this.ended && this.level !== 0) this.fail(new Bzip2Error('the bzip2 data ends before its end-of-stream marker', 'BZ2_EARLY_END'));
      return false;
    }
    try {
      this.decodeOne(bits);
    } catch (error) {
      this.fail(error instanceof Bzip2Error ? error : new Bzip2Error(error instanceof Error ? error.message : String(error), 'BZ2_DATA_ERROR'));
    }
    return true;
  }

  private decodeOne(bits: BitReader): void {
    if (this.level === 0) {
      this.level = unbzip2().blocks.header(bits);
      this.streamCrc = 0;
      return;
    }
    const size = 100_000 * this.level;
    if (this.work === undefined || this.work.length !== size) this.work = new Int32Array(size);
    const pieces: Buffer[] = [];
    let piece = Buffer.allocUnsafe(OUTPUT_PIECE);
    let at = 0;
    this.streamCrc = unbzip2().blocks.decompress(
      bits,
      (value) => {
        if (at === OUTPUT_PIECE) {
          pieces.push(piece);
          piece = Buffer.allocUnsafe(OUTPUT_PIECE);
          at = 0;
        }
        piece[at++] = value;
      },
      this.work,
      size,
      this.streamCrc,
    );
    if (this.streamCrc === null) {
      this.level = 0;
      return;
    }
    // Handed over only now: the block's CRC was checked.
    if (at > 0) pieces.push(piece.subarray(0, at));
    for (const data of pieces) this.output(data);
  }

  private fail(error: Bzip2Error): never {
    this.failure = error;
    throw error;
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}

/**
 * A stream that decompresses bzip2 as it flows, with backpressure between blocks: a block is
 * decoded only once the reader has taken the previous one's output.
 */
export class Bzip2Stream extends Transform {
  private readonly decoder = new Bzip2Decoder((data) => this.push(data));
  private wake: (() => void) | undefined;

  constructor() {
    super({ readableHighWaterMark: 1 << 20 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.drain(() => this.decoder.push(chunk), done);
  }

  override _flush(done: TransformCallback): void {
    this.drain(() => this.decoder.end(), done);
  }

  override _read(size: number): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
    super._read(size);
  }

  private drain(first: () => void, done: TransformCallback): void {
    const run = async () => {
      first();
      while (this.decoder.next()) {
        if (this.readableLength >= this.readableHighWaterMark) await new Promise<void>((resolve) => (this.wake = resolve));
      }
    };
    run().then(() => done(), (error: Error) => done(error));
  }
}
