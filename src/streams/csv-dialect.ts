import { open, rm } from 'node:fs/promises';
import { sniffCsvSql, type CsvColumn, type CsvDialect } from '../engine/csv-dialect.js';
import type { Engine, Row } from '../engine/engine.js';
import type { CsvFormat } from '../engine/formats.js';
import { parseDuckType } from '../engine/types.js';
import { configError, ConnectorError } from '../protocol/errors.js';
import { copyWithUnixLineEndings } from './line-endings.js';
import type { StagedFile } from '../s3/staging.js';
import { s3Url } from './files.js';
import { engineCall } from './sample.js';

/**
 * Runs DuckDB work on a staged CSV file; when DuckDB cannot parse it and the
 * file mixes CRLF and LF line endings (which DuckDB's parser refuses), runs it
 * again on a copy with LF only.
 */
export async function withAnyLineEndings<T>(staged: StagedFile, work: (path: string) => Promise<T>): Promise<T> {
  try {
    return await work(staged.path);
  } catch (error) {
    const detail = error instanceof ConnectorError ? (error.internalMessage ?? error.message) : String(error);
    if (!/Error when sniffing file|state machine reached an invalid state/i.test(detail)) throw error;
    const copy = `${staged.path}.lf.csv`;
    try {
      if ((await copyWithUnixLineEndings(staged.path, copy)) === 0) throw error;
      return await work(copy);
    } finally {
      await rm(copy, { force: true });
    }
  }
}

/** Characters that, found in a lone column's name, say the delimiter was wrong. */
const LIKELY_DELIMITERS = [',', ';', '\t', '|'];
const DELIMITER_NAMES: Record<string, string> = { ',': 'comma', ';': 'semicolon', '\t': 'tab', '|': 'pipe' };

const sniffedChar = (value: unknown): string => {
  const text = typeof value === 'string' ? value : '';
  return text === '(empty)' ? '' : text;
};

/**
 * The stream's dialect: what the format sets explicitly, the rest from
 * DuckDB's sniffer over one staged sample (the stream's newest file, the one
 * discover samples first). Deterministic for a given sample; discover, check
 * and read all call this, then parse every file with the result.
 */
export async function decideCsvDialect(engine: Engine, sample: StagedFile, format: CsvFormat): Promise<CsvDialect> {
  await refuseOtherFormats(sample, format);
  const fixed = {
    header: format.header,
    skipRows: format.skipRows,
    encoding: format.encoding,
    ...(format.delimiter === undefined ? {} : { delimiter: format.delimiter }),
    ...(format.quoteChar === undefined ? {} : { quote: format.quoteChar }),
    ...(format.escapeChar === undefined ? {} : { escape: format.escapeChar }),
    ...(format.nullValues === undefined ? {} : { nullValues: format.nullValues }),
    ...(format.columnNames === undefined ? {} : { columnNames: format.columnNames }),
  };
  const [row] = await withAnyLineEndings(sample, (path) => engineCall(sample, format, () => engine.all(sniffCsvSql(path, fixed))));
  const sniffedQuote = sniffedChar(row?.Quote);
  // No quote in the sample makes DuckDB's sniffer answer "no quoting"; a quoted field past the sample
  // would then split. RFC 4180's quote is the safe default when the sample has no quote character at all.
  const quote = format.quoteChar ?? (sniffedQuote === '' && !(await holdsByte(sample.path, 0x22)) ? '"' : sniffedQuote);
  const sniffedEscape = sniffedChar(row?.Escape);
  const escape = format.escapeChar ?? (sniffedEscape === '' ? quote : sniffedEscape);
  const dialect: CsvDialect = {
    delimiter: format.delimiter ?? (sniffedChar(row?.Delimiter) || ','),
    quote,
    escape,
    header: format.header,
    skipRows: format.skipRows,
    encoding: format.encoding,
    ...(format.nullValues === undefined ? {} : { nullValues: format.nullValues }),
    ...(format.columnNames === undefined ? {} : { columnNames: format.columnNames }),
    ...(typeof row?.DateFormat === 'string' && row.DateFormat !== '' ? { dateFormat: row.DateFormat } : {}),
    ...(typeof row?.TimestampFormat === 'string' && row.TimestampFormat !== '' ? { timestampFormat: row.TimestampFormat } : {}),
  };
  return dialect;
}

/**
 * A file's columns as the stream's dialect reads them: names from its header
 * (or the configured column_names), DuckDB's type guesses from the first
 * `sampleRows` rows (all rows of a sample when undefined). The dialect is
 * pinned, so this cannot re-detect the file into another shape.
 */
export async function csvFileColumns(engine: Engine, staged: StagedFile, format: CsvFormat, dialect: CsvDialect, sampleRows?: number): Promise<CsvColumn[]> {
  await refuseOtherFormats(staged, format);
  const [row] = await withAnyLineEndings(staged, (path) => engineCall(staged, format, () => engine.all(sniffCsvSql(path, dialect, sampleRows))));
  const columns = sniffedColumns(row).map((column) => ({ name: column.name, type: parseDuckType(column.type) }));
  refuseOneColumnReading(staged, columns, dialect);
  return columns;
}

function sniffedColumns(row: Row | undefined): { name: string; type: string }[] {
  const columns = Array.isArray(row?.Columns) ? (row.Columns as { name?: unknown; type?: unknown }[]) : [];
  return columns.map((column) => ({ name: String(column.name), type: String(column.type) }));
}

/** One column whose name holds a likely delimiter: the file was split with the wrong delimiter (or not split at all). */
function refuseOneColumnReading(staged: StagedFile, columns: CsvColumn[], dialect: CsvDialect): void {
  if (columns.length !== 1 || !dialect.header) return;
  const name = columns[0]!.name;
  const found = LIKELY_DELIMITERS.filter((char) => char !== dialect.delimiter && name.includes(char));
  if (found.length === 0) return;
  const url = s3Url(staged.bucket, staged.object.key);
  const shown = JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}...` : name);
  const used = DELIMITER_NAMES[dialect.delimiter] ?? JSON.stringify(dialect.delimiter);
  throw configError(
    `${url} parses to a single column with delimiter ${used}, but its header ${shown} holds ${found.map((char) => DELIMITER_NAMES[char]).join(' and ')} characters. ` +
      `Set the stream's format.delimiter to the file's delimiter (e.g. "${found[0] === '\t' ? '\\t' : found[0]}"), or fix the rows that do not have as many fields as the header.`,
  );
}

/**
 * A Parquet or JSON Lines file matched by a CSV stream would parse into nonsense
 * columns: refuse it by its first bytes, naming the stream's globs.
 */
async function refuseOtherFormats(staged: StagedFile, format: CsvFormat): Promise<void> {
  const head = await firstBytes(staged.path, 64);
  const url = s3Url(staged.bucket, staged.object.key);
  const fix = "Narrow the stream's globs to CSV files, or give these files a stream with their format.";
  if (head.subarray(0, 4).toString('latin1') === 'PAR1') throw configError(`${url} is a Parquet file, not CSV. ${fix}`);
  if (format.encoding !== 'utf-16' && looksLikeUtf16(head)) {
    throw configError(`${url} looks like UTF-16 text (${head[0] === 0xff || head[0] === 0xfe ? 'it starts with a UTF-16 byte order mark' : 'every other byte is zero'}), but the stream reads it as ${format.encoding}. Set the stream's format.encoding to "utf-16".`);
  }
  if (format.encoding !== 'utf-16' && /^(\uFEFF)?\s*\{\s*"/.test(head.toString('utf8'))) throw configError(`${url} looks like JSON Lines (it starts with a JSON object), not CSV. ${fix}`);
}

/** A UTF-16 byte order mark, or ASCII text in UTF-16 (a zero byte beside each character) without one. */
function looksLikeUtf16(head: Buffer): boolean {
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) return true;
  const pairs = Math.floor(head.length / 2);
  if (pairs < 4) return false;
  let zeroHalves = 0;
  for (let i = 0; i < pairs * 2; i += 2) if ((head[i] === 0) !== (head[i + 1] === 0)) zeroHalves++;
  return zeroHalves === pairs;
}

async function firstBytes(path: string, count: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(count);
    const { bytesRead } = await handle.read(buffer, 0, count, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Whether a (small, staged sample) file holds a byte. */
async function holdsByte(path: string, byte: number): Promise<boolean> {
  const { readFile } = await import('node:fs/promises');
  return (await readFile(path)).includes(byte);
}
