import { tmpdir } from 'node:os';
import { configError } from './protocol/errors.js';

/**
 * Every SOURCE_S3_* environment setting, parsed and checked in one place.
 *
 * A value that does not parse is an error naming the variable and what it
 * accepts, never a silent fallback to the default: a typo such as
 * SOURCE_S3_CHECKPOINT_RECORDS=10k would otherwise run with 10,000 and nobody
 * would know. An empty value counts as unset, because orchestrators and
 * compose files often pass `NAME=` for "not set".
 *
 * To add a setting: one entry in SETTINGS (a parser below or a new one), and
 * a row in the README's table of environment variables.
 */

interface Setting<T> {
  name: string;
  /** What the variable accepts, for the error message and the README. */
  accepts: string;
  defaultValue: () => T;
  /** The parsed value, or undefined when `raw` (trimmed, non-empty) is not acceptable. */
  parse: (raw: string) => T | undefined;
}

/** A whole number in [min, max]; digits only, so 1.5, 1e3, 0x10 and -1 are refused rather than read loosely. */
function wholeNumber(name: string, min: number, defaultValue: number, unit = '', max = Number.MAX_SAFE_INTEGER): Setting<number> {
  const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
  return {
    name,
    accepts: `a whole number${unit === '' ? '' : ` of ${unit}`}, ${range}`,
    defaultValue: () => defaultValue,
    parse: (raw) => {
      if (!/^\d+$/.test(raw)) return undefined;
      const value = Number(raw);
      return Number.isSafeInteger(value) && value >= min && value <= max ? value : undefined;
    },
  };
}

/** A size DuckDB understands, e.g. 512MB, 4GB, 1.5GiB. */
function duckdbSize(name: string, defaultValue: string): Setting<string> {
  return {
    name,
    accepts: 'a size such as 512MB, 4GB or 1.5GiB (KB, MB, GB, TB, or KiB ... TiB)',
    defaultValue: () => defaultValue,
    parse: (raw) => (/^\d+(\.\d+)?\s*[KMGT]i?B$/i.test(raw) && Number.parseFloat(raw) > 0 ? raw : undefined),
  };
}

function directory(name: string, defaultValue: () => string): Setting<string> {
  return { name, accepts: 'a directory path', defaultValue, parse: (raw) => raw };
}

const MiB = 2 ** 20;

const SETTINGS = {
  maxAttempts: wholeNumber('SOURCE_S3_MAX_ATTEMPTS', 1, 5, 'attempts', 100),
  connectTimeoutSeconds: wholeNumber('SOURCE_S3_CONNECT_TIMEOUT_SECONDS', 1, 10, 'seconds'),
  firstByteTimeoutSeconds: wholeNumber('SOURCE_S3_FIRST_BYTE_TIMEOUT_SECONDS', 1, 60, 'seconds'),
  idleTimeoutSeconds: wholeNumber('SOURCE_S3_IDLE_TIMEOUT_SECONDS', 1, 60, 'seconds'),
  stagingDir: directory('SOURCE_S3_STAGING_DIR', tmpdir),
  // The sample grows to hold a long first record, up to 64 MiB; a larger start could never be cut.
  sampleBytes: wholeNumber('SOURCE_S3_SAMPLE_BYTES', 4096, MiB, 'bytes', 64 * MiB),
  sampleRowGroupBytes: wholeNumber('SOURCE_S3_SAMPLE_ROW_GROUP_BYTES', 0, 64 * MiB, 'bytes'),
  schemaFiles: wholeNumber('SOURCE_S3_SCHEMA_FILES', 1, 10, 'files'),
  discoveryConcurrency: wholeNumber('SOURCE_S3_DISCOVERY_CONCURRENCY', 1, 4, 'files', 64),
  checkpointRecords: wholeNumber('SOURCE_S3_CHECKPOINT_RECORDS', 1, 10_000, 'records'),
  historyMax: wholeNumber('SOURCE_S3_HISTORY_MAX', 1, 10_000, 'files'),
  // Many small files: fetched this many at a time, and read by DuckDB in batches of up to
  // SOURCE_S3_BATCH_BYTES of objects and SOURCE_S3_BATCH_FILES files, one query each.
  downloadConcurrency: wholeNumber('SOURCE_S3_DOWNLOAD_CONCURRENCY', 1, 16, 'downloads', 256),
  batchBytes: wholeNumber('SOURCE_S3_BATCH_BYTES', 0, 64 * MiB, 'bytes'),
  batchFiles: wholeNumber('SOURCE_S3_BATCH_FILES', 1, 500, 'files', 10_000),
  // State (issue 12): files remembered within this window of the newest synced one; STATE at least this often.
  historyWindowSeconds: wholeNumber('SOURCE_S3_HISTORY_WINDOW_SECONDS', 0, 3 * 24 * 3600, 'seconds'),
  checkpointSeconds: wholeNumber('SOURCE_S3_CHECKPOINT_SECONDS', 0, 60, 'seconds'),
  queryMaxBytes: wholeNumber('SOURCE_S3_QUERY_MAX_BYTES', 1, 10 * 2 ** 30, 'bytes'),
  queryMaxObjects: wholeNumber('SOURCE_S3_QUERY_MAX_OBJECTS', 1, 10_000, 'objects'),
  queryTimeoutSeconds: wholeNumber('SOURCE_S3_QUERY_TIMEOUT_SECONDS', 1, 3600, 'seconds'),
  duckdbThreads: wholeNumber('SOURCE_S3_DUCKDB_THREADS', 1, 2, 'threads', 256),
  // One thread for file streams: with two, DuckDB buffers out-of-order batches of the
  // order-preserving COPY, and RSS grew with the file (a 700 MB CSV: 680 MB; one thread: 190 MB
  // whatever the size), without being faster here: Node forwarding the lines keeps the other core busy.
  duckdbFileThreads: wholeNumber('SOURCE_S3_DUCKDB_FILE_THREADS', 1, 1, 'threads', 256),
  duckdbMemoryLimit: duckdbSize('SOURCE_S3_DUCKDB_MEMORY_LIMIT', '1GB'),
  duckdbMaxSpill: duckdbSize('SOURCE_S3_DUCKDB_MAX_SPILL', '10GB'),
  // Issue 12, streaming: CSV / JSON Lines objects this large flow S3 -> FIFO -> DuckDB instead of being staged.
  streamMinBytes: wholeNumber('SOURCE_S3_STREAM_MIN_BYTES', 0, 8 * MiB, 'bytes'),
  // Parquet is staged whole, with ranged GETs of this size, this many at once.
  partBytes: wholeNumber('SOURCE_S3_PART_BYTES', MiB, 8 * MiB, 'bytes', 1024 * MiB),
  partsInFlight: wholeNumber('SOURCE_S3_PARTS_IN_FLIGHT', 1, 4, 'GETs', 64),
  // Documents (PDF, DOCX, text) are parsed in memory: larger objects are a parse error, never a
  // parse; a record's content (as JSON) over the second is one too (DuckDB reads it as one object).
  documentMaxBytes: wholeNumber('SOURCE_S3_DOCUMENT_MAX_BYTES', 1, 32 * MiB, 'bytes', 1024 * MiB),
  documentMaxContentBytes: wholeNumber('SOURCE_S3_DOCUMENT_MAX_CONTENT_BYTES', 1024, 32 * MiB, 'bytes', 1024 * MiB),
};

type Definitions = typeof SETTINGS;
export type Settings = { readonly [K in keyof Definitions]: Definitions[K] extends Setting<infer T> ? T : never };

/** Names of every setting, for documentation and tests. */
export const SETTING_NAMES: readonly string[] = Object.values(SETTINGS).map((setting) => setting.name);

/** Longest piece of a bad value quoted back: enough to recognise a typo, never a pasted blob. */
const QUOTE_LIMIT = 40;

function quoted(raw: string): string {
  return JSON.stringify(raw.length > QUOTE_LIMIT ? `${raw.slice(0, QUOTE_LIMIT)}...` : raw);
}

/**
 * Parses every setting from `env`. Throws one config_error listing every bad
 * variable, what it accepts and its default.
 */
export function readSettings(env: NodeJS.ProcessEnv): Settings {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, setting] of Object.entries(SETTINGS) as [string, Setting<unknown>][]) {
    const raw = env[setting.name]?.trim() ?? '';
    if (raw === '') {
      values[key] = setting.defaultValue();
      continue;
    }
    const value = setting.parse(raw);
    if (value === undefined) problems.push(`${setting.name} must be ${setting.accepts} (got ${quoted(raw)}); unset it for the default, ${String(setting.defaultValue())}`);
    values[key] = value;
  }
  if (problems.length > 0) throw configError(`Invalid environment setting${problems.length === 1 ? '' : 's'}: ${problems.join('; ')}.`);
  return values as Settings;
}

let cached: Settings | undefined;

/** The process's settings, read from its environment once. */
export function settings(): Settings {
  cached ??= readSettings(process.env);
  return cached;
}
