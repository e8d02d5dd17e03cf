import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { createGunzip, type Gunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { configError, type ConnectorError } from '../protocol/errors.js';
import { Bzip2Decoder } from './bzip2.js';
import type { Compression } from './compression.js';

/**
 * Why this exists: DuckDB decompresses .gz and .zst itself and takes an early
 * end of the compressed stream as the end of the file, so a truncated upload
 * would read as a complete, shorter file (rows lost, the last value cut). The
 * bytes of a download pass through here as they arrive: the compressed data
 * must end where its format says it ends (and gzip's CRC must match), or the
 * file is refused.
 *
 * It also tells whether the (decompressed) text is blank: nothing but a BOM
 * and white space, a file with no rows whatever its format.
 */
export interface ContentCheck {
  /** Takes the next bytes of the object, in order. Rejects as soon as the data is seen to be corrupt. */
  push(chunk: Buffer): Promise<void>;
  /** After the last byte: rejects when the compressed data ends early. */
  end(): Promise<void>;
  /** Valid after end(): the text held only a BOM and white space (or nothing). */
  readonly blank: boolean;
}

/**
 * `output`, for bzip2 only (which DuckDB cannot read), takes the decompressed text in order: the
 * caller stages that instead of the object's bytes.
 */
export function contentCheck(compression: Compression, url: string, output?: (text: Buffer) => Promise<void>): ContentCheck {
  if (compression === 'gzip') return new GzipCheck(url);
  if (compression === 'zstd') return new ZstdCheck(url);
  if (compression === 'bzip2') return new Bzip2Check(url, output);
  return new PlainCheck();
}

const EXTENSIONS: Record<Exclude<Compression, 'none'>, string> = { gzip: '.gz', zstd: '.zst', bzip2: '.bz2' };

/**
 * The error for compressed data that cannot be decompressed to its end: cut
 * off (an incomplete upload), or corrupt, or not of the format its name says.
 */
export function compressedDataError(url: string, compression: Exclude<Compression, 'none'>, error: unknown): ConnectorError {
  const detail = error instanceof Error ? error.message : String(error);
  const fix = "None of its rows were used. Upload the whole file again, or exclude it with the stream's globs.";
  if (isEarlyEnd(error)) {
    return configError(`${url} is cut off: its ${compression} data ends early (${detail}); the upload may be incomplete. ${fix}`, { internalMessage: detail });
  }
  return configError(
    `${url} is not valid ${compression} data (${detail}): the file is corrupt, or it is not ${compression} though its name ends in ${EXTENSIONS[compression]}. ${fix}`,
    { internalMessage: detail },
  );
}

/** zlib's errors carry a Z_ code; fzstd's a numeric code; our bzip2 decoder's a BZ2_ code. */
export function isDecompressionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return (typeof code === 'string' && (code.startsWith('Z_') || code.startsWith('BZ2_'))) || typeof code === 'number';
}

/** zlib's "unexpected end of file" (Z_BUF_ERROR at the end) and fzstd's "unexpected EOF" (code 5). */
function isEarlyEnd(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === 'Z_BUF_ERROR' || code === 5 || code === 'BZ2_EARLY_END' || /unexpected (end of file|EOF)/i.test(String(message));
}

/**
 * Whether text is blank, fed in pieces: a UTF-8 or UTF-16 BOM at its start,
 * then only spaces, tabs and line breaks (and, after a UTF-16 BOM, the zero
 * bytes of those characters). Stops looking at the first other byte.
 */
export class BlankScan {
  private head: Buffer = Buffer.alloc(0);
  private started = false;
  private utf16 = false;
  blank = true;

  add(chunk: Uint8Array): void {
    if (!this.blank) return;
    let bytes = chunk;
    if (!this.started) {
      this.head = Buffer.concat([this.head, chunk]);
      if (this.head.length < 3) return;
      bytes = this.withoutBom();
    }
    this.scan(bytes);
  }

  /** After the last piece. */
  end(): boolean {
    if (this.blank && !this.started) this.scan(this.withoutBom());
    return this.blank;
  }

  private withoutBom(): Buffer {
    this.started = true;
    const head = this.head;
    if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return head.subarray(3);
    if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) {
      this.utf16 = true;
      return head.subarray(2);
    }
    return head;
  }

  private scan(bytes: Uint8Array): void {
    for (const byte of bytes) {
      if (byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09 || (this.utf16 && byte === 0)) continue;
      this.blank = false;
      return;
    }
  }
}

/** Whether a whole text (a sample that is the whole file) is blank. */
export function isBlankText(text: Uint8Array): boolean {
  const scan = new BlankScan();
  scan.add(text);
  return scan.end();
}

class PlainCheck implements ContentCheck {
  private readonly scan = new BlankScan();
  blank = true;

  async push(chunk: Buffer): Promise<void> {
    this.scan.add(chunk);
  }

  async end(): Promise<void> {
    this.blank = this.scan.end();
  }
}

class GzipCheck implements ContentCheck {
  // Large output chunks: fewer Buffers for the garbage collector (the output is only looked at, never kept).
  private readonly gunzip: Gunzip = createGunzip({ chunkSize: 256 << 10 });
  private readonly scan = new BlankScan();
  private failure: unknown;
  blank = true;

  constructor(private readonly url: string) {
    // Node's gunzip reads every member of a multi-member file (`cat a.gz b.gz`), as DuckDB does.
    this.gunzip.on('data', (data: Buffer) => this.scan.add(data));
    this.gunzip.on('error', (error) => (this.failure ??= error));
  }

  async push(chunk: Buffer): Promise<void> {
    this.throwIfFailed();
    try {
      if (!this.gunzip.write(chunk)) await once(this.gunzip, 'drain');
    } catch (error) {
      this.failure ??= error;
    }
    this.throwIfFailed();
  }

  async end(): Promise<void> {
    this.throwIfFailed();
    try {
      this.gunzip.end();
      await finished(this.gunzip);
    } catch (error) {
      this.failure ??= error;
    }
    this.throwIfFailed();
    this.blank = this.scan.end();
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw compressedDataError(this.url, 'gzip', this.failure);
  }
}

class ZstdCheck implements ContentCheck {
  private readonly scan = new BlankScan();
  private readonly decoder = new Decompress((data) => this.scan.add(data));
  blank = true;

  constructor(private readonly url: string) {}

  async push(chunk: Buffer): Promise<void> {
    this.decode(chunk, false);
  }

  async end(): Promise<void> {
    this.decode(Buffer.alloc(0), true);
    this.blank = this.scan.end();
  }

  private decode(chunk: Buffer, final: boolean): void {
    try {
      this.decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length), final);
    } catch (error) {
      throw compressedDataError(this.url, 'zstd', error);
    }
  }
}

/** Decompresses as it checks, handing the text to `output` (bzip2 is staged decompressed). */
class Bzip2Check implements ContentCheck {
  private readonly scan = new BlankScan();
  private pending: Buffer[] = [];
  private readonly decoder = new Bzip2Decoder((data) => this.pending.push(data));
  blank = true;

  constructor(
    private readonly url: string,
    private readonly output: ((text: Buffer) => Promise<void>) | undefined,
  ) {}

  async push(chunk: Buffer): Promise<void> {
    this.decoder.push(chunk);
    await this.decodeAll();
  }

  async end(): Promise<void> {
    this.decoder.end();
    await this.decodeAll();
    this.blank = this.scan.end();
  }

  /** One block at a time, each written before the next is decoded: memory holds one block's text. */
  private async decodeAll(): Promise<void> {
    for (;;) {
      let more: boolean;
      try {
        more = this.decoder.next();
      } catch (error) {
        throw compressedDataError(this.url, 'bzip2', error);
      }
      await this.flush();
      if (!more) return;
    }
  }

  private async flush(): Promise<void> {
    const pieces = this.pending;
    this.pending = [];
    for (const piece of pieces) {
      this.scan.add(piece);
      await this.output?.(piece);
    }
  }
}
