import { open, rm } from 'node:fs/promises';
import { csvReaderSql, doubleColumnsDigitsSql, fullParseSql, sniffCsvSql, type CsvColumn, type CsvDialect } from '../engine/csv-dialect.js';
import type { Engine, Row } from '../engine/engine.js';
import type { CsvFormat } from '../engine/formats.js';
import { parseDuckType, type DuckType } from '../engine/types.js';
import { configError, ConnectorError } from '../protocol/errors.js';
import { unixLineEndingsCopy } from './line-endings.js';
import type { StagedFile } from '../s3/staging.js';
import { s3Url } from './files.js';
import { engineCall } from './sample.js';
import { recordCut } from '../engine/record-boundary.js';
import type { FileStreamConfig } from '../config/resolved.js';
import type { S3Object } from '../s3/settings.js';
import type { SourceContext } from './context.js';
import { MAX_BLANK_SAMPLES, sampleCandidates, stageNewestWithRows } from './rows-sample.js';

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
    const copy = await unixLineEndingsCopy(staged);
    if (copy === undefined) throw error;
    return work(copy);
  }
}

/** Characters that, found in a lone column's name, say the delimiter was wrong. */
const LIKELY_DELIMITERS = [',', ';', '\t', '|'];
const DELIMITER_NAMES: Record<string, string> = { ',': 'comma', ';': 'semicolon', '\t': 'tab', '|': 'pipe' };

/** RFC 4180's quote character, and Airbyte's default. */
const DEFAULT_QUOTE = '"';

const sniffedChar = (value: unknown): string => {
  const text = typeof value === 'string' ? value : '';
  return text === '(empty)' ? '' : text;
};

/**
 * The stream's dialect: what the format sets explicitly; the quote `"` and
 * its doubling as escape when not set; the delimiter and date formats from
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
  // Quote and escape are never taken from the sniffer: it answers "no quoting" for a sample with one
  // stray quote (and a backslash escape for a sample with \"), and either would change values in
  // every other file of the stream (literal quotes kept, C:\dir read as C:dir). RFC 4180's `"`,
  // doubled to escape itself (Airbyte's default too), unless the format says otherwise; a file that
  // does not follow it then fails on the row, naming format.quote_char and format.escape_char.
  // The delimiter is still sniffed (quote-free readings included): a wrong one fails loudly.
  const quote = format.quoteChar ?? DEFAULT_QUOTE;
  const escape = format.escapeChar ?? quote;
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
  const sniff = (file: StagedFile) => withAnyLineEndings(file, (path) => engineCall(file, format, () => engine.all(sniffCsvSql(path, dialect, sampleRows))));
  const [row] = await sniff(staged).catch(async (error: unknown) => {
    // A file ending in an unclosed quote (an upload cut off) still has its columns: sniff the whole
    // records before it; the parse then fails on that row, or skips it with on_error skip.
    const before = await beforeUnclosedQuote(staged, dialect);
    if (before !== undefined) {
      try {
        return await sniff(before);
      } catch {
        // told below, as a row error when DuckDB can name one
      } finally {
        for (const path of [before.path, ...(before.derived ?? [])]) await rm(path, { force: true });
      }
    }
    throw (await rowErrorBehindSniffFailure(engine, staged, format, dialect, error)) ?? error;
  });
  const columns = sniffedColumns(row).map((column) => ({ name: column.name, type: parseDuckType(column.type) }));
  refuseOneColumnReading(staged, columns, dialect);
  // With sampleRows the caller reads values as text and only needs the names.
  return sampleRows === undefined ? exactNumberTypes(engine, staged, format, dialect, columns) : columns;
}

/**
 * DuckDB's sniffer gives up on a file whose quote never closes ("Error when
 * sniffing file", naming no line), even with ignore_errors. Parsing it
 * strictly, every field as text, makes DuckDB name the row instead; undefined
 * when that parse passes (the sniffer failed for another reason).
 */
async function rowErrorBehindSniffFailure(engine: Engine, staged: StagedFile, format: CsvFormat, dialect: CsvDialect, error: unknown): Promise<unknown> {
  const detail = error instanceof ConnectorError ? (error.internalMessage ?? error.message) : String(error);
  if (!/Error when sniffing file/i.test(detail)) return undefined;
  const count = dialect.columnNames?.length ?? (await firstRecordFieldCount(staged.path, { ...format, quoteChar: dialect.quote, escapeChar: dialect.escape }, dialect.delimiter));
  if (count === 0) return undefined;
  const text: CsvColumn[] = Array.from({ length: count }, (_, index) => ({ name: `c${index + 1}`, type: { kind: 'primitive', name: 'VARCHAR' } }));
  try {
    await withAnyLineEndings(staged, (path) => engineCall(staged, format, () => engine.all(fullParseSql(csvReaderSql(path, { ...dialect, columnNames: undefined }, text), []))));
  } catch (rowError) {
    return rowError;
  }
  return undefined;
}

/** A copy of a staged file (up to 64 MiB) cut after its last whole record, when it ends inside an unclosed quote. */
async function beforeUnclosedQuote(staged: StagedFile, dialect: CsvDialect): Promise<StagedFile | undefined> {
  if (dialect.quote === '') return undefined;
  const { readFile, stat, writeFile } = await import('node:fs/promises');
  if ((await stat(staged.path)).size > 64 << 20) return undefined;
  const text = await readFile(staged.path);
  const cut = recordCut(text, { filetype: 'csv', encoding: dialect.encoding, header: dialect.header, skipRows: dialect.skipRows, quoteChar: dialect.quote, escapeChar: dialect.escape });
  if (cut.openQuote === undefined || cut.end === 0) return undefined;
  const path = `${staged.path}.closed.csv`;
  await writeFile(path, text.subarray(0, cut.end), { mode: 0o600 });
  return { ...staged, path, derived: [] };
}

/** Fields of the file's first line past skip_rows (its header), split as the dialect splits them. */
async function firstRecordFieldCount(path: string, format: CsvFormat, delimiter: string): Promise<number> {
  const head = await firstBytes(path, 1 << 20);
  const text = (format.encoding === 'utf-16' ? head.toString('utf16le') : head.toString(format.encoding === 'latin-1' ? 'latin1' : 'utf8')).replace(/^\uFEFF/, '');
  const lines = text.split('\n').slice(format.skipRows);
  const first = lines[0]?.replace(/\r$/, '') ?? '';
  if (first === '') return 0;
  let fields = 1;
  let inQuotes = false;
  for (const char of first) {
    if (format.quoteChar !== '' && char === format.quoteChar) inQuotes = !inQuotes;
    else if (!inQuotes && char === delimiter) fields++;
  }
  return fields;
}

const HUGEINT: DuckType = { kind: 'primitive', name: 'HUGEINT' };
const TEXT: DuckType = { kind: 'primitive', name: 'VARCHAR' };

/**
 * DuckDB's sniffer types integers past BIGINT as DOUBLE (it cannot be asked
 * for HUGEINT), which rounds 12345678901234567890 to 1.2345678901234567e19.
 * A DOUBLE column whose values are all integers is HUGEINT when they fit, text
 * past it (every digit kept); one holding a decimal with more significant
 * digits than a DOUBLE holds (0.12345678901234567890) is text too.
 */
async function exactNumberTypes(engine: Engine, staged: StagedFile, format: CsvFormat, dialect: CsvDialect, columns: CsvColumn[]): Promise<CsvColumn[]> {
  const doubles = columns.filter((column) => column.type.kind === 'primitive' && column.type.name === 'DOUBLE').map((column) => column.name);
  if (doubles.length === 0) return columns;
  const [row] = await withAnyLineEndings(staged, (path) => engineCall(staged, format, () => engine.all(doubleColumnsDigitsSql(path, dialect, columns, doubles))));
  const exact = new Map<string, DuckType>();
  doubles.forEach((name, index) => {
    const integers = row?.[`i${index}`] === true;
    if (integers) exact.set(name, row?.[`h${index}`] === true ? HUGEINT : TEXT);
    else if (row?.[`p${index}`] === true) exact.set(name, TEXT);
  });
  return columns.map((column) => ({ ...column, type: exact.get(column.name) ?? column.type }));
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

/** The first `count` bytes of a local file (fewer when it is shorter). */
export async function firstBytes(path: string, count: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(count);
    const { bytesRead } = await handle.read(buffer, 0, count, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * A CSV stream's dialect for a read, decided once from the sample discover
 * looks at first (the newest matching file with rows), and used for every
 * file; undefined when it is not needed or no file has rows.
 */
export async function streamCsvDialect(context: SourceContext, stream: FileStreamConfig, matching: S3Object[], needed: boolean): Promise<CsvDialect | undefined> {
  if (stream.format.filetype !== 'csv' || !needed) return undefined;
  const { staging, engine } = context;
  // Empty files have no dialect: the newest file with rows decides (undefined when none has: nothing to parse).
  const { found } = await stageNewestWithRows(context, sampleCandidates(matching, stream.format), stream.format, { rows: false });
  if (found === undefined) return undefined;
  const sample = found.sample;
  try {
    return await decideCsvDialect(engine, sample.staged, stream.format);
  } catch (error) {
    throw error instanceof ConnectorError ? error.withStream(stream.name) : error;
  } finally {
    await staging.release(sample.staged);
  }
}

/** A file with rows to read when the newest files the dialect is taken from were all empty (past MAX_BLANK_SAMPLES). */
export function noDialectError(streamName: string): Error {
  return configError(
    `Stream "${streamName}": the newest ${MAX_BLANK_SAMPLES} files with content are all empty (only white space), so the stream's CSV dialect could not be taken from them. Remove the empty files, or narrow the stream's globs to leave them out.`,
    { streamName },
  );
}
