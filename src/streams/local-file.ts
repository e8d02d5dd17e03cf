import { readFile } from 'node:fs/promises';
import type { FileStreamConfig } from '../config/resolved.js';
import { isBlankText } from '../s3/content-check.js';
import type { S3Object } from '../s3/settings.js';
import type { StagedFile } from '../s3/staging.js';
import { settings } from '../settings.js';
import type { SourceContext } from './context.js';
import { stageConverted } from './converted-file.js';
import { stageSample } from './sample.js';

/**
 * Where the read path gets a file to give DuckDB, by format and size:
 * - CSV and JSON Lines from SOURCE_S3_STREAM_MIN_BYTES up (default 8 MiB) are
 *   streamed: DuckDB reads a FIFO that each pass fills from S3 (decompressed
 *   in Node), so disk use does not grow with the file; only a sample of its
 *   first records is staged, for what reads a file's start (its header).
 * - Parquet, read by random access, is staged whole, fetched with concurrent
 *   ranged GETs (SOURCE_S3_PART_BYTES each, SOURCE_S3_PARTS_IN_FLIGHT at once).
 * - A format DuckDB cannot read (Avro, Excel, documents) is staged whole and converted to JSON Lines.
 * - Everything else is downloaded whole, as before.
 * Every read of a file's `path` must go through `filePass`.
 */
export async function obtainFile(context: SourceContext, stream: FileStreamConfig, catalogColumns: number, object: S3Object): Promise<StagedFile> {
  const { bucket, staging, engine } = context;
  const format = stream.format;
  const { streamMinBytes } = settings();
  if (format.filetype === 'parquet' || format.conversion !== undefined || object.member !== undefined) return stageWhole(context, stream, object);
  if (!streamsFrom(stream, catalogColumns, object, streamMinBytes)) return staging.download(bucket, object);
  const head = (await stageSample(bucket, staging, engine, object, format)).staged;
  // A file that fits its sample, or whose first megabyte is blank (maybe all of it is: no rows), is
  // staged: the read path tells an empty file by its staged copy.
  if (head.complete || isBlankText(await readFile(head.path))) {
    await staging.release(head);
    return staging.download(bucket, object);
  }
  return staging.streamed(bucket, object, head);
}

/**
 * Stages the whole object (at `at`, when given): a Parquet object larger than SOURCE_S3_PART_BYTES
 * with concurrent ranged GETs, anything else with one GET.
 */
export function stageWhole(context: SourceContext, stream: FileStreamConfig, object: S3Object, at?: string): Promise<StagedFile> {
  const { bucket, staging } = context;
  const { partBytes, partsInFlight } = settings();
  if (stream.format.conversion !== undefined) return stageConverted(bucket, staging, stream.format.conversion, object, at);
  // A zip member is staged whole, decompressed (staging.download reads it from the zip).
  if (stream.format.filetype === 'parquet' && object.member === undefined && object.size > partBytes) return staging.downloadInParts(bucket, object, { partBytes, inFlight: partsInFlight }, at);
  return staging.download(bucket, object, at);
}

/** Whether `obtainFile` streams the object (a text file from SOURCE_S3_STREAM_MIN_BYTES up) rather than staging it. */
export function streamsFrom(stream: FileStreamConfig, catalogColumns: number, object: S3Object, streamMinBytes = settings().streamMinBytes): boolean {
  return object.size >= streamMinBytes && object.member === undefined && canStream(stream, catalogColumns);
}

/**
 * Whether a text file can be read from a FIFO. Only with the catalog's columns: reading a file's
 * own columns and types takes passes over all of it (DESCRIBE, exact number types), and
 * UTF-16 text is not cut at its line ends byte by byte.
 */
function canStream(stream: FileStreamConfig, catalogColumns: number): boolean {
  const format = stream.format;
  if (catalogColumns === 0 || format.conversion !== undefined) return false;
  return format.filetype === 'jsonl' || (format.filetype === 'csv' && format.encoding !== 'utf-16');
}

/** The file to read a file's start from: a streamed file's staged sample, or the staged file itself. */
export function fileStart(file: StagedFile): StagedFile {
  return file.head ?? file;
}

/**
 * Runs DuckDB work that reads `file` once through. For a streamed file, a pass
 * fills its FIFO meanwhile; when the pass fails (S3 gave up, the data was cut
 * off or corrupt), the query is interrupted before the FIFO closes, and the
 * pass's error is thrown whatever the query said: DuckDB never took a cut
 * body for the end of the file, and nothing it emitted came from a cut record.
 */
export async function filePass<T>(engine: { interrupt(): void }, file: StagedFile, work: () => Promise<T>): Promise<T> {
  if (file.stream === undefined) return work();
  const pass = file.stream.open(() => engine.interrupt());
  let result: { value: T } | { error: unknown };
  try {
    result = { value: await work() };
  } catch (error) {
    result = { error };
  }
  const failure = await pass.finish();
  if (failure !== undefined) throw failure;
  if ('error' in result) throw result.error;
  return result.value;
}
