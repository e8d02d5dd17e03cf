import { createReadStream, createWriteStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { compressionOf } from '../s3/compression.js';
import type { StagedFile } from '../s3/staging.js';

/** LF copies already made, by staged file: the copy's path, or null when the file had no CRLF. */
const copies = new WeakMap<StagedFile, string | null>();

/**
 * The staged file's copy with LF line endings, made once and reused by every later parse of the
 * file (dialect, columns, records); removed when the staged file is released. Undefined when the
 * file has no CRLF, so a copy could not help.
 */
export async function unixLineEndingsCopy(staged: StagedFile): Promise<string | undefined> {
  const known = copies.get(staged);
  if (known !== undefined) return known ?? undefined;
  const copy = `${staged.path}.lf.csv`;
  (staged.derived ??= []).push(copy);
  const made = (await copyWithUnixLineEndings(staged.path, copy)) > 0 ? copy : null;
  copies.set(staged, made);
  return made ?? undefined;
}

/**
 * Writes a plain-text copy of a staged CSV file with every CRLF turned into LF.
 * DuckDB's strict CSV parser takes one line ending per file, and a file edited
 * by hand (or concatenated from two exports) often mixes both. Returns how many
 * CRLFs were changed. A CRLF inside a quoted field becomes LF too.
 */
export async function copyWithUnixLineEndings(source: string, target: string): Promise<number> {
  let changed = 0;
  let pendingCr = false;
  const toLf = new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      const out: Buffer[] = [];
      let start = 0;
      if (pendingCr) {
        if (chunk[0] === 0x0a) changed++;
        else out.push(Buffer.from([0x0d]));
        pendingCr = false;
      }
      for (let index = chunk.indexOf(0x0d); index !== -1; index = chunk.indexOf(0x0d, index + 1)) {
        if (index === chunk.length - 1) {
          out.push(chunk.subarray(start, index));
          pendingCr = true;
          start = chunk.length;
          break;
        }
        if (chunk[index + 1] === 0x0a) {
          out.push(chunk.subarray(start, index));
          start = index + 1;
          changed++;
        }
      }
      if (start < chunk.length) out.push(chunk.subarray(start));
      done(null, Buffer.concat(out));
    },
    flush(done: TransformCallback) {
      done(null, pendingCr ? Buffer.from([0x0d]) : undefined);
    },
  });
  const compression = compressionOf(source);
  const stages = compression === 'gzip' ? [createGunzip()] : compression === 'zstd' ? [zstdStream()] : [];
  await pipeline([createReadStream(source), ...stages, toLf, createWriteStream(target, { mode: 0o600 })]);
  return changed;
}

function zstdStream(): Transform {
  let push: (bytes: Uint8Array) => void = () => undefined;
  const decoder = new Decompress((bytes) => push(bytes));
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      push = (bytes) => this.push(Buffer.from(bytes));
      try {
        decoder.push(chunk);
        done();
      } catch (error) {
        done(error as Error);
      }
    },
    flush(done: TransformCallback) {
      try {
        decoder.push(new Uint8Array(0), true);
        done();
      } catch (error) {
        done(error as Error);
      }
    },
  });
}
