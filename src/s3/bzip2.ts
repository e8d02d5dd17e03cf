import { requireCjs } from '../cjs-require.js';

/**
 * bzip2 decompression in Node: DuckDB reads neither .bz2 files nor bzip2 through a FIFO, so a .bz2
 * object reaches DuckDB as plain text. unbzip2-stream (the decoder behind decompress-tarbz2) was
 * chosen after checking, on files made by the bzip2 tool, what matters here:
 * - it reads every stream of a multi-stream file (pbzip2/lbzip2 output, `cat a.bz2 b.bz2`);
 * - it checks each block's CRC, and input cut anywhere (inside a block, inside the end-of-stream
 *   marker) fails instead of ending as a shorter file;
 * - it keeps one block (at most 900 kB of input, 3.6 MB of work arrays) in memory at a time.
 * Its classic (`through`) stream is wrapped with coded errors (a Transform over it: compression.ts), so callers tell a cut
 * file from a corrupt one.
 */
type ThroughStream = NodeJS.ReadWriteStream & { write(chunk: Buffer): boolean; end(): void };
const unbzip2Stream = requireCjs('unbzip2-stream') as () => ThroughStream;

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

/**
 * Feeds bzip2 data to the decoder, handing each piece of output to `output` synchronously.
 * `end` throws when the data was cut off; `push` throws as soon as it is seen to be corrupt.
 */
export class Bzip2Decoder {
  private readonly decoder = unbzip2Stream();
  private failure: Bzip2Error | undefined;
  private ending = false;
  private sawInput = false;

  constructor(output: (data: Buffer) => void) {
    this.decoder.on('data', (data: Buffer) => output(data));
    this.decoder.on('error', (error: Error) => {
      // The decoder reads past the last byte it has (a TypeError inside it) only when the data ends early.
      const early = this.ending || /ended prematurely/.test(error.message);
      this.failure ??= early ? new Bzip2Error('the bzip2 data ends before its end-of-stream marker', 'BZ2_EARLY_END') : new Bzip2Error(error.message, 'BZ2_DATA_ERROR');
    });
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.sawInput = true;
    this.throwIfFailed();
    this.decoder.write(chunk);
    this.throwIfFailed();
  }

  end(): void {
    this.throwIfFailed();
    this.ending = true;
    if (this.sawInput) this.decoder.end();
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}
