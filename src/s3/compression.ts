import { Transform, type TransformCallback } from 'node:stream';
import { constants, createGunzip, type Gunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { Bzip2Decoder, Bzip2Stream } from './bzip2.js';

export type Compression = 'none' | 'gzip' | 'zstd' | 'bzip2';

export function compressionOf(key: string): Compression {
  const lower = key.toLowerCase();
  if (lower.endsWith('.gz') || lower.endsWith('.gzip')) return 'gzip';
  if (lower.endsWith('.zst') || lower.endsWith('.zstd')) return 'zstd';
  if (lower.endsWith('.bz2') || lower.endsWith('.bzip2')) return 'bzip2';
  return 'none';
}

/** The key without its compression suffix: data.csv.gz -> data.csv */
export function withoutCompressionSuffix(name: string): string {
  return name.replace(/\.(gz|gzip|zst|zstd|bz2|bzip2)$/i, '');
}

/**
 * Whether DuckDB reads the compression itself (.gz, .zst: staged compressed, decompressed by
 * DuckDB by the file's extension). bzip2 it cannot read: such objects are staged decompressed.
 */
export function duckdbReads(compression: Compression): boolean {
  return compression !== 'bzip2';
}

/**
 * Decompresses the start of a compressed file as its bytes arrive, keeping at
 * most `limit` bytes of output: memory stays bounded even for a file that
 * expands a thousandfold, and the caller stops fetching once `full` is true.
 */
export abstract class PrefixDecoder {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  /** True once output beyond `limit` was produced (and dropped). */
  full = false;

  constructor(private readonly limit: number) {}

  /** Adds compressed bytes; resolves once their output has been taken. */
  abstract push(chunk: Buffer): Promise<void>;

  /** After the file's last byte (never after a cut): rejects when the compressed data ends early. */
  abstract finish(): Promise<void>;

  get output(): Buffer {
    return Buffer.concat(this.chunks);
  }

  protected take(data: Uint8Array): void {
    const room = this.limit - this.kept;
    if (data.length > room) this.full = true;
    if (room <= 0) return;
    const piece = Buffer.from(data.buffer, data.byteOffset, Math.min(room, data.length));
    this.chunks.push(Buffer.from(piece));
    this.kept += piece.length;
  }
}

export function prefixDecoder(compression: Exclude<Compression, 'none'>, limit: number): PrefixDecoder {
  if (compression === 'bzip2') return new Bzip2PrefixDecoder(limit);
  return compression === 'gzip' ? new GzipPrefixDecoder(limit) : new SyncPrefixDecoder(limit, zstdDecoder);
}

class GzipPrefixDecoder extends PrefixDecoder {
  private readonly gunzip: Gunzip = createGunzip();
  private failure: Error | undefined;

  constructor(limit: number) {
    super(limit);
    this.gunzip.on('data', (data: Buffer) => this.take(data));
    this.gunzip.on('error', (error) => {
      this.failure = error;
    });
  }

  async push(chunk: Buffer): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.gunzip.once('error', onError);
      this.gunzip.write(chunk);
      // A sync flush hands over all output for the input so far, without waiting for the end of the stream.
      this.gunzip.flush(constants.Z_SYNC_FLUSH, () => {
        this.gunzip.removeListener('error', onError);
        resolve();
      });
    });
  }

  async finish(): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    await new Promise<void>((resolve, reject) => {
      this.gunzip.once('error', reject);
      this.gunzip.once('end', resolve);
      this.gunzip.end();
    });
  }
}

/**
 * A decoder that hands over its output synchronously, during `push` (fzstd for zstd);
 * `end` throws when the data stops before its last frame.
 */
interface SyncDecoder {
  push(chunk: Buffer): void;
  end(): void;
}

function zstdDecoder(output: (data: Uint8Array) => void): SyncDecoder {
  const decoder = new Decompress(output);
  return {
    push: (chunk) => decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)),
    // Rejects compressed data that ends before its last frame does.
    end: () => decoder.push(new Uint8Array(0), true),
  };
}

/** bzip2 a block at a time, and no block past the limit: a file of long runs costs no more than the sample. */
class Bzip2PrefixDecoder extends PrefixDecoder {
  private readonly decoder = new Bzip2Decoder((data) => this.take(data));

  async push(chunk: Buffer): Promise<void> {
    this.decoder.push(chunk);
    while (!this.full && this.decoder.next());
  }

  async finish(): Promise<void> {
    this.decoder.end();
    while (!this.full && this.decoder.next());
  }
}

class SyncPrefixDecoder extends PrefixDecoder {
  private readonly decoder: SyncDecoder;

  constructor(limit: number, make: (output: (data: Uint8Array) => void) => SyncDecoder) {
    super(limit);
    this.decoder = make((data) => this.take(data));
  }

  async push(chunk: Buffer): Promise<void> {
    this.decoder.push(chunk);
  }

  async finish(): Promise<void> {
    this.decoder.end();
  }
}

/** A stream that decompresses gzip (every member of a multi-member file), zstd or bzip2 (every stream) data as it flows. */
export function decompressStream(compression: Exclude<Compression, 'none'>): Transform {
  // Large output chunks: fewer Buffers for the garbage collector.
  if (compression === 'bzip2') return new Bzip2Stream();
  return compression === 'gzip' ? createGunzip({ chunkSize: 256 << 10 }) : syncDecoderStream(zstdDecoder);
}

function syncDecoderStream(make: (output: (data: Uint8Array) => void) => SyncDecoder): Transform {
  let target: Transform | undefined;
  // A copy: fzstd may hand over a view of its own window, which it overwrites.
  const decoder = make((data) => target?.push(Buffer.from(data)));
  const step = (stream: Transform, work: () => void, done: TransformCallback) => {
    target = stream;
    try {
      work();
      done();
    } catch (error) {
      done(error as Error);
    }
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      step(this, () => decoder.push(chunk), done);
    },
    flush(done: TransformCallback) {
      step(this, () => decoder.end(), done);
    },
  });
}
