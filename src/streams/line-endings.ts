import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { compressionOf, decompressStream } from '../s3/compression.js';
import type { StagedFile } from '../s3/staging.js';
import { unixLineEndings } from '../s3/unix-line-endings.js';

/** LF copies already made, by staged file: the copy's path, or null when the file had no CRLF. */
const copies = new WeakMap<StagedFile, string | null>();

/**
 * The staged file's copy with LF line endings, made once and reused by every later parse of the
 * file (dialect, columns, records); removed when the staged file is released. Undefined when the
 * file has no CRLF, so a copy could not help.
 */
export async function unixLineEndingsCopy(staged: StagedFile): Promise<string | undefined> {
  // A streamed file has no copy to make: its later passes turn CRLF into LF on the way (same path).
  if (staged.stream !== undefined) {
    if (staged.stream.lineEndings === 'lf') return undefined;
    staged.stream.lineEndings = 'lf';
    return staged.path;
  }
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
  const compression = compressionOf(source);
  const stages = compression === 'none' ? [] : [decompressStream(compression)];
  await pipeline([createReadStream(source), ...stages, unixLineEndings(() => changed++), createWriteStream(target, { mode: 0o600 })]);
  return changed;
}
