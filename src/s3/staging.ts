import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Bucket } from './bucket.js';
import { compressionOf, prefixDecoder, withoutCompressionSuffix } from './compression.js';
import { mapAwsError } from './errors.js';
import type { S3Object } from './settings.js';

/** A local copy of (part of) an object. */
export interface StagedFile {
  path: string;
  bucket: string;
  object: S3Object;
  /** Bytes fetched from S3 for this file. */
  bytesFetched: number;
  /** False when only a sample of the object was staged. */
  complete: boolean;
}

/** Compressed bytes fetched per ranged request while sampling a compressed file. */
const SAMPLE_CHUNK_BYTES = 1 << 20;

/**
 * A private temporary directory holding staged objects. Files are streamed to
 * disk (never held whole in memory) and the directory is removed on close, and
 * on process exit if close was never reached.
 */
export class StagingArea {
  readonly dir: string;
  private sequence = 0;
  private readonly removeOnExit = () => rmSync(this.dir, { recursive: true, force: true });

  private constructor(dir: string) {
    this.dir = dir;
    process.once('exit', this.removeOnExit);
  }

  /** Creates the area under SOURCE_S3_STAGING_DIR or the OS temp dir, readable only by this user. */
  static async create(): Promise<StagingArea> {
    const parent = process.env.SOURCE_S3_STAGING_DIR ?? tmpdir();
    await mkdir(parent, { recursive: true });
    return new StagingArea(mkdtempSync(join(parent, 'source-s3-')));
  }

  /** Downloads a whole object. */
  async download(bucket: Bucket, object: S3Object): Promise<StagedFile> {
    const path = this.localPath(object.key);
    const body = await bucket.open(object.key);
    let bytes = 0;
    body.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    try {
      await pipeline(body, createWriteStream(path, { mode: 0o600 }));
    } catch (error) {
      await rm(path, { force: true });
      throw mapAwsError(error, bucket.context({ operation: 'read', key: object.key }));
    }
    return { path, bucket: bucket.name, object, bytesFetched: bytes, complete: true };
  }

  /**
   * The first `maxBytes` of a text object (decompressed when the key says .gz
   * or .zst). When the object is longer, the sample is cut where `recordEnd`
   * says the last whole record ends (default: after the last newline).
   * Fetches only about `maxBytes` (compressed objects: in 1 MiB ranged reads).
   */
  async head(bucket: Bucket, object: S3Object, maxBytes: number, recordEnd: (sample: Buffer) => number = lastLineEnd): Promise<StagedFile> {
    const compression = compressionOf(object.key);
    let text: Buffer;
    let fetched = 0;
    let reachedEnd: boolean;
    if (compression === 'none') {
      const end = Math.min(object.size, maxBytes) - 1;
      text = end < 0 ? Buffer.alloc(0) : await bucket.readRange(object.key, 0, end);
      fetched = text.length;
      reachedEnd = object.size <= maxBytes;
    } else {
      const decoder = prefixDecoder(compression);
      text = Buffer.alloc(0);
      while (fetched < object.size && text.length < maxBytes) {
        const chunk = await bucket.readRange(object.key, fetched, Math.min(object.size, fetched + SAMPLE_CHUNK_BYTES) - 1);
        fetched += chunk.length;
        try {
          text = decoder.push(chunk);
        } catch (error) {
          throw mapAwsError(
            new Error(`cannot decompress ${compression} data: ${(error as Error).message}`),
            bucket.context({ operation: 'read', key: object.key }),
          );
        }
      }
      reachedEnd = fetched >= object.size && text.length <= maxBytes;
    }
    if (!reachedEnd) {
      const sample = text.subarray(0, maxBytes);
      text = sample.subarray(0, recordEnd(sample));
    }
    const path = this.localPath(withoutCompressionSuffix(object.key));
    const handle = await open(path, 'w', 0o600);
    try {
      await handle.writeFile(text);
    } finally {
      await handle.close();
    }
    return { path, bucket: bucket.name, object, bytesFetched: fetched, complete: reachedEnd };
  }

  /**
   * An empty sparse local file as large as the object; `write` and `fill` put
   * byte ranges in it and the rest reads as zeros without taking disk space.
   * For formats such as Parquet whose readers seek to just what they need.
   */
  async sparse(bucket: Bucket, object: S3Object): Promise<StagedFile> {
    const path = this.localPath(object.key);
    const handle = await open(path, 'w', 0o600);
    try {
      await handle.truncate(object.size);
    } finally {
      await handle.close();
    }
    return { path, bucket: bucket.name, object, bytesFetched: 0, complete: false };
  }

  /** Writes bytes already fetched (counted by the caller) at `offset` of a sparse staged file. */
  async write(file: StagedFile, offset: number, bytes: Buffer): Promise<void> {
    const handle = await open(file.path, 'r+');
    try {
      await handle.write(bytes, 0, bytes.length, offset);
    } finally {
      await handle.close();
    }
  }

  /** Fetches bytes [start, end] of the object into a sparse staged file. */
  async fill(bucket: Bucket, file: StagedFile, range: { start: number; end: number }): Promise<void> {
    const start = Math.max(0, range.start);
    const end = Math.min(file.object.size - 1, range.end);
    if (end < start) return;
    const bytes = await bucket.readRange(file.object.key, start, end);
    file.bytesFetched += bytes.length;
    await this.write(file, start, bytes);
  }

  async release(file: StagedFile): Promise<void> {
    await rm(file.path, { force: true });
  }

  async close(): Promise<void> {
    process.removeListener('exit', this.removeOnExit);
    await rm(this.dir, { recursive: true, force: true });
  }

  /** A fresh local name that keeps the key's file name (and so its extension), with nothing that could escape the directory. */
  private localPath(key: string): string {
    const name = basename(key).replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_').slice(-120) || 'object';
    this.sequence += 1;
    return join(this.dir, `${this.sequence}-${name}`);
  }
}

/** Length up to and including the last newline (the whole text when it has none). */
export function lastLineEnd(text: Buffer): number {
  const lastNewline = text.lastIndexOf(0x0a);
  return lastNewline < 0 ? text.length : lastNewline + 1;
}
