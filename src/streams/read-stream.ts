import type { CsvFormat, FileStreamConfig, StreamConfig } from '../config/resolved.js';
import { recordSelectSql, type RecordColumn } from '../engine/record-sql.js';
import { csvReaderSql, type CsvColumn, type CsvDialect } from '../engine/csv-dialect.js';
import { caseCollisions, jsonKeySql, jsonObjectsReaderSql } from '../engine/json-keys.js';
import { readerSql } from '../engine/readers.js';
import { sqlIdentifier, sqlString } from '../engine/sql.js';
import { parseDuckType, schemaShape, type DuckType, type JsonSchema } from '../engine/types.js';
import type { ConfiguredAirbyteStream } from '../generated/protocol.js';
import { ConnectorError, configError } from '../protocol/errors.js';
import type { LineForwarder } from '../protocol/forwarder.js';
import { estimateMessage, streamStatusMessage } from '../protocol/messages.js';
import type { OutputWriter } from '../protocol/output.js';
import type { S3Object } from '../s3/settings.js';
import type { StagedFile } from '../s3/staging.js';
import type { SourceContext } from './context.js';
import { csvFileColumns, decideCsvDialect } from './csv-dialect.js';
import { exportRecords, PartialExport } from './export.js';
import { unixLineEndingsCopy } from './line-endings.js';
import { s3Url, streamFiles } from './files.js';
import { applyColumnCursor } from './cursor.js';
import { StateCheckpoints } from './checkpoints.js';
import { Prefetcher } from './prefetch.js';
import { ProgressDisplay } from './progress.js';
import { engineCall, realJsonKeyColumns } from './sample.js';
import { MAX_BLANK_SAMPLES, mayBeEmpty, sampleCandidates, stageNewestWithRows } from './rows-sample.js';
import { FILE_LAST_MODIFIED_COLUMN, FILE_URL_COLUMN } from './schema.js';
import { stateError, StreamState } from './state.js';
import { settings } from '../settings.js';

/** Records between two safe points inside a file (where a STATE may be printed): SOURCE_S3_CHECKPOINT_RECORDS, default 10,000. */
export function checkpointEvery(): number {
  return settings().checkpointRecords;
}

/** Oldest first, by last-modified then key: the order files are read in, and history grows in. */
export function oldestFirst(objects: S3Object[]): S3Object[] {
  return [...objects].sort((a, b) => a.lastModified.getTime() - b.lastModified.getTime() || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export interface StreamPlan {
  name: string;
  cursorField: string;
  /** Set for a column cursor; undefined for the file cursor. */
  cursorColumn: string | undefined;
  /** The catalog's data columns (without the _ab_ ones); empty means "every column of the file". */
  catalogColumns: Map<string, JsonSchema>;
}

/** Checks the configured stream against what this stream can do, before anything is read. */
export function planStream(configured: ConfiguredAirbyteStream, stream: StreamConfig): StreamPlan {
  const name = stream.name;
  const properties = (configured.stream.json_schema.properties ?? {}) as Record<string, JsonSchema>;
  const catalogColumns = new Map(Object.entries(properties).filter(([column]) => column !== FILE_URL_COLUMN && column !== FILE_LAST_MODIFIED_COLUMN));
  const known = Object.keys(properties);
  const incremental = configured.sync_mode === 'incremental';
  const path = configured.cursor_field ?? [];
  if (incremental && path.length > 1) {
    throw configError(`Stream "${name}": cursor_field ${JSON.stringify(path)} is nested; use a top-level column.`, { streamName: name });
  }
  const cursorField = incremental && path.length === 1 ? path[0]! : FILE_LAST_MODIFIED_COLUMN;
  if (incremental && cursorField !== FILE_LAST_MODIFIED_COLUMN && !(cursorField in properties && cursorField !== FILE_URL_COLUMN)) {
    throw configError(
      `Stream "${name}": cursor_field "${cursorField}" is not a column of the stream (columns: ${known.join(', ')}). Pick a top-level column, or ${FILE_LAST_MODIFIED_COLUMN}.`,
      { streamName: name },
    );
  }
  for (const key of configured.primary_key ?? []) {
    if (key.length !== 1 || !(key[0]! in properties)) {
      throw configError(`Stream "${name}": primary_key ${JSON.stringify(key)} is not a top-level column of the stream (columns: ${known.join(', ')}).`, { streamName: name });
    }
  }
  return { name, cursorField, cursorColumn: cursorField === FILE_LAST_MODIFIED_COLUMN ? undefined : cursorField, catalogColumns };
}

/**
 * Reads one file stream: files oldest first, each emitted by DuckDB as RECORD
 * lines forwarded to stdout, with STATE after each file and every N records
 * inside a file, STREAM_STATUS around it all and an ESTIMATE before it.
 */
export async function readFileStream(
  context: SourceContext,
  out: OutputWriter,
  forwarder: LineForwarder,
  configured: ConfiguredAirbyteStream,
  stream: FileStreamConfig,
  inputState: unknown,
): Promise<void> {
  const plan = planStream(configured, stream);
  const state = StreamState.fromInput(plan.name, inputState, plan.cursorField, configured.sync_mode !== 'incremental');
  const { config, bucket, staging } = context;
  await out.write(streamStatusMessage(plan.name, 'STARTED'));

  const matching: S3Object[] = [];
  for await (const object of streamFiles(bucket, config.pathPrefix, stream, config.startDate)) matching.push(object);
  const toRead = oldestFirst(matching).filter((object) => !state.isSynced(object));
  await out.write(estimateMessage(plan.name, { bytes: toRead.reduce((total, object) => total + object.size, 0) }));
  await out.write(streamStatusMessage(plan.name, 'RUNNING'));

  const dialect = await streamCsvDialect(context, stream, matching, toRead.length > 0);
  const counters = { records: 0, rejected: 0 };
  // At every safe point; prints a STATE only when due (see StateCheckpoints), always at the end.
  const checkpoints = new StateCheckpoints(out, plan.name);
  const emitState = async (final: boolean) => {
    if (!(await checkpoints.offer(final, () => state.toBlob(final), counters))) return;
    counters.records = 0;
    counters.rejected = 0;
  };
  const progress = new ProgressDisplay(plan.name, toRead.length);
  const prefetcher = new Prefetcher(toRead, (object) => staging.download(bucket, object));
  try {
    for (let next = await prefetcher.next(); next !== undefined; next = await prefetcher.next()) {
      const { item: object, prepared: staged } = next;
      try {
        // An empty file (zero bytes, or only white space, decompressed) has no rows: nothing to emit, and it is synced.
        if (!(staged.blank && mayBeEmpty(stream.format))) {
          if (dialect === undefined && stream.format.filetype === 'csv') throw noDialectError(stream.name);
          await readFile(context, out, forwarder, plan, stream, dialect, state, staged, counters, emitState, progress);
        }
      } finally {
        await staging.release(staged);
      }
      state.markSynced(object);
      progress.update({ files: 1, bytes: object.size });
      await emitState(false);
    }
  } catch (error) {
    // The files finished before the failure stay synced: their state is printed if it was held back.
    await checkpoints.failed(() => state.toBlob(false), counters);
    throw error;
  } finally {
    for (const leftover of await prefetcher.leftovers()) await staging.release(leftover);
    progress.finish();
  }
  await emitState(true);
  await out.write(streamStatusMessage(plan.name, 'COMPLETE'));
}

/**
 * A CSV stream's dialect, decided once per read from the sample discover looks
 * at first (the newest matching file), and used for every file.
 */
async function streamCsvDialect(context: SourceContext, stream: FileStreamConfig, matching: S3Object[], needed: boolean): Promise<CsvDialect | undefined> {
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
function noDialectError(streamName: string): Error {
  return configError(
    `Stream "${streamName}": the newest ${MAX_BLANK_SAMPLES} files with content are all empty (only white space), so the stream's CSV dialect could not be taken from them. Remove the empty files, or narrow the stream's globs to leave them out.`,
    { streamName },
  );
}

/**
 * The columns DuckDB reads a CSV file with: the file's own header names (mapped
 * to the catalog by name, so a file with its columns in another order cannot
 * shift values), typed as the catalog says; columns the catalog does not select
 * are read as text and not emitted. Without catalog columns, DuckDB's guesses.
 */
async function csvReadColumns(context: SourceContext, plan: StreamPlan, format: CsvFormat, dialect: CsvDialect, staged: StagedFile): Promise<CsvColumn[]> {
  const typesFromCatalog = plan.catalogColumns.size > 0;
  const fileColumns = await csvFileColumns(context.engine, staged, format, dialect, typesFromCatalog ? 1 : undefined);
  if (!typesFromCatalog) return fileColumns;
  // Read as text, then cast to the catalog's type: a value that does not fit becomes null and is
  // reported in the record's meta.changes (NULLED), as for every format.
  return fileColumns.map((column) => ({ name: column.name, type: TEXT }));
}

const TEXT: DuckType = { kind: 'primitive', name: 'VARCHAR' };
const JSON_VALUE: DuckType = { kind: 'primitive', name: 'JSON' };

/**
 * A header line again in the middle of a file (exports concatenated) is not a
 * row. When a column is typed, it fails to parse like any malformed row; when
 * every column is text it would parse, so it is looked for: it fails the
 * stream, or with on_error skip it is left out and counted.
 */
async function leaveOutRepeatedHeaders(
  context: SourceContext,
  out: OutputWriter,
  stream: FileStreamConfig,
  dialect: CsvDialect | undefined,
  columns: CsvColumn[] | undefined,
  reader: string,
  staged: StagedFile,
  counters: { rejected: number },
  where: string | undefined,
  plan: JsonSchema[],
): Promise<string | undefined> {
  if (dialect === undefined || columns === undefined || !dialect.header || columns.length === 0) return where;
  // Columns read in DuckDB's own types (no catalog columns): a repeated header cannot parse as, say, an
  // integer, so it fails the read like any malformed row; comparing it would fail on the cast instead.
  if (!columns.every((column) => column.type.kind === 'primitive' && column.type.name === 'VARCHAR')) return where;
  const isHeader = columns.map((column) => `${sqlIdentifier(column.name)} IS NOT DISTINCT FROM ${sqlString(column.name)}`).join(' AND ');
  const withoutHeaders = `NOT (${isHeader})${where === undefined ? '' : ` AND ${where}`}`;
  // Typed catalog columns: a repeated header is left out without a second pass over the file.
  if (!plan.every((target) => schemaShape(target) === 'string::')) return withoutHeaders;
  const [row] = await engineCall(staged, stream.format, () => context.engine.all(`SELECT count(*) AS "n" FROM ${reader} WHERE ${isHeader}`));
  const repeated = Number(row?.n ?? 0);
  if (repeated === 0) return where;
  const url = s3Url(staged.bucket, staged.object.key);
  if (stream.onError !== 'skip') {
    throw configError(`${url} could not be read as CSV: its header line comes again ${repeated} time${repeated === 1 ? '' : 's'} among its rows (exports concatenated?). Remove the repeated header lines; to leave them out (counted), set the stream's on_error to skip.`);
  }
  counters.rejected += repeated;
  await out.log('WARN', `Skipped ${repeated} repeated header line${repeated === 1 ? '' : 's'} of ${url}.`);
  return withoutHeaders;
}
let rejectsSequence = 0;

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

async function readFile(
  context: SourceContext,
  out: OutputWriter,
  forwarder: LineForwarder,
  plan: StreamPlan,
  stream: FileStreamConfig,
  dialect: CsvDialect | undefined,
  state: StreamState,
  staged: StagedFile,
  counters: { records: number; rejected: number },
  emitState: (final: boolean) => Promise<void>,
  progress: ProgressDisplay,
): Promise<void> {
  const { engine, staging } = context;
  const object = staged.object;
  const url = s3Url(staged.bucket, object.key);
  const skipMalformed = stream.onError === 'skip' && stream.format.filetype === 'csv';
  const rejectsTable = skipMalformed ? `source_s3_rejects_${++rejectsSequence}` : undefined;
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
  if (csvColumns !== undefined) {
    columns =
      plan.catalogColumns.size === 0
        ? csvColumns
        : csvColumns.filter((column) => plan.catalogColumns.has(column.name)).map((column) => ({ ...column, target: plan.catalogColumns.get(column.name)! }));
  } else if (jsonColumns !== undefined) {
    // Keys differing only in case are read by exact key (readerSql gives each line's raw object then).
    const byKey = caseCollisions(jsonColumns).length > 0;
    columns = jsonColumns.map((name) => ({ name, type: JSON_VALUE, target: plan.catalogColumns.get(name)!, ...(byKey ? { source: jsonKeySql(name) } : {}) }));
  } else {
    const described = await engineCall(staged, stream.format, () => engine.all(`DESCRIBE SELECT * FROM ${lenientReader}`));
    let fileColumns: RecordColumn[] = described.map((row) => ({ name: String(row.column_name), type: parseDuckType(String(row.column_type)) }));
    // Keys differing only in case, which DuckDB renames and leaves empty: each read by its exact key, as it is.
    const realKeys = stream.format.filetype === 'jsonl' ? await realJsonKeyColumns(engine, staged, stream.format, fileColumns) : undefined;
    if (realKeys !== undefined) {
      fileColumns = realKeys.map((column) => ({ name: column.name, type: JSON_VALUE, source: jsonKeySql(column.name) }));
      reader = lenientReader = jsonObjectsReaderSql(staged.path);
    }
    columns =
      plan.catalogColumns.size === 0
        ? fileColumns
        : fileColumns.filter((column) => plan.catalogColumns.has(column.name)).map((column) => ({ ...column, target: plan.catalogColumns.get(column.name)! }));
  }

  let where: string | undefined;
  if (plan.cursorColumn !== undefined) {
    const cursor = columns.find((column) => column.name === plan.cursorColumn);
    if (cursor === undefined) {
      throw configError(`${url} has no column "${plan.cursorColumn}", the cursor of stream "${plan.name}". Every file of an incremental stream with a column cursor needs that column.`, {
        streamName: plan.name,
      });
    }
    where = await applyColumnCursor(engine, state, cursor, lenientReader, (work) => engineCall(staged, stream.format, work));
  }

  where = await leaveOutRepeatedHeaders(context, out, stream, dialect, csvColumns, lenientReader, staged, counters, where, [...plan.catalogColumns.values()]);
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
  // from a copy with LF only, from the first row not yet emitted.
  const emitAnyLineEndings = async () => {
    try {
      await emit(reader, skipRows);
    } catch (error) {
      if (csvColumns === undefined || !(error instanceof PartialExport) || !/state machine reached an invalid state/i.test(error.message)) throw error;
      const copy = await unixLineEndingsCopy(staged);
      if (copy === undefined) throw error;
      await emit(readers(copy).reader, skipRows + error.lines).catch((again: unknown) => {
        throw new Error((again instanceof Error ? again.message : String(again)).split(copy).join(staged.path));
      });
    }
  };
  await engineCall(staged, format, emitAnyLineEndings);
  if (skipRows > 0 && emitted === 0) {
    await checkRowsDone(plan.name, skipRows, url, () => engineCall(staged, stream.format, () => engine.all(`SELECT count(*) AS "rows" FROM ${lenientReader}${where === undefined ? '' : ` WHERE ${where}`}`)));
  }

  if (rejectsTable !== undefined) {
    // One row may hold several bad values: rows are counted, not errors.
    const [summary] = await engine.all(`SELECT count(DISTINCT line) AS "count", min(line) AS "line", arg_min(error_message, line) AS "reason" FROM ${sqlIdentifier(rejectsTable)}`);
    // One statement per call: the engine prepares each call as a single statement.
    await engine.run(`DROP TABLE IF EXISTS ${sqlIdentifier(rejectsTable)}`);
    await engine.run(`DROP TABLE IF EXISTS ${sqlIdentifier(`${rejectsTable}_scans`)}`);
    const rejected = Number(summary?.count ?? 0);
    if (rejected > 0) {
      counters.rejected += rejected;
      await out.log('WARN', `Skipped ${rejected} malformed row${rejected === 1 ? '' : 's'} of ${url} (first at line ${String(summary?.line)}: ${String(summary?.reason).slice(0, 160)}).`);
    }
  }
}
