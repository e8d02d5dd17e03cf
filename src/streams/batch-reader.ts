import { join } from 'node:path';
import { csvReaderSql, type CsvColumn } from '../engine/csv-dialect.js';
import { readerSql } from '../engine/readers.js';
import { recordSelectSql } from '../engine/record-sql.js';
import { sqlIdentifier, sqlStringList } from '../engine/sql.js';
import { ConnectorError } from '../protocol/errors.js';
import { localFileName, type StagedFile } from '../s3/staging.js';
import type { BatchShape } from './batch-shape.js';
import { exportRecords, PartialExport } from './export.js';
import { readFile, type FileReadContext } from './file-reader.js';
import { s3Url } from './files.js';
import { newRejectsTable, reportRejectedRows } from './rejects.js';
import { repeatedHeaderCheck, withoutHeaders } from './repeated-headers.js';
import { duckdbDetail, isOwnSqlError, withoutRowText } from './sample.js';
import { FILE_LAST_MODIFIED_COLUMN, FILE_URL_COLUMN } from './schema.js';
import { checkpointEvery } from './stream-plan.js';

/** A file of a batch: its place in the stream's read order, and whether it has rows at all. */
export interface BatchMember {
  index: number;
  staged: StagedFile;
  /** Empty (only white space): synced with the batch, never given to DuckDB. */
  blank: boolean;
}

/** Consecutive files (in read order) of one shape, read by one DuckDB query. */
export interface Batch {
  shape: BatchShape;
  members: BatchMember[];
  bytes: number;
}

/**
 * Where a file of the stream is staged when it may be read in a batch: named by its place in the
 * read order, so DuckDB's filename column tells each row's file. The key's own name follows (its
 * extension tells DuckDB the compression), made safe as the staging area makes local names.
 */
export function batchStagedPath(stagingDir: string, streamSequence: number, index: number, key: string): string {
  return join(stagingDir, `batch-${streamSequence}`, `${index}-${localFileName(key)}`);
}

/**
 * Reads a batch with one query: rows come out file by file in read order, each
 * with its own file's _ab_source_file_url and _ab_source_file_last_modified.
 * After it, every file of the batch is synced and one STATE may be printed (an
 * interrupted batch is read again whole: duplicates, never a lost row).
 *
 * A query that fails part-way (a malformed row, a repeated header, mixed line
 * endings) emitted whole files up to some file: those are synced, that file
 * goes through the per-file path from the row reached (which fixes what it can
 * and reports the rest naming the file), and the files after it make a batch
 * again.
 */
export async function readBatch(read: FileReadContext, batch: Batch): Promise<void> {
  const { state, progress, emitState } = read;
  let members = batch.members;
  while (members.length > 0) {
    const readable = members.filter((member) => !member.blank);
    const done = (count: number) => {
      for (const member of members.slice(0, count)) {
        state.markSynced(member.staged.object);
        progress.update({ files: 1, bytes: member.staged.object.size });
      }
      members = members.slice(count);
    };
    if (readable.length === 0) {
      done(members.length);
      break;
    }
    // Every SOURCE_S3_CHECKPOINT_RECORDS records, the files before the one being emitted are whole: synced, and a STATE.
    const reached = async (member: BatchMember) => {
      const before = members.indexOf(member);
      if (before <= 0) return;
      done(before);
      await emitState(false);
    };
    // One file gains nothing from a batch, and read alone it gets checkpoints inside it.
    const failed = readable.length === 1 ? { file: 0, rowsEmitted: 0 } : await emitBatch(read, batch.shape, readable, reached);
    if (failed === undefined) {
      done(members.length);
      break;
    }
    const boundary = members.indexOf(readable[failed.file]!);
    done(boundary);
    const file = members[0]!;
    if (failed.rowsEmitted > 0) state.markProgress(file.staged.object, failed.rowsEmitted);
    // A safe point: the files before are whole, and the position in this one is what reached stdout.
    // If the per-file read then fails too, this state is printed (held back or not), so a resumed
    // sync does not emit those files again.
    await emitState(false);
    await readFile(read, file.staged);
    done(1);
    await emitState(false);
  }
  await emitState(false);
}

/** The reader of the batch's query over `paths` (or one file's, to count its rows). */
function batchReader(read: FileReadContext, shape: BatchShape, paths: string[], filenameColumn: string, rejectsTable?: string): string {
  const { stream, dialect, plan } = read;
  const format = stream.format;
  if (format.filetype === 'csv') {
    const skipMalformed = stream.onError === 'skip';
    const options = rejectsTable !== undefined ? { rejectsTable } : { ignoreErrors: skipMalformed };
    return csvReaderSql(paths, dialect!, shape.read as CsvColumn[], { ...options, filenameColumn });
  }
  return readerSql(paths, format, { filenameColumn, ...(format.filetype === 'jsonl' ? { jsonColumns: [...plan.catalogColumns.keys()] } : {}) });
}

/** A name for DuckDB's filename column that no column of the files has (names are compared as DuckDB does, ignoring case). */
function filenameColumnFor(shape: BatchShape): string {
  const taken = new Set(shape.read.map((column) => column.name.toLowerCase()));
  let name = 'source_s3_staged_file';
  while (taken.has(name)) name = `_${name}`;
  return name;
}

/**
 * The row filter of a batch: repeated CSV headers left out when typed columns would have failed
 * on them anyway; where the per-file path counts them (text columns), one fails the query on
 * purpose, and the per-file path takes that file from there.
 */
function batchWhere(read: FileReadContext, shape: BatchShape): { emit?: string; count?: string } {
  const check = repeatedHeaderCheck(read.dialect, read.stream.format.filetype === 'csv' ? (shape.read as CsvColumn[]) : undefined, [...read.plan.catalogColumns.values()]);
  if (check.kind === 'none') return {};
  if (check.kind === 'leave-out') return { emit: withoutHeaders(check.isHeader, undefined), count: withoutHeaders(check.isHeader, undefined) };
  return { emit: `CASE WHEN ${check.isHeader} THEN error('a repeated header line') ELSE true END` };
}

/**
 * Emits the batch's records with one COPY. Undefined when every file was read;
 * otherwise the file (index into `files`) the query stopped in, and how many of
 * its rows had reached stdout.
 */
async function emitBatch(
  read: FileReadContext,
  shape: BatchShape,
  files: BatchMember[],
  reached: (file: BatchMember) => Promise<void>,
): Promise<{ file: number; rowsEmitted: number } | undefined> {
  const { context, out, forwarder, plan, stream, counters, progress } = read;
  const { engine, staging } = context;
  const filenameColumn = filenameColumnFor(shape);
  const first = files[0]!.index;
  const slots: (BatchMember | undefined)[] = Array.from({ length: files[files.length - 1]!.index - first + 1 }, () => undefined);
  for (const file of files) slots[file.index - first] = file;
  // The row's file: its place in the read order, from its staged name (batch-N/<index>-<name>).
  const slot = `(CAST(regexp_extract(${sqlIdentifier(filenameColumn)}, '/([0-9]+)-[^/]*$', 1) AS BIGINT) - ${first} + 1)`;
  const perFile = (value: (member: BatchMember) => string) => `${sqlStringList(slots.map((member) => (member === undefined ? '' : value(member))))}[${slot}]`;
  const skipMalformed = stream.onError === 'skip' && stream.format.filetype === 'csv';
  const rejectsTable = skipMalformed ? newRejectsTable() : undefined;
  const where = batchWhere(read, shape);
  const select = recordSelectSql({
    stream: plan.name,
    reader: batchReader(
      read,
      shape,
      files.map((file) => file.staged.path),
      filenameColumn,
      rejectsTable,
    ),
    columns: shape.columns,
    constants: {},
    computed: {
      [FILE_URL_COLUMN]: perFile((member) => s3Url(member.staged.bucket, member.staged.object.key)),
      [FILE_LAST_MODIFIED_COLUMN]: perFile((member) => member.staged.object.lastModified.toISOString()),
    },
    emittedAt: Date.now(),
    ...(where.emit === undefined ? {} : { where: where.emit }),
    ...(plan.rowObject === undefined ? {} : { rowObject: plan.rowObject }),
  });
  const urlOfPath = new Map(files.map((file) => [file.staged.path, s3Url(file.staged.bucket, file.staged.object.key)]));
  const byUrl = new Map(files.map((file) => [s3Url(file.staged.bucket, file.staged.object.key), file]));
  let shown = 0;
  let counted = 0;
  let lines: number;
  let failure: PartialExport | undefined;
  try {
    lines = (
      await exportRecords(engine, staging, forwarder, select, {
        checkpointEvery: checkpointEvery(),
        checkpoint: async (total, lastLine) => {
          const file = byUrl.get(fileUrlOfRecord(lastLine) ?? '');
          if (file === undefined) return;
          counters.records += total - counted;
          counted = total;
          await reached(file);
        },
        progress: (total) => {
          progress.update({ rows: total - shown });
          shown = total;
        },
      })
    ).lines;
  } catch (error) {
    if (!(error instanceof PartialExport)) throw error;
    const detail = error.message;
    // An error in our own SQL is our bug: reading file by file would hide it (and be slow).
    if (isOwnSqlError(detail)) {
      throw new ConnectorError('system_error', `Unexpected error in the connector's query over a batch of ${files.length} files of stream "${plan.name}"`, {
        internalMessage: withoutRowText(duckdbDetail(detail, [...urlOfPath])),
        streamName: plan.name,
      });
    }
    // Told to stop (SIGTERM): no file is to blame, and nothing more is read.
    if (/interrupt/i.test(detail)) throw error;
    failure = error;
    lines = error.lines;
  }
  counters.records += lines - counted;
  if (failure === undefined) {
    if (rejectsTable !== undefined) counters.rejected += await reportRejectedRows(engine, out, rejectsTable, (path) => urlOfPath.get(path));
    return undefined;
  }
  const stop = await stoppedAt(read, shape, files, filenameColumn, where.count, lines);
  if (rejectsTable !== undefined) {
    // Rows left out of the files read whole are theirs; the stopped file and those after are read again.
    const readWhole = new Map(files.slice(0, stop.file).map((file) => [file.staged.path, urlOfPath.get(file.staged.path)!]));
    counters.rejected += await reportRejectedRows(engine, out, rejectsTable, (path) => readWhole.get(path));
  }
  return stop;
}

/**
 * The file a failed batch query stopped in, from the number of its records that reached stdout
 * (a prefix, in file order): each file's rows are counted as the batch read them until the count
 * reaches that number. A file that cannot be counted is the one it stopped in.
 */
async function stoppedAt(read: FileReadContext, shape: BatchShape, files: BatchMember[], filenameColumn: string, where: string | undefined, lines: number): Promise<{ file: number; rowsEmitted: number }> {
  let counted = 0;
  let before = 0;
  for (let file = 0; file < files.length; file++) {
    if (counted >= lines) return { file, rowsEmitted: 0 };
    before = counted;
    let rows: number | undefined;
    try {
      const reader = batchReader(read, shape, [files[file]!.staged.path], filenameColumn);
      const [row] = await read.context.engine.all(`SELECT count(*) AS "rows" FROM ${reader}${where === undefined ? '' : ` WHERE ${where}`}`);
      rows = Number(row?.rows ?? 0);
    } catch {
      rows = undefined;
    }
    if (rows === undefined || counted + rows > lines) return { file, rowsEmitted: lines - counted };
    counted += rows;
  }
  // Every file counted fewer rows than were emitted: the last one is read again from where it was.
  return { file: files.length - 1, rowsEmitted: Math.max(0, lines - before) };
}

const URL_FIELD = Buffer.from(`"${FILE_URL_COLUMN}":"`);

/**
 * The _ab_source_file_url of a RECORD line as DuckDB wrote it. The file columns come after the
 * data columns, and inside a JSON string every quote is escaped, so the last `"<name>":"` is ours.
 */
export function fileUrlOfRecord(line: Buffer): string | undefined {
  const at = line.lastIndexOf(URL_FIELD);
  if (at < 0) return undefined;
  const start = at + URL_FIELD.length;
  for (let end = start; end < line.length; end++) {
    if (line[end] === 0x5c) end++;
    else if (line[end] === 0x22) return JSON.parse(line.subarray(start - 1, end + 1).toString('utf8')) as string;
  }
  return undefined;
}
