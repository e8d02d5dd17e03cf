import type { CsvFormat, FileStreamConfig } from '../config/resolved.js';
import { recordSelectSql, type RecordColumn } from '../engine/record-sql.js';
import { csvReaderSql, type CsvColumn, type CsvDialect } from '../engine/csv-dialect.js';
import { caseCollisions, jsonKeySql, jsonObjectsReaderSql } from '../engine/json-keys.js';
import { readerSql } from '../engine/readers.js';
import { sqlString } from '../engine/sql.js';
import { parseDuckType, type DuckType } from '../engine/types.js';
import { configError } from '../protocol/errors.js';
import type { LineForwarder } from '../protocol/forwarder.js';
import type { OutputWriter } from '../protocol/output.js';
import type { StagedFile } from '../s3/staging.js';
import type { SourceContext } from './context.js';
import { csvFileColumns } from './csv-dialect.js';
import { applyColumnCursor } from './cursor.js';
import { exportRecords, PartialExport } from './export.js';
import { s3Url } from './files.js';
import { unixLineEndingsCopy } from './line-endings.js';
import type { ProgressDisplay } from './progress.js';
import { newRejectsTable, reportRejectedRows } from './rejects.js';
import { repeatedHeaderCheck, withoutHeaders } from './repeated-headers.js';
import { engineCall, realJsonKeyColumns } from './sample.js';
import { filePass, fileStart } from './local-file.js';
import { FILE_LAST_MODIFIED_COLUMN, FILE_URL_COLUMN } from './schema.js';
import { stateError, type StreamState } from './state.js';
import { absentColumns, isAbsentColumn } from './user-schema.js';
import { checkpointEvery, type StreamPlan } from './stream-plan.js';

const TEXT: DuckType = { kind: 'primitive', name: 'VARCHAR' };
const JSON_VALUE: DuckType = { kind: 'primitive', name: 'JSON' };

/** What reading a stream's files shares: where records go, the stream, and the counts since the last STATE. */
export interface FileReadContext {
  context: SourceContext;
  out: OutputWriter;
  forwarder: LineForwarder;
  plan: StreamPlan;
  stream: FileStreamConfig;
  dialect: CsvDialect | undefined;
  state: StreamState;
  counters: { records: number; rejected: number };
  /** Prints a STATE where it is safe to (the call shape the state's throttle hooks into). */
  emitState: (final: boolean) => Promise<void>;
  progress: ProgressDisplay;
}

/**
 * The columns DuckDB reads a CSV file with: the file's own header names (mapped
 * to the catalog by name, so a file with its columns in another order cannot
 * shift values), typed as the catalog says; columns the catalog does not select
 * are read as text and not emitted. Without catalog columns, DuckDB's guesses.
 */
export async function csvReadColumns(context: SourceContext, plan: StreamPlan, format: CsvFormat, dialect: CsvDialect, staged: StagedFile): Promise<CsvColumn[]> {
  const typesFromCatalog = plan.catalogColumns.size > 0;
  // A streamed file's header is read from its staged start.
  const fileColumns = await csvFileColumns(context.engine, fileStart(staged), format, dialect, typesFromCatalog ? 1 : undefined);
  if (!typesFromCatalog) return fileColumns;
  if (plan.fillMissing === true) refuseCaseTwins(plan, fileColumns, s3Url(staged.bucket, staged.object.key));
  // Read as text, then cast to the catalog's type: a value that does not fit becomes null and is
  // reported in the record's meta.changes (NULLED), as for every format.
  return fileColumns.map((column) => ({ name: column.name, type: TEXT }));
}

/**
 * DuckDB names CSV columns without regard to case: a header "ID,id" is read as ID and id_1. An
 * input_schema naming both would get null for the renamed one, silently: refused instead.
 */
function refuseCaseTwins(plan: StreamPlan, fileColumns: CsvColumn[], url: string): void {
  const names = new Set(fileColumns.map((column) => column.name));
  for (const wanted of plan.catalogColumns.keys()) {
    if (names.has(wanted)) continue;
    const lower = wanted.toLowerCase();
    const twin = fileColumns.find((column) => column.name.toLowerCase() === lower);
    const renamed = fileColumns.some((column) => column.name.toLowerCase().startsWith(`${lower}_`) && /^[0-9]+$/.test(column.name.slice(lower.length + 1)));
    if (twin !== undefined && renamed) {
      throw configError(
        `Stream "${plan.name}": ${url} has columns that differ only in case ("${twin.name}" and "${wanted}"), which DuckDB cannot tell apart in a CSV header, so its input_schema column "${wanted}" cannot be read. Rename one of them in the file's header, or use schemaless.`,
        { streamName: plan.name },
      );
    }
  }
}

/** The file's columns the stream emits: all of them without catalog columns, else those the catalog selects, typed by it. */
export function emittedColumns(plan: StreamPlan, fileColumns: RecordColumn[]): RecordColumn[] {
  return plan.catalogColumns.size === 0
    ? fileColumns
    : [
        ...fileColumns.filter((column) => plan.catalogColumns.has(column.name)).map((column) => ({ ...column, target: plan.catalogColumns.get(column.name)! })),
        ...absentColumns(plan, fileColumns),
      ];
}

/** A line's raw JSON object; a line that is anything else fails the file, as read_json's records = true does. */
function rawObjectSql(url: string): string {
  return `CASE WHEN json_type("json") = 'OBJECT' THEN "json" ELSE error(${sqlString(`${url} has a line that is not a JSON object (JSON Lines holds one object per line)`)}) END`;
}

/**
 * A resumed file that emitted nothing: the state's offset must not lie past the file's rows. If it
 * does, the state was not written for this file, and trusting it would drop its rows silently.
 */
async function checkRowsDone(streamName: string, rowsDone: number, url: string, countRows: () => Promise<Record<string, unknown>[]>): Promise<void> {
  const [counted] = await countRows();
  const rows = Number(counted?.rows ?? 0);
  if (rows < rowsDone) {
    throw stateError(streamName, `has in_progress.rows ${rowsDone} for ${url}, which has only ${rows} rows to emit; the offset is not from this file`);
  }
}

/**
 * Reads one staged file on its own (the path for whatever a batch cannot take:
 * a column cursor, a resumed file, a file with its own columns to guess, a file
 * that failed in a batch): its own column discovery, the cursor filter,
 * repeated headers, a STATE every SOURCE_S3_CHECKPOINT_RECORDS records, the
 * retry of a file mixing line endings, and its rejected rows.
 */
export async function readFile(read: FileReadContext, staged: StagedFile): Promise<void> {
  const { context, out, forwarder, plan, stream, dialect, state, counters, emitState, progress } = read;
  const { engine, staging } = context;
  const object = staged.object;
  const url = s3Url(staged.bucket, object.key);
  const skipMalformed = stream.onError === 'skip' && stream.format.filetype === 'csv';
  const rejectsTable = skipMalformed ? newRejectsTable() : undefined;
  // JSON Lines with a catalog: the catalog's columns, each read as raw JSON and cast to its type.
  const jsonColumns = stream.format.filetype === 'jsonl' && plan.catalogColumns.size > 0 ? [...plan.catalogColumns.keys()] : undefined;
  const readerOptions = { ...(jsonColumns === undefined ? {} : { jsonColumns }) };
  const format = stream.format;
  const csvColumns = format.filetype === 'csv' ? await csvReadColumns(context, plan, format, dialect!, staged) : undefined;
  const readers = (path: string) =>
    csvColumns === undefined
      ? {
          reader: readerSql(path, format, { ...readerOptions, ...(rejectsTable === undefined ? {} : { rejectsTable }) }),
          lenientReader: readerSql(path, format, { ...readerOptions, ignoreErrors: skipMalformed }),
        }
      : {
          reader: csvReaderSql(path, dialect!, csvColumns, rejectsTable === undefined ? {} : { rejectsTable }),
          lenientReader: csvReaderSql(path, dialect!, csvColumns, { ignoreErrors: skipMalformed }),
        };
  let { reader, lenientReader } = readers(staged.path);

  let columns: RecordColumn[];
  let rowObject = plan.rowObject;
  if (csvColumns !== undefined) {
    columns = emittedColumns(plan, csvColumns);
  } else if (jsonColumns !== undefined) {
    // Keys differing only in case are read by exact key (readerSql gives each line's raw object then).
    const byKey = caseCollisions(jsonColumns).length > 0;
    columns = jsonColumns.map((name) => ({ name, type: JSON_VALUE, target: plan.catalogColumns.get(name)!, ...(byKey ? { source: jsonKeySql(name) } : {}) }));
  } else if (plan.rowObject !== undefined && format.filetype === 'jsonl' && format.conversion === undefined) {
    // Schemaless JSON Lines: each line's object as written. DuckDB's guessed columns would give an
    // integer too long for BIGINT as the nearest double (12345678901234567890123 -> 1.2345678901234568e22).
    reader = lenientReader = jsonObjectsReaderSql(staged.path);
    columns = [{ name: plan.rowObject, type: JSON_VALUE, source: rawObjectSql(url) }];
    rowObject = undefined;
  } else {
    const described = await filePass(engine, staged, () => engineCall(staged, stream.format, () => engine.all(`DESCRIBE SELECT * FROM ${lenientReader}`)));
    let fileColumns: RecordColumn[] = described.map((row) => ({ name: String(row.column_name), type: parseDuckType(String(row.column_type)) }));
    // Keys differing only in case, which DuckDB renames and leaves empty: each read by its exact key, as it is.
    const realKeys = stream.format.filetype === 'jsonl' ? await realJsonKeyColumns(engine, staged, stream.format, fileColumns) : undefined;
    if (realKeys !== undefined) {
      fileColumns = realKeys.map((column) => ({ name: column.name, type: JSON_VALUE, source: jsonKeySql(column.name) }));
      reader = lenientReader = jsonObjectsReaderSql(staged.path);
    }
    columns = emittedColumns(plan, fileColumns);
  }

  let where: string | undefined;
  if (plan.cursorColumn !== undefined) {
    const cursor = columns.find((column) => column.name === plan.cursorColumn && !isAbsentColumn(column));
    if (cursor === undefined) {
      throw configError(`${url} has no column "${plan.cursorColumn}", the cursor of stream "${plan.name}". Every file of an incremental stream with a column cursor needs that column.`, {
        streamName: plan.name,
      });
    }
    where = await applyColumnCursor(engine, state, cursor, lenientReader, (work) => filePass(engine, staged, () => engineCall(staged, stream.format, work)));
  }

  where = await leaveOutRepeatedHeaders(read, csvColumns, lenientReader, staged, where);
  const skipRows = state.rowsDone(object);
  let emitted = 0;
  const emit = async (fromReader: string, done: number) => {
    const select = recordSelectSql({
      stream: plan.name,
      reader: fromReader,
      columns,
      constants: { [FILE_URL_COLUMN]: url, [FILE_LAST_MODIFIED_COLUMN]: object.lastModified.toISOString() },
      emittedAt: Date.now(),
      ...(where === undefined ? {} : { where }),
      ...(done > 0 ? { offset: done } : {}),
      ...(rowObject === undefined ? {} : { rowObject }),
    });
    let checkpointed = 0;
    let shown = 0;
    try {
      const result = await exportRecords(engine, staging, forwarder, select, {
        checkpointEvery: checkpointEvery(),
        checkpoint: async (lines) => {
          counters.records += lines - checkpointed;
          checkpointed = lines;
          state.markProgress(object, done + lines);
          await emitState(false);
        },
        progress: (lines) => {
          progress.update({ rows: lines - shown });
          shown = lines;
        },
      });
      counters.records += result.lines - checkpointed;
      emitted += result.lines;
    } catch (error) {
      if (error instanceof PartialExport) counters.records += error.lines - checkpointed;
      throw error;
    }
  };
  // DuckDB's strict parser takes one line ending per file: a file mixing CRLF and LF is read again
  // from a copy with LF only (a streamed file: through LF), from the first row not yet emitted.
  const emitAnyLineEndings = async () => {
    try {
      await filePass(engine, staged, () => emit(reader, skipRows));
    } catch (error) {
      if (csvColumns === undefined || !(error instanceof PartialExport) || !/state machine reached an invalid state/i.test(error.message)) throw error;
      const copy = await unixLineEndingsCopy(staged);
      if (copy === undefined) throw error;
      await filePass(engine, staged, () => emit(readers(copy).reader, skipRows + error.lines)).catch((again: unknown) => {
        throw new Error((again instanceof Error ? again.message : String(again)).split(copy).join(staged.path));
      });
    }
  };
  await engineCall(staged, format, emitAnyLineEndings);
  if (skipRows > 0 && emitted === 0) {
    await checkRowsDone(plan.name, skipRows, url, () =>
      filePass(engine, staged, () => engineCall(staged, stream.format, () => engine.all(`SELECT count(*) AS "rows" FROM ${lenientReader}${where === undefined ? '' : ` WHERE ${where}`}`))),
    );
  }

  if (rejectsTable !== undefined) counters.rejected += await reportRejectedRows(engine, out, rejectsTable, () => url);
}

/**
 * Repeated header lines of a file read with text columns: none, or they fail
 * the stream, or with on_error skip they are left out and counted.
 */
async function leaveOutRepeatedHeaders(read: FileReadContext, columns: CsvColumn[] | undefined, reader: string, staged: StagedFile, where: string | undefined): Promise<string | undefined> {
  const { context, out, stream, dialect, counters, plan } = read;
  const check = repeatedHeaderCheck(dialect, columns, [...plan.catalogColumns.values()]);
  if (check.kind === 'none') return where;
  if (check.kind === 'leave-out') return withoutHeaders(check.isHeader, where);
  const [row] = await filePass(context.engine, staged, () => engineCall(staged, stream.format, () => context.engine.all(`SELECT count(*) AS "n" FROM ${reader} WHERE ${check.isHeader}`)));
  const repeated = Number(row?.n ?? 0);
  if (repeated === 0) return where;
  const url = s3Url(staged.bucket, staged.object.key);
  if (stream.onError !== 'skip') {
    throw configError(`${url} could not be read as CSV: its header line comes again ${repeated} time${repeated === 1 ? '' : 's'} among its rows (exports concatenated?). Remove the repeated header lines; to leave them out (counted), set the stream's on_error to skip.`);
  }
  counters.rejected += repeated;
  await out.log('WARN', `Skipped ${repeated} repeated header line${repeated === 1 ? '' : 's'} of ${url}.`);
  return withoutHeaders(check.isHeader, where);
}
