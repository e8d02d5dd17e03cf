import { fileTypeName, type FileFormat } from '../engine/formats.js';
import type { Engine, Row } from '../engine/engine.js';
import { jsonKeysSql, mayHaveRenamedKeys, withRealKeys } from '../engine/json-keys.js';
import { readerSql } from '../engine/readers.js';
import { recordCut, type RecordCut } from '../engine/record-boundary.js';
import { sqlIdentifier, sqlString } from '../engine/sql.js';
import { formatDuckType, parseDuckType, type DuckType } from '../engine/types.js';
import { configError, ConnectorError } from '../protocol/errors.js';
import { OutputClosedError } from '../protocol/fd-write.js';
import type { Bucket } from '../s3/bucket.js';
import type { S3Object } from '../s3/settings.js';
import type { StagedFile, StagingArea } from '../s3/staging.js';
import { stageConvertedSample } from './converted-file.js';
import { s3Url } from './files.js';
import { settings } from '../settings.js';

/** Text sample size for CSV / JSON Lines: SOURCE_S3_SAMPLE_BYTES, default 1 MiB. */
export function sampleBytes(): number {
  return settings().sampleBytes;
}

/** A first Parquet row group larger than this is not fetched for `check`: SOURCE_S3_SAMPLE_ROW_GROUP_BYTES, default 64 MiB. */
export function maxSampleRowGroupBytes(): number {
  return settings().sampleRowGroupBytes;
}
const PARQUET_TAIL_GUESS = 64 << 10;
const PARQUET_MAGIC = 'PAR1';

export interface FileSample {
  staged: StagedFile;
  /** True when rows can be read from the staged sample (false: Parquet footer only). */
  hasRows: boolean;
  /** Why rows were not staged, when rows were asked for. */
  rowsSkipped?: string;
  /** The columns a converted file declares (Avro's writer schema): taken as they are, not inferred. */
  declaredColumns?: ColumnInfo[];
}

/**
 * Stages a bounded sample of an object: the first records of a text file, or
 * the footer of a Parquet file, plus its first row group when `rows` is asked
 * for and the group is small.
 */
export async function stageSample(
  bucket: Bucket,
  staging: StagingArea,
  engine: Engine,
  object: S3Object,
  format: FileFormat,
  options: { rows: boolean; at?: string } = { rows: true },
): Promise<FileSample> {
  if (format.conversion !== undefined) return await stageConvertedSample(bucket, staging, format.conversion, object);
  if (format.filetype !== 'parquet') {
    const url = s3Url(bucket.name, object.key);
    return { staged: await staging.head(bucket, object, sampleBytes(), (sample, lastTry) => sampleCut(sample, format, url, lastTry)), hasRows: true };
  }
  const url = s3Url(bucket.name, object.key);
  if (object.size < 12) throw configError(`${url} is not a Parquet file: it is only ${object.size} bytes long.`);
  let tailStart = Math.max(0, object.size - PARQUET_TAIL_GUESS);
  let tail = await bucket.readRange(object, tailStart, object.size - 1);
  if (tail.subarray(tail.length - 4).toString('latin1') !== PARQUET_MAGIC) {
    throw configError(`${url} is not a Parquet file (no PAR1 marker at its end). Check the stream's globs and format.`);
  }
  const footerLength = tail.readUInt32LE(tail.length - 8);
  const footerStart = object.size - 8 - footerLength;
  if (footerStart < 4) throw configError(`${url} is not a valid Parquet file: its footer length is larger than the file.`);
  const staged = await staging.sparse(bucket, object, options.at);
  staged.bytesFetched += tail.length;
  if (footerStart < tailStart) {
    const rest = await bucket.readRange(object, footerStart, tailStart - 1);
    staged.bytesFetched += rest.length;
    tail = Buffer.concat([rest, tail]);
    tailStart = footerStart;
  }
  await staging.write(staged, 0, Buffer.from(PARQUET_MAGIC, 'latin1'));
  await staging.write(staged, tailStart, tail);
  if (!options.rows) return { staged, hasRows: false };
  const firstGroup = await firstRowGroupRange(engine, staged);
  // No row group: an empty file, whose rows (none) DuckDB reads from the footer alone.
  if (firstGroup === undefined) return { staged, hasRows: true };
  const groupBytes = firstGroup.end - firstGroup.start + 1;
  if (groupBytes > maxSampleRowGroupBytes()) {
    return { staged, hasRows: false, rowsSkipped: `its first row group is ${Math.round(groupBytes / (1 << 20))} MiB, more than a sample may fetch` };
  }
  if (firstGroup.start < 4 || firstGroup.end >= footerStart) {
    return { staged, hasRows: false, rowsSkipped: 'its footer gives row group offsets outside the data area' };
  }
  await staging.fill(bucket, staged, firstGroup);
  return { staged, hasRows: true };
}

/** A quote still open this far before the sample's end, and this many times further than the longest record, is suspect. */
const OPEN_QUOTE_TAIL_BYTES = 64 << 10;
const OPEN_QUOTE_RECORD_FACTOR = 4;

/**
 * Where a text sample is cut. A sample that ends inside a quoted field is cut
 * before that record, which is right for a multi-line field running past the
 * end, but would hide a stray quote from check (the rows after it are never
 * parsed). So when the open quote leaves more than 64 KiB uncut, and over 4
 * times the longest whole record of the sample, the sample grows (0 asks for
 * more): a legitimately long field closes in a larger sample, a stray quote
 * gets parsed (and fails, naming its line) once the sample holds the whole
 * file. At the largest sample the quote is reported, with its line.
 */
function sampleCut(sample: Buffer, format: FileFormat, url: string, lastTry: boolean): number {
  const cut = recordCut(sample, format);
  if (cut.openQuote === undefined || !isSuspectOpenQuote(cut, sample.length)) return cut.end;
  if (!lastTry) return 0;
  throw configError(`${url} could not be read as CSV: ${unclosedQuoteReason(cut.openQuote.line, sample.length)}`);
}

/** Whether a quote open at the end of `length` bytes opened too far back to be a normal record running on. */
export function isSuspectOpenQuote(cut: RecordCut, length: number): boolean {
  const tail = length - cut.end;
  return cut.openQuote !== undefined && tail > OPEN_QUOTE_TAIL_BYTES && tail > OPEN_QUOTE_RECORD_FACTOR * cut.longestRecord;
}

/** An unclosed quote, said as for a row: at the end of the file (`scanned` undefined), or within its first `scanned` bytes. */
export function unclosedQuoteReason(line: number, scanned?: number): string {
  const what =
    scanned === undefined ? `line ${line} has a quoted field that is never closed` : `a quote opened at line ${line} is not closed within the first ${scanned} bytes`;
  return `${what} (a stray quote, or a file cut off mid-row). ${QUOTING_FIX}.`;
}

/** Byte range of the first row group's column chunks, from the staged footer. */
async function firstRowGroupRange(engine: Engine, staged: StagedFile): Promise<{ start: number; end: number } | undefined> {
  const path = staged.path;
  const rows = await engineCall(staged, { filetype: 'parquet' }, () =>
    engine.all(
      `WITH chunks AS (
         -- Some writers store 0 for "no dictionary page"; only offsets past the PAR1 header are real.
         SELECT CASE WHEN dictionary_page_offset >= 4 THEN least(dictionary_page_offset, data_page_offset) ELSE data_page_offset END AS chunk_start,
                total_compressed_size
         FROM parquet_metadata(${sqlString(path)}) WHERE row_group_id = 0)
       SELECT min(chunk_start) AS first_byte, max(chunk_start + total_compressed_size) AS end_byte FROM chunks`,
    ),
  );
  const first = rows[0];
  if (first === undefined || first.first_byte === null || first.end_byte === null) return undefined;
  return { start: Number(first.first_byte), end: Number(first.end_byte) - 1 };
}

export interface ColumnInfo {
  name: string;
  type: string;
}

/** Column names and DuckDB types of a staged sample. */
export async function describeSample(engine: Engine, sample: FileSample, format: FileFormat): Promise<ColumnInfo[]> {
  if (sample.declaredColumns !== undefined) return sample.declaredColumns;
  const rows = await engineCall(sample.staged, format, () => engine.all(`DESCRIBE SELECT * FROM ${readerSql(sample.staged.path, format)}`));
  const columns = rows.map((row) => ({ name: String(row.column_name), type: String(row.column_type) }));
  return format.filetype === 'jsonl' ? withRealJsonKeys(engine, sample, format, await nullOnlyJsonColumnsAsNull(engine, sample, format, columns)) : columns;
}

/** Keys differing only in case ("Name", "name"), which DuckDB names "Name", "name_1": named as in the file. */
async function withRealJsonKeys(engine: Engine, sample: FileSample, format: FileFormat, columns: ColumnInfo[]): Promise<ColumnInfo[]> {
  const typed = columns.map((column) => ({ name: column.name, type: parseDuckType(column.type) }));
  const real = await realJsonKeyColumns(engine, sample.staged, format, typed);
  return real === undefined ? columns : real.map((column) => ({ name: column.name, type: formatDuckType(column.type) }));
}

/**
 * A JSON Lines file's columns named by their real keys when DuckDB renamed keys that differ only in
 * case ("name" -> "name_1"); undefined when it renamed none. Used by discover and by read.
 */
export async function realJsonKeyColumns<T extends { name: string; type: DuckType }>(engine: Engine, staged: StagedFile, format: FileFormat, columns: T[]): Promise<{ name: string; type: DuckType }[] | undefined> {
  if (!mayHaveRenamedKeys(columns.map((column) => column.name))) return undefined;
  const keys = await engineCall(staged, format, () => engine.all(jsonKeysSql(staged.path)));
  return withRealKeys(columns, keys.map((row) => String(row.k)));
}

/**
 * DuckDB types a JSON Lines field that is null on every sampled line as JSON, the same type it
 * gives a field of mixed kinds; also inside objects (STRUCT(a JSON)). Such a field says nothing
 * about its type, so it becomes NULL and another file's type wins when schemas merge (a boolean
 * column stays boolean, not "any"). Fields inside lists and maps are left as DuckDB typed them.
 */
async function nullOnlyJsonColumnsAsNull(engine: Engine, sample: FileSample, format: FileFormat, columns: ColumnInfo[]): Promise<ColumnInfo[]> {
  const types = columns.map((column) => parseDuckType(column.type));
  const leaves = types.flatMap((type, index) => jsonLeaves(type, [columns[index]!.name]));
  if (leaves.length === 0) return columns;
  const access = (path: string[]) => path.slice(1).reduce((sql, field) => `struct_extract(${sql}, ${sqlString(field)})`, sqlIdentifier(path[0]!));
  const counts = leaves.map((path, index) => `count(${access(path)}) AS c${index}`).join(', ');
  const [row] = await engineCall(sample.staged, format, () => engine.all(`SELECT ${counts} FROM ${readerSql(sample.staged.path, format)}`));
  const nullOnly = leaves.filter((_, index) => Number(row?.[`c${index}`] ?? 1) === 0);
  if (nullOnly.length === 0) return columns;
  return columns.map((column, index) => {
    const paths = nullOnly.filter((path) => path[0] === column.name).map((path) => path.slice(1));
    return paths.length === 0 ? column : { ...column, type: formatDuckType(paths.reduce(asNullAt, types[index]!)) };
  });
}

/** Paths (column, then struct fields) to the JSON-typed values reachable through structs only. */
function jsonLeaves(type: DuckType, path: string[]): string[][] {
  if (type.kind === 'primitive' && type.name === 'JSON') return [path];
  if (type.kind === 'struct') return type.fields.flatMap((field) => jsonLeaves(field.type, [...path, field.name]));
  return [];
}

function asNullAt(type: DuckType, path: string[]): DuckType {
  if (path.length === 0) return { kind: 'primitive', name: 'NULL' };
  if (type.kind !== 'struct') return type;
  return { kind: 'struct', fields: type.fields.map((field) => (field.name === path[0] ? { ...field, type: asNullAt(field.type, path.slice(1)) } : field)) };
}

/** The first rows of a staged sample, parsed by DuckDB. */
export async function firstRows(engine: Engine, sample: FileSample, format: FileFormat, limit: number): Promise<Row[]> {
  return engineCall(sample.staged, format, () => engine.all(`SELECT * FROM ${readerSql(sample.staged.path, format)} LIMIT ${Math.trunc(limit)}`));
}


/**
 * DuckDB's error for the logs (check's LOG, a TRACE's internal_message) without the row it quotes:
 * "Original Line:" can run over many lines of a multi-line quoted record, and rows may hold
 * personal data. The user's message quotes at most 80 characters of the row instead.
 */
export function withoutRowText(detail: string): string {
  const at = detail.search(/Original Line:/i);
  const kept = at < 0 ? detail : `${detail.slice(0, at)}(the row's text is left out)`;
  return kept.length > 1000 ? `${kept.slice(0, 1000)}...` : kept;
}

/**
 * DuckDB's message about local files, as the user may see it: each local path written as its S3
 * URL, and no line longer than 200 characters (DuckDB quotes whole rows, "Original Line: ...", and
 * rows may hold personal data).
 */
export function duckdbDetail(error: unknown, paths: readonly (readonly [path: string, url: string])[]): string {
  let detail = error instanceof Error ? error.message : String(error);
  for (const [path, url] of paths) detail = detail.split(path).join(url);
  return detail
    .split('\n')
    .map((line) => (line.length > 200 ? `${line.slice(0, 200)}...` : line))
    .join('\n');
}

/** An error about the connector's own SQL: its bug, never the file's. */
export function isOwnSqlError(detail: string): boolean {
  return /^(Binder|Parser|Catalog|Internal|INTERNAL|Not implemented) Error/.test(detail);
}

/** Runs DuckDB work on a staged file; a failure becomes a config_error naming the S3 object, never the local path. */
export async function engineCall<T>(staged: StagedFile, format: FileFormat, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    // stdout closed while DuckDB's records were forwarded: not the file's fault.
    if (error instanceof OutputClosedError) throw error;
    // Already said for a person (a streamed file's S3 read that failed, say): not DuckDB's to reword.
    if (error instanceof ConnectorError) throw error;
    const url = s3Url(staged.bucket, staged.object.key);
    const detail = duckdbDetail(error, [[staged.path, url]]);
    const internalMessage = withoutRowText(detail);
    // read_json with records = true, on a file with a line that is not an object: the file's fault.
    if (format.filetype === 'jsonl' && /expected records, but got non-record JSON/i.test(detail)) {
      throw configError(
        `${url} could not be read as JSON Lines: it has a line that is not a JSON object (a number, string, array or null). Each line of a JSON Lines file must be one object; fix or remove such lines, or narrow the stream's globs.`,
        { internalMessage },
      );
    }
    // Errors about our own SQL are our bug, not the file's.
    if (isOwnSqlError(detail)) {
      throw new ConnectorError('system_error', `Unexpected error in the connector's query for ${url}: ${duckdbReason(detail)}`, { internalMessage });
    }
    const csvRow = format.filetype === 'csv' ? csvRowProblem(detail) : undefined;
    if (csvRow !== undefined) throw configError(`${url} could not be read as CSV: ${csvRow}`, { internalMessage });
    throw configError(`${url} could not be read as ${fileTypeName(format)}: ${duckdbReason(detail)}. ${remedy(detail, format)}`, { internalMessage });
  }
}

/** File content shown in an error: enough to find the row, never much of it (rows may hold personal data). */
const SHOWN_CHARS = 80;

export function shortContent(text: string): string {
  const flat = text.replace(/[\r\n]+/g, ' ');
  return JSON.stringify(flat.length > SHOWN_CHARS ? `${flat.slice(0, SHOWN_CHARS)}...` : flat);
}

/** How a user changes the stream's quoting; the quote is never guessed, so a stray one is told, not read around. */
export const QUOTING_FIX =
  'Fields are quoted with the stream\'s format.quote_char (default ", doubled inside a field); ' +
  'if the files escape quotes with a backslash, set format.escape_char to "\\\\" (JSON for one backslash); if a quote in them is an ordinary character, set format.quote_char to "" (no quoting)';

/**
 * DuckDB's error about one CSV row, as: the line, what was expected and what
 * was found, the start of the line, and what to set. Undefined when the error
 * is not about a row.
 */
export function csvRowProblem(detail: string): string | undefined {
  const line = /CSV Error on Line: (\d+)/.exec(detail)?.[1];
  if (line === undefined) return stateMachineProblem(detail);
  const original = /Original Line: ?(.*)/.exec(detail)?.[1];
  const shown = original === undefined ? '' : ` (the line starts ${shortContent(original)})`;
  const skip = "; to leave such rows out (counted), set the stream's on_error to skip";
  const fields = /Expected Number of Columns: (\d+) Found: (\d+)/.exec(detail);
  if (fields !== null) {
    const [expected, found] = [Number(fields[1]), Number(fields[2])];
    return `line ${line} has ${found} field${found === 1 ? '' : 's'}, expected ${expected} like the header${shown}. Fix the row, or check the stream's format.delimiter and format.quote_char${skip}.`;
  }
  if (/Invalid unicode|not utf-8 encoded/i.test(detail)) {
    return `line ${line} is not valid UTF-8${shown}. Set the stream's format.encoding to the files' encoding (utf-8, utf-16 or latin-1).`;
  }
  const cast = /Error when converting column "((?:[^"]|"")*)"\. Could not convert string "((?:[^"]|"")*)" to '([^']+)'/.exec(detail);
  if (cast !== null) {
    return `line ${line}: column "${cast[1]}" holds ${shortContent(cast[2]!)}, which is not a ${cast[3]} like the rest of the column${shown}. If such values mean null, list them in the stream's format.null_values${skip}.`;
  }
  if (/unterminated quote/i.test(detail)) {
    return `line ${line} has a quoted field that is never closed (a stray quote, or a file cut off mid-row)${shown}. ${QUOTING_FIX}${skip}.`;
  }
  return `line ${line}: ${duckdbReason(detail.replace(/Original Line:.*\n?/, ''))}${shown}. Check the stream's format${skip}.`;
}

function stateMachineProblem(detail: string): string | undefined {
  if (!/state machine reached an invalid state/i.test(detail)) return undefined;
  return `it is not CSV that these format options can parse (a stray quote or escape character, or a line ending the format does not allow). Check the stream's format.delimiter. ${QUOTING_FIX}.`;
}

/**
 * The gist of a DuckDB error: its first lines, without the suggestions that
 * name DuckDB options (the user sets the stream's format, not DuckDB) and
 * without the echo of our SQL.
 */
export function duckdbReason(detail: string): string {
  const kept: string[] = [];
  for (const line of detail.split('\n')) {
    const trimmed = line.trim();
    if (/^(Possible|Try |LINE \d+:|file =|delimiter =)/i.test(trimmed)) break;
    // DuckDB also gives advice inline; its options are not the user's to set.
    const advice = /\s(Possible (fixes|solutions?)|Try increasing|Consider)\b/i.exec(trimmed);
    if (advice !== null) {
      kept.push(trimmed.slice(0, advice.index));
      break;
    }
    if (trimmed !== '') kept.push(trimmed);
  }
  return kept.join(' ').replace(/[.:\s]+$/, '');
}

/** What the user can change about it, in this connector's own options. */
function remedy(detail: string, format: FileFormat): string {
  if (format.filetype === 'csv' && /Could not convert|Error when converting/i.test(detail)) {
    return "If such values mean null, list them in the stream's format null_values; to leave such rows out, set the stream's on_error to skip.";
  }
  if (format.filetype === 'csv' && /Expected Number of Columns|too many columns|Unterminated quote/i.test(detail)) {
    return "Check the stream's format (delimiter, quote_char, escape_char); to leave malformed rows out, set the stream's on_error to skip.";
  }
  return `Check that the file is ${fileTypeName(format)} and the stream's format options match it.`;
}
