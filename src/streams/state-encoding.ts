import { createHash } from 'node:crypto';

/**
 * The compact text of the files a state remembers (state blob version 2).
 *
 * A state is printed many times per sync and kept by the orchestrator, so each remembered file
 * must cost a few bytes, not the ~100 of `"<key>": "<ISO time>|<size>:<etag>"`. Three tricks:
 *
 * - keys sorted and front-coded: each entry stores how many leading characters it shares with the
 *   previous key, and only the rest (`exports/2026/11/30/part-000124.csv` after `...000123.csv`
 *   costs `4.csv`);
 * - times as whole seconds (base 36) after one base time for the blob, with `.mmm` only for
 *   stores that give milliseconds;
 * - the object's version as a 48-bit hash of objectVersion() (size and ETag): enough to tell a
 *   rewrite within the same second apart, in 8 characters instead of ~40.
 *
 * One entry is one string: `<shared> <suffix> <offset> <version>`, the numbers in base 36 and `-`
 * for "no version known" (states from before versions were kept). The suffix may hold spaces: it
 * is what lies between the first space and the last two. Keys shaped like
 * `exports/2026/11/30/part-000123.csv` cost about 23 bytes per file in the JSON of a state.
 */

/** A remembered file: its key, last-modified (ms) and short version (undefined when not known). */
export interface EncodedFile {
  key: string;
  time: number;
  version?: string;
}

const NO_VERSION = '-';
const SHORT_VERSION = /^[A-Za-z0-9_-]{8}$/;

/** The short form of an objectVersion() string kept in states: 48 bits of its SHA-256, base64url. */
export function shortVersion(version: string): string {
  return createHash('sha256').update(version).digest('base64url').slice(0, 8);
}

/** Files sorted by key and front-coded, with their base time (ISO 8601, whole seconds). */
export function encodeFiles(files: Iterable<EncodedFile>): { since: string; files: string[] } | undefined {
  const sorted = [...files].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  if (sorted.length === 0) return undefined;
  let oldest = sorted[0]!.time;
  for (const file of sorted) if (file.time < oldest) oldest = file.time;
  const base = Math.floor(oldest / 1000) * 1000;
  let previous = '';
  const encoded = sorted.map((file) => {
    const shared = sharedPrefixLength(previous, file.key);
    previous = file.key;
    return `${shared.toString(36)} ${file.key.slice(shared)} ${encodeOffset(file.time - base)} ${file.version ?? NO_VERSION}`;
  });
  return { since: new Date(base).toISOString(), files: encoded };
}

/** Why an encoded file list cannot be read: the index of the entry and what is wrong with it. */
export class FilesEncodingError extends Error {
  constructor(
    readonly index: number,
    reason: string,
  ) {
    super(reason);
  }
}

/** The files of an encoded list; throws FilesEncodingError naming the first entry it cannot read. */
export function decodeFiles(since: number, files: unknown[]): EncodedFile[] {
  let previous = '';
  return files.map((entry, index) => {
    const fail = (reason: string) => new FilesEncodingError(index, reason);
    if (typeof entry !== 'string') throw fail('is not a string');
    const first = entry.indexOf(' ');
    const last = entry.lastIndexOf(' ');
    const secondLast = last <= 0 ? -1 : entry.lastIndexOf(' ', last - 1);
    if (first === -1 || secondLast < first) throw fail('does not have the form "<shared> <suffix> <offset> <version>"');
    const sharedText = entry.slice(0, first);
    const shared = /^[0-9a-z]+$/.test(sharedText) ? Number.parseInt(sharedText, 36) : Number.NaN;
    if (!(shared <= previous.length)) throw fail(`shares ${JSON.stringify(sharedText)} characters with the previous key, which has ${previous.length}`);
    const offset = decodeOffset(entry.slice(secondLast + 1, last));
    if (offset === undefined) throw fail('has an unreadable time offset');
    const version = entry.slice(last + 1);
    if (version !== NO_VERSION && !SHORT_VERSION.test(version)) throw fail('has an unreadable version');
    const key = previous.slice(0, shared) + entry.slice(first + 1, secondLast);
    if (key <= previous && index > 0) throw fail('is not after the previous key (keys are sorted and unique)');
    previous = key;
    return { key, time: since + offset, ...(version === NO_VERSION ? {} : { version }) };
  });
}

function sharedPrefixLength(a: string, b: string): number {
  const limit = Math.min(a.length, b.length);
  let length = 0;
  while (length < limit && a.charCodeAt(length) === b.charCodeAt(length)) length++;
  return length;
}

/** Milliseconds as base-36 seconds, with `.mmm` when not whole (S3 gives whole seconds; some stores do not). */
function encodeOffset(ms: number): string {
  const seconds = Math.floor(ms / 1000).toString(36);
  const rest = ms % 1000;
  return rest === 0 ? seconds : `${seconds}.${String(rest).padStart(3, '0')}`;
}

function decodeOffset(text: string): number | undefined {
  const match = /^([0-9a-z]+)(?:\.(\d{3}))?$/.exec(text);
  if (match === null) return undefined;
  const ms = Number.parseInt(match[1]!, 36) * 1000 + (match[2] === undefined ? 0 : Number(match[2]));
  return Number.isSafeInteger(ms) ? ms : undefined;
}
