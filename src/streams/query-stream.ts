import picomatch from 'picomatch';
import type { FileFormat } from '../engine/formats.js';
import { parseModelQuery, QueryRuleError, renderCheckedQuery, withFileNamesAsUrls } from '../engine/model-query.js';
import type { Row } from '../engine/engine.js';
import type { RecordColumn } from '../engine/record-sql.js';
import { sqlIdentifier } from '../engine/sql.js';
import { parseDuckType } from '../engine/types.js';
import { configError, ConnectorError } from '../protocol/errors.js';
import type { S3Object } from '../s3/settings.js';
import type { SourceContext } from './context.js';
import { lastRecordEnd } from '../engine/record-boundary.js';
import { compressionOf } from '../s3/compression.js';
import { unreadableFile, unreadableReason } from '../engine/query-unreadable.js';
import { duckdbReason, sampleBytes, stageSample } from './sample.js';
import { settings } from '../settings.js';
import { formatBytes } from '../format-bytes.js';
import { QueryWorker } from '../query-worker/query-worker.js';
import { WORKER_MEMORY_MARGIN_BYTES } from '../query-worker/memory-bound.js';
import { type QueryFolder, unstageableKey } from '../s3/query-folder.js';
import { globMatcher } from '../s3/glob-match.js';
import { withStagedNamesAsUrls } from './staged-names.js';
import { asciiLower } from '../engine/model-query-tree.js';

/**
 * A model query made ready to run in its own worker: references rewritten to
 * the staged copies in the stream's own folder. `close()` ends the worker and
 * removes the folder: call it as soon as the stream is done.
 */
export interface PreparedQuery {
  /** The rewritten SQL (verified: one SELECT, the tree that was checked), reading only staged files. */
  sql: string;
  objects: S3Object[];
  bytesFetched: number;
  /** Runs the query's SQL: a child process with its own DuckDB over `folder`. */
  worker: QueryWorker;
  folder: QueryFolder;
  /** DESCRIBE of `sql`, when preparing it already bound it. */
  described?: Row[];
  close(): Promise<void>;
}

const FORMAT_OF_READER: Record<string, FileFormat['filetype']> = {
  read_csv: 'csv',
  read_csv_auto: 'csv',
  read_parquet: 'parquet',
  parquet_scan: 'parquet',
  read_json: 'jsonl',
  read_json_auto: 'jsonl',
  read_ndjson: 'jsonl',
  read_ndjson_auto: 'jsonl',
};

function formatOf(reader: string | undefined, key: string): FileFormat['filetype'] | undefined {
  if (reader !== undefined) return FORMAT_OF_READER[reader];
  const name = key.toLowerCase().replace(/\.(gz|zst)$/, '');
  if (name.endsWith('.parquet')) return 'parquet';
  if (name.endsWith('.csv') || name.endsWith('.tsv')) return 'csv';
  if (name.endsWith('.json') || name.endsWith('.jsonl') || name.endsWith('.ndjson')) return 'jsonl';
  return undefined;
}

/** A model query's rule broken: a config_error naming the stream and the offending part. */
export function queryError(streamName: string | undefined, message: string, internalMessage?: string): ConnectorError {
  const subject = streamName === undefined ? 'The query' : `Stream "${streamName}": the model query`;
  return configError(`${subject} ${message}.`, { ...(streamName === undefined ? {} : { streamName }), ...(internalMessage === undefined ? {} : { internalMessage }) });
}

/**
 * Checks a model query's rules, lists and stages the objects it references
 * (whole files, or for `sample` bounded samples: Parquet footers, text heads)
 * into the stream's own folder, rewrites the references to the local copies,
 * and starts the worker that will run it.
 */
export async function prepareQuery(context: SourceContext, streamName: string | undefined, query: string, mode: 'full' | 'sample'): Promise<PreparedQuery> {
  const { config, bucket, staging, engine } = context;
  // Parsed and checked in the connector's own process, before any bound of the worker applies.
  if (query.length > MAX_QUERY_CHARACTERS) {
    throw queryError(streamName, `is ${query.length.toLocaleString('en-US')} characters long, more than the ${MAX_QUERY_CHARACTERS.toLocaleString('en-US')} a model query may be; list files with a glob rather than one by one`);
  }
  let parsed;
  try {
    parsed = await parseModelQuery(engine, query);
  } catch (error) {
    if (error instanceof QueryRuleError) throw queryError(streamName, error.message);
    throw error;
  }
  if (parsed.references.length === 0) throw queryError(streamName, "reads no s3:// URL; name its files with FROM 's3://bucket/path/file.parquet' or read_csv('s3://...')");

  // Every rule is checked before anything is fetched.
  const targets = parsed.references.map((reference) => {
    const match = /^s3:\/\/([^/]+)\/(.+)$/i.exec(reference.url);
    if (match === null) throw queryError(streamName, `reads "${reference.url}", which names no object; write s3://${config.bucket}/path/to/file`);
    const [, urlBucket, key] = match as unknown as [string, string, string];
    if (urlBucket !== config.bucket) throw queryError(streamName, `reads "${reference.url}" from bucket "${urlBucket}"; only the configured bucket "${config.bucket}" can be read`);
    if (key.split('/').some((segment) => segment === '..' || segment === '.')) throw queryError(streamName, `reads "${reference.url}", whose key has a . or .. segment`);
    const unreadableUrl = unreadableFile(key);
    if (unreadableUrl !== undefined) throw queryError(streamName, `reads "${reference.url}": ${unreadableReason(unreadableUrl)}`);
    if (config.pathPrefix !== '' && !key.startsWith(config.pathPrefix)) {
      throw queryError(streamName, `reads "${reference.url}", outside the configured path "${config.pathPrefix}"`);
    }
    return { reference, key };
  });

  // List everything first: the limit on what a query may stage is checked before any download.
  const planned: { reference: (typeof targets)[number]['reference']; objects: S3Object[]; filetype: FileFormat['filetype'] | undefined }[] = [];
  const objectsRead = new Map<string, { object: S3Object; filetype: FileFormat['filetype'] | undefined }>();
  for (const { reference, key } of targets) {
    const { isGlob, base } = picomatch.scan(key);
    const listPrefix = isGlob ? (base === '' ? '' : `${base}/`) : key;
    // DuckDB's glob rules (* ? [] **), in time linear in the keys listed.
    const matches = globMatcher(key);
    const objects: S3Object[] = [];
    for await (const object of bucket.list(listPrefix)) {
      // A key ending in / is a folder marker of the S3 consoles, not a file.
      if (object.key.endsWith('/')) continue;
      if ((isGlob ? matches(object.key) : object.key === key) && object.key.startsWith(config.pathPrefix)) objects.push(object);
    }
    if (objects.length === 0) throw queryError(streamName, `reads "${reference.url}", which matches no objects`);
    if (objectsRead.size + objects.length > settings().queryMaxObjects) {
      throw queryError(streamName, `references more than ${settings().queryMaxObjects.toLocaleString('en-US')} objects, the most a query may stage (SOURCE_S3_QUERY_MAX_OBJECTS); narrow its globs, or read a large prefix with a file stream`);
    }
    const filetype = formatOf(reference.reader, key);
    for (const object of objects) {
      // A glob may match what its URL did not name (s3://b/*: a zip among CSVs).
      const unreadable = unreadableFile(object.key);
      if (unreadable !== undefined) throw queryError(streamName, `reads "s3://${config.bucket}/${object.key}": ${unreadableReason(unreadable)}, or narrow the query's glob`);
      const unstageable = unstageableKey(object.key);
      if (unstageable !== undefined) throw queryError(streamName, `reads "s3://${config.bucket}/${object.key}", whose key ${unstageable}; rename the object or narrow the glob`);
      objectsRead.set(object.key, { object, filetype: objectsRead.get(object.key)?.filetype ?? filetype });
    }
    planned.push({ reference, objects, filetype });
  }
  const total = [...objectsRead.values()].reduce((sum, { object, filetype }) => sum + (mode === 'full' ? object.size : sampleSizeOf(object, filetype)), 0);
  const limit = settings().queryMaxBytes;
  if (total > limit) {
    const what = mode === 'full' ? 'of objects' : 'of samples (.zst objects and objects of no known format are staged whole)';
    throw queryError(streamName, `references ${formatBytes(total)} ${what}, more than the ${formatBytes(limit)} a query may stage (SOURCE_S3_QUERY_MAX_BYTES); narrow its globs`);
  }

  // Each object is staged once, at its key under the stream's folder; each reference is then given
  // the explicit list of the objects it matched: DuckDB's glob rules never decide which objects are read.
  const folder = staging.queryFolder(config.bucket);
  // The worker starts (Node and DuckDB load, ~0.3 s) while the objects download.
  const starting = QueryWorker.start(folder.root, streamName);
  // Failing before it is awaited (a download error), its own failure is not the one to report.
  starting.catch(() => undefined);
  let worker: QueryWorker | undefined;
  try {
    let bytesFetched = 0;
    for (const { object, filetype } of objectsRead.values()) {
      const at = folder.filePathOf(object.key);
      try {
        if (mode === 'sample' && filetype === 'parquet') {
          bytesFetched += (await stageSample(bucket, staging, engine, object, { filetype: 'parquet' }, { rows: false, at })).staged.bytesFetched;
        } else if (mode === 'sample' && filetype !== undefined && compressionOf(object.key) !== 'zstd') {
          // Text: the first records only (Node cannot write .zst samples back, so those come whole).
          const format: FileFormat = filetype === 'csv' ? { filetype: 'csv', encoding: 'utf-8', header: true, skipRows: 0 } : { filetype: 'jsonl' };
          bytesFetched += (await staging.head(bucket, object, sampleBytes(), (sample) => lastRecordEnd(sample, format), undefined, at)).bytesFetched;
        } else {
          bytesFetched += (await staging.download(bucket, object, at)).bytesFetched;
        }
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EEXIST' || code === 'EISDIR' || code === 'ENOTDIR') {
          throw queryError(streamName, `reads both an object and a folder of the same name (s3://${config.bucket}/${object.key}); narrow its glob`);
        }
        throw error;
      }
    }
    for (const { reference, objects } of planned) reference.replace(objects.map((object) => folder.queryPathOf(object.key)));
    let asWritten: string;
    let withUrls: string | undefined;
    try {
      asWritten = await renderCheckedQuery(engine, parsed);
      const rewritten = await withFileNamesAsUrls(engine, parsed);
      if (rewritten !== undefined) withUrls = await renderCheckedQuery(engine, rewritten);
    } catch (error) {
      if (error instanceof QueryRuleError) throw queryError(streamName, error.message);
      throw error;
    }
    worker = await starting;
    // The rewrite binds, or the query runs as written; either way it was bound once, and that DESCRIBE is kept.
    const probe = withUrls === undefined ? { binds: false } : await describeWithUrls(worker, withUrls);
    const sql = probe.binds ? withUrls! : asWritten;
    const described = probe.rows;
    const started = worker;
    return {
      sql,
      ...(described === undefined ? {} : { described }),
      objects: [...objectsRead.values()].map(({ object }) => object),
      bytesFetched,
      worker: started,
      folder,
      close: async () => {
        await started.close();
        await folder.remove();
      },
    };
  } catch (error) {
    await (worker ?? (await starting.catch(() => undefined)))?.close();
    await folder.remove();
    throw error;
  }
}

/**
 * Whether the query with its file names read as URLs binds, and its DESCRIBE
 * when it does. It does not when a data column called filename is not text
 * (replace() takes text only): the query then runs as written, its file names
 * shown as URLs at output only. Any other failure is the query's own, reported
 * by describeQuery with its message.
 */
async function describeWithUrls(worker: QueryWorker, sql: string): Promise<{ binds: boolean; rows?: Row[] }> {
  try {
    return { binds: true, rows: await worker.all(`DESCRIBE ${sql}`) };
  } catch (error) {
    if (error instanceof ConnectorError) throw error;
    return { binds: !/No function matches the given name and argument types 'replace\(/.test(error instanceof Error ? error.message : String(error)) };
  }
}

/** Bytes check and discover stage for an object: a bounded sample, or the whole object where no sample can be cut. */
function sampleSizeOf(object: S3Object, filetype: FileFormat['filetype'] | undefined): number {
  if (filetype === 'parquet' || (filetype !== undefined && compressionOf(object.key) !== 'zstd')) return Math.min(object.size, sampleBytes());
  return object.size;
}

/** Longest model query text: its tree is parsed, checked and rendered in the connector's own process (a 600 KB query took 3 GB there). */
const MAX_QUERY_CHARACTERS = 100_000;


/**
 * The table a model query's records are read from: its rows with every staged
 * file name (DuckDB's `filename`, `./s3://bucket/key`) shown as the object's
 * s3:// URL, at any depth of lists, structs, maps and JSON values. A select of
 * its own, so the record SQL refers to plain columns (an expression repeated
 * per field of a wide struct would grow with the square of its size).
 */
export function outputReader(prepared: PreparedQuery, columns: RecordColumn[], bucket: string): string {
  const items = columns.map((column) => {
    const identifier = sqlIdentifier(column.name);
    const mapped = withStagedNamesAsUrls(identifier, column.type, prepared.folder.queryPathOf(''), `s3://${bucket}/`);
    return mapped === undefined ? identifier : `${mapped} AS ${identifier}`;
  });
  return `(SELECT ${items.join(', ')} FROM (${prepared.sql}) AS "model_query_rows") AS "model_query"`;
}

/** The output columns of a prepared query, from DESCRIBE (binding only: nothing is executed). */
export async function describeQuery(context: SourceContext, streamName: string | undefined, prepared: PreparedQuery): Promise<RecordColumn[]> {
  const rows = prepared.described ?? (await queryCall(context, streamName, () => prepared.worker.all(`DESCRIBE ${prepared.sql}`)));
  const columns = rows.map((row) => ({ name: String(row.column_name), type: parseDuckType(String(row.column_type)) }));
  // A record is a JSON object: two columns of one name would collapse into one (DuckDB then refuses the record).
  // A JSON key may hold a NUL; no SQL identifier can, so the records could not be written.
  const withNul = columns.find((column) => column.name.includes('\u0000'));
  if (withNul !== undefined) {
    throw queryError(streamName, `has an output column whose name holds a NUL character (${JSON.stringify(withNul.name.slice(0, 40))}), which no record can carry; list the columns you need instead of SELECT *`);
  }
  // DuckDB tells names apart ignoring case (ASCII): "a" and "A" are one column to it.
  const seen = new Set<string>();
  const repeated = [...new Set(columns.map((column) => column.name).filter((name) => seen.has(asciiLower(name)) || !seen.add(asciiLower(name))))];
  if (repeated.length > 0) {
    throw queryError(streamName, `has more than one output column named ${repeated.map((name) => `"${name}"`).join(', ')} (names are compared ignoring case; a join's SELECT * repeats its keys); give each a distinct name with AS, or list the columns`);
  }
  return columns;
}

/** Runs DuckDB work on a prepared query; its errors are the query's, shown without our local paths. */
export async function queryCall<T>(context: SourceContext, streamName: string | undefined, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ConnectorError) throw error;
    let detail = error instanceof Error ? error.message : String(error);
    // Show s3:// URLs (the worker names files ./s3://...), never the staging folder.
    // Any case: error(upper(filename)) shows ./S3://...
    detail = detail.replace(/\.\/(s3:\/\/)/gi, '$1').split(context.staging.dir).join('<staging>');
    if (/Out of Memory Error/i.test(detail)) {
      throw queryError(
        streamName,
        `needs more memory than it may use (SOURCE_S3_DUCKDB_MEMORY_LIMIT ${settings().duckdbMemoryLimit}; the engine itself may use ${formatBytes(WORKER_MEMORY_MARGIN_BYTES, 'B')} more): ${duckdbReason(detail)}. Make it use less (aggregate earlier, avoid huge lists or strings) or raise SOURCE_S3_DUCKDB_MEMORY_LIMIT`,
        detail,
      );
    }
    throw queryError(streamName, `failed: ${duckdbReason(detail)}`, detail);
  }
}

