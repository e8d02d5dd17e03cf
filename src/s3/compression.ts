import { constants, gunzipSync } from 'node:zlib';
import { Decompress } from 'fzstd';

export type Compression = 'none' | 'gzip' | 'zstd';

export function compressionOf(key: string): Compression {
  const lower = key.toLowerCase();
  if (lower.endsWith('.gz') || lower.endsWith('.gzip')) return 'gzip';
  if (lower.endsWith('.zst') || lower.endsWith('.zstd')) return 'zstd';
  return 'none';
}

/** The key without its compression suffix: data.csv.gz -> data.csv */
export function withoutCompressionSuffix(name: string): string {
  return name.replace(/\.(gz|gzip|zst|zstd)$/i, '');
}

/**
 * Decompresses a growing prefix of a compressed file, as far as the bytes
 * received allow, so a sample can be taken without fetching the whole file.
 */
export interface PrefixDecoder {
  /** Adds compressed bytes; returns all decompressed bytes so far. */
  push(chunk: Buffer): Buffer;
}

export function prefixDecoder(compression: Exclude<Compression, 'none'>): PrefixDecoder {
  return compression === 'gzip' ? new GzipPrefixDecoder() : new ZstdPrefixDecoder();
}

class GzipPrefixDecoder implements PrefixDecoder {
  private compressed: Buffer[] = [];

  push(chunk: Buffer): Buffer {
    this.compressed.push(chunk);
    // SYNC_FLUSH makes zlib return what a truncated stream holds instead of failing.
    return gunzipSync(Buffer.concat(this.compressed), { finishFlush: constants.Z_SYNC_FLUSH });
  }
}

class ZstdPrefixDecoder implements PrefixDecoder {
  private readonly output: Uint8Array[] = [];
  private readonly decoder = new Decompress((data) => {
    this.output.push(data);
  });

  push(chunk: Buffer): Buffer {
    this.decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    return Buffer.concat(this.output);
  }
}
