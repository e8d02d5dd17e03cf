import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Bucket } from './bucket.js';
import { configError, ConnectorError } from '../protocol/errors.js';
import { contentCheck, isBlankText } from './content-check.js';
import { compressionOf, duckdbReads, withoutCompressionSuffix } from './compression.js';
import { downloadDecoded } from './decoded-download.js';
import { readTextPrefix } from './text-prefix.js';
import { makeFifo } from './fifo.js';
import { QueryFolder } from './query-folder.js';
import { mapAwsError } from './errors.js';
import { downloadObject } from './object-reader.js';
import { downloadObjectInParts, type PartOptions } from './object-parts.js';
import { ObjectStream } from './object-stream.js';
import type { S3Object } from './settings.js';
import { settings } from '../settings.js';
import { removeAbandonedStagingFolders, STAGING_FOLDER_PREFIX, writeOwnerRecord } from './staging-owner.js';
import { stagingDirError, stagingSpaceError } from './staging-errors.js';

/** A local copy of (part of) an object. */
export interface StagedFile {
  path: string;
  bucket: string;
  object: S3Object;
  /** Bytes fetched from S3 for this file. */
  bytesFetched: number;
  /** False when only a sample of the object was staged. */
  complete: boolean;
  /**
   * The whole object was seen and its text (decompressed) is nothing but a BOM and white space, or
   * nothing at all: it has no rows. Always false for a partial sample and for Parquet.
   */
  blank: boolean;
  /** Files made from this one (say, a copy with other line endings), removed with it. */
  derived?: string[];
  /**
   * Set when `path` is a FIFO, not a copy: each read of it must open a pass of this stream, which
   * fills the FIFO from S3 (see ObjectStream). Nothing else may open `path`.
   */
  stream?: ObjectStream;
  /** A streamed file's first records on disk, for what reads a file's start (its header, its first bytes). */
  head?: StagedFile;
}

/** A text sample grows past its size only to hold a first record that long, up to this. */
const MAX_SAMPLE_BYTES = 64 << 20;

/**
 * A private temporary directory holding staged objects. Files are streamed to
 * disk (never held whole in memory) and the directory is removed on close, and
 * on process exit if close was never reached.
 */
export class StagingArea {
  readonly dir: string;
  private sequence = 0;
  private readonly folders = new Set<string>();
  private readonly removeOnExit = () => rmSync(this.dir, { recursive: true, force: true });

  private constructor(dir: string) {
    this.dir = dir;
    process.once('exit', this.removeOnExit);
  }

  /**
   * Creates the area under SOURCE_S3_STAGING_DIR or the OS temp dir, readable
   * only by this user, and removes the areas that killed runs left there.
   */
  static async create(): Promise<StagingArea> {
    const parent = settings().stagingDir;
    let dir: string;
    try {
      await mkdir(parent, { recursive: true });
      dir = mkdtempSync(join(parent, STAGING_FOLDER_PREFIX));
    } catch (error) {
      throw stagingDirError(error, parent);
    }
    const area = new StagingArea(dir);
    try {
      writeOwnerRecord(dir);
    } catch (error) {
      await area.close();
      throw stagingDirError(error, parent);
    }
    await removeAbandonedStagingFolders(parent, dir);
    return area;
  }

  /**
   * Downloads a whole object. A .gz or .zst object is decompressed on the way (and the output
   * dropped) to prove it is complete: DuckDB, which reads the staged copy, would take a cut-off
   * upload for a shorter file.
   */
  async download(bucket: Bucket, object: S3Object, at?: string): Promise<StagedFile> {
    if (object.member !== undefined || !duckdbReads(compressionOf(object.key))) return this.downloadText(bucket, object, at);
    const path = at ?? this.localPath(object.key);
    if (at !== undefined) await this.folderFor(at);
    // A zero-byte object has no rows, whatever its name says: there is nothing to decompress.
    const check = contentCheck(object.size === 0 ? 'none' : compressionOf(object.key), `s3://${bucket.name}/${object.key}`);
    let bytes: number;
    try {
      // Resumed from the byte reached on a network failure, and checked against the listed size and ETag.
      bytes = await downloadObject(bucket, object, path, (chunk) => check.push(chunk));
      await check.end();
    } catch (error) {
      await rm(path, { force: true });
      if (error instanceof ConnectorError) throw error;
      throw (await this.spaceError(error, bucket, object.key, object.size)) ?? mapAwsError(error, bucket.context({ operation: 'read', key: object.key }));
    }
    return { path, bucket: bucket.name, object, bytesFetched: bytes, complete: true, blank: check.blank };
  }

  /**
   * Stages the decompressed text of what DuckDB cannot read itself: a .bz2 object, a zip member.
   * The staged name drops the compression suffix (data.csv.bz2 -> data.csv; k.zip#a/b.csv -> b.csv):
   * DuckDB reads it as plain text. Disk use is the decompressed size.
   */
  private async downloadText(bucket: Bucket, object: S3Object, at?: string): Promise<StagedFile> {
    const name = withoutCompressionSuffix(object.member?.name ?? object.key);
    const path = at === undefined ? this.localPath(name) : join(dirname(at), localFileName(withoutCompressionSuffix(basename(at))));
    if (at !== undefined) await this.folderFor(path);
    try {
      const { fetched, blank } = await downloadDecoded(bucket, object, path);
      return { path, bucket: bucket.name, object, bytesFetched: fetched, complete: true, blank };
    } catch (error) {
      await rm(path, { force: true });
      if (error instanceof ConnectorError) throw error;
      throw (await this.spaceError(error, bucket, object.key, object.size)) ?? mapAwsError(error, bucket.context({ operation: 'read', key: object.member?.archive.key ?? object.key }));
    }
  }

  /**
   * Downloads a whole object with concurrent ranged GETs (see downloadObjectInParts), for formats
   * read by random access. No content check: that needs the bytes in order (and Parquet is never
   * compressed as a whole, nor blank).
   */
  async downloadInParts(bucket: Bucket, object: S3Object, options: PartOptions, at?: string): Promise<StagedFile> {
    const path = at ?? this.localPath(object.key);
    if (at !== undefined) await this.folderFor(at);
    try {
      const bytes = await downloadObjectInParts(bucket, object, path, options);
      return { path, bucket: bucket.name, object, bytesFetched: bytes, complete: true, blank: false };
    } catch (error) {
      await rm(path, { force: true });
      if (error instanceof ConnectorError) throw error;
      throw (await this.spaceError(error, bucket, object.key, object.size)) ?? mapAwsError(error, bucket.context({ operation: 'read', key: object.key }));
    }
  }

  /**
   * A text object read through a FIFO instead of staged: nothing of it is on disk but `head`, a
   * sample of its first records. Its `path` may only be read by opening a pass of its `stream`.
   */
  streamed(bucket: Bucket, object: S3Object, head: StagedFile): StagedFile {
    // The FIFO keeps the key's name without its compression suffix: it carries decompressed text.
    const fifo = this.fifo(basename(withoutCompressionSuffix(object.key)).slice(-100));
    return { path: fifo, bucket: bucket.name, object, bytesFetched: 0, complete: true, blank: false, stream: new ObjectStream(bucket, object, fifo), head };
  }

  /**
   * A sample of a text object: its first `maxBytes` (decompressed for .gz and
   * .zst), cut where `recordEnd` says the last whole record ends (0: none yet,
   * or a record too long to judge the file by). A first record longer than the
   * sample makes the sample grow, up to `hardCap`; past that the file is refused
   * with a clear message (`recordEnd` may throw its own, told it is the last try).
   */
  async head(
    bucket: Bucket,
    object: S3Object,
    maxBytes: number,
    recordEnd: (sample: Buffer, lastTry: boolean) => number = lastLineEnd,
    hardCap: number = MAX_SAMPLE_BYTES,
    at?: string,
  ): Promise<StagedFile> {
    let limit = maxBytes;
    let fetched = 0;
    for (;;) {
      const prefix = await readTextPrefix(bucket, object, limit);
      fetched += prefix.fetched;
      const cut = prefix.whole ? prefix.text.length : recordEnd(prefix.text, limit >= hardCap);
      if (cut > 0 || prefix.whole) {
        const sample = prefix.text.subarray(0, cut);
        // At a given path the sample keeps the object's name, so a .gz sample is gzipped again.
        const path = at ?? this.localPath(withoutCompressionSuffix(object.key));
        if (at !== undefined) await this.folderFor(at);
        const bytes = at !== undefined && compressionOf(object.key) === 'gzip' ? gzipSync(sample) : sample;
        try {
          await writeFile(path, bytes, { mode: 0o600 });
        } catch (error) {
          await rm(path, { force: true });
          throw (await this.spaceError(error, bucket, object.key, bytes.length)) ?? error;
        }
        return { path, bucket: bucket.name, object, bytesFetched: fetched, complete: prefix.whole, blank: prefix.whole && isBlankText(sample) };
      }
      if (limit >= hardCap) {
        throw configError(
          `The first record of s3://${bucket.name}/${object.key} is longer than ${hardCap} bytes, or the file has no line breaks where the stream's format expects them. Check the stream's format (delimiter, quote_char) and that the file is the expected type.`,
        );
      }
      limit = Math.min(hardCap, limit * 4);
    }
  }

  /**
   * An empty sparse local file as large as the object; `write` and `fill` put
   * byte ranges in it and the rest reads as zeros without taking disk space.
   * For formats such as Parquet whose readers seek to just what they need.
   */
  async sparse(bucket: Bucket, object: S3Object, at?: string): Promise<StagedFile> {
    const path = at ?? this.localPath(object.key);
    if (at !== undefined) await this.folderFor(at);
    const handle = await open(path, 'w', 0o600);
    try {
      await handle.truncate(object.size);
    } finally {
      await handle.close();
    }
    return { path, bucket: bucket.name, object, bytesFetched: 0, complete: false, blank: false };
  }

  /** Writes bytes already fetched (counted by the caller) at `offset` of a sparse staged file. */
  async write(file: StagedFile, offset: number, bytes: Buffer): Promise<void> {
    const handle = await open(file.path, 'r+');
    try {
      await handle.write(bytes, 0, bytes.length, offset);
    } catch (error) {
      throw (await stagingSpaceError(error, { dir: dirname(this.dir), url: `s3://${file.bucket}/${file.object.key}`, needed: bytes.length })) ?? error;
    } finally {
      await handle.close();
    }
  }

  /** Fetches bytes [start, end] of the object into a sparse staged file. */
  async fill(bucket: Bucket, file: StagedFile, range: { start: number; end: number }): Promise<void> {
    const start = Math.max(0, range.start);
    const end = Math.min(file.object.size - 1, range.end);
    if (end < start) return;
    const bytes = await bucket.readRange(file.object, start, end);
    file.bytesFetched += bytes.length;
    await this.write(file, start, bytes);
  }

  /** A model query stream's own folder in the staging area (removed when the stream ends). */
  queryFolder(bucket: string): QueryFolder {
    return new QueryFolder(join(this.dir, `query-${++this.sequence}`), bucket);
  }

  /** A fresh FIFO (named pipe) in the staging directory, for a producer to write and this process to read. */
  fifo(name: string): string {
    return makeFifo(this.dir, ++this.sequence, name);
  }

  async release(file: StagedFile): Promise<void> {
    await rm(file.path, { force: true });
    if (file.head !== undefined) await this.release(file.head);
    for (const path of file.derived ?? []) await rm(path, { force: true });
  }

  async close(): Promise<void> {
    process.removeListener('exit', this.removeOnExit);
    await rm(this.dir, { recursive: true, force: true });
  }

  /** A clear error when `error` is the disk filling up while staging the object; undefined otherwise. */
  private spaceError(error: unknown, bucket: Bucket, key: string, needed: number): Promise<ConnectorError | undefined> {
    return stagingSpaceError(error, { dir: dirname(this.dir), url: `s3://${bucket.name}/${key}`, needed });
  }

  /** Makes the folder of a path given by the caller, once per folder (thousands of files of a stream share one). */
  private async folderFor(path: string): Promise<void> {
    const folder = dirname(path);
    if (this.folders.has(folder)) return;
    await mkdir(folder, { recursive: true, mode: 0o700 });
    this.folders.add(folder);
  }

  /** A fresh local name that keeps the key's file name (and so its extension), with nothing that could escape the directory. */
  private localPath(key: string): string {
    const name = localFileName(key);
    this.sequence += 1;
    return join(this.dir, `${this.sequence}-${name}`);
  }
}

/** Length up to and including the last newline; 0 when there is none. */
export function lastLineEnd(text: Buffer): number {
  return text.lastIndexOf(0x0a) + 1;
}

/** A local file name for an object: its key's last segment (so its extension), with nothing that could escape a directory. */
export function localFileName(key: string): string {
  return basename(key).replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_').slice(-120) || 'object';
}
