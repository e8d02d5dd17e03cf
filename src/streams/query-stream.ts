import picomatch from 'picomatch';
import type { FileFormat } from '../engine/formats.js';
import { parseModelQuery, QueryRuleError, renderCheckedQuery } from '../engine/model-query.js';
import type { RecordColumn } from '../engine/record-sql.js';
import { sqlIdentifier, sqlString } from '../engine/sql.js';
import { parseDuckType } from '../engine/types.js';
import { configError, ConnectorError } from '../protocol/errors.js';
import type { S3Object } from '../s3/settings.js';
import type { SourceContext } from './context.js';
import { lastRecordEnd } from '../engine/record-boundary.js';
import { compressionOf } from '../s3/compression.js';
import { duckdbReason, sampleBytes, stageSample } from './sample.js';
import { settings } from '../settings.js';

/** A model query made ready to run: references rewritten to staged local copies. */
export interface PreparedQuery {
  /** The rewritten SQL, reading only staged files. */
  sql: string;
  objects: S3Object[];
  bytesFetched: number;
  /** The local folders standing for the bucket, one per reference. */
  roots: string[];
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
 * into a mirror of their keys, and rewrites the references to the local copies.
 */
export async function prepareQuery(context: SourceContext, streamName: string | undefined, query: string, mode: 'full' | 'sample'): Promise<PreparedQuery> {
  const { config, bucket, staging, engine } = context;
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
    if (config.pathPrefix !== '' && !key.startsWith(config.pathPrefix)) {
      throw queryError(streamName, `reads "${reference.url}", outside the configured path "${config.pathPrefix}"`);
    }
    return { reference, key };
  });

  // List everything first: the limit on what a query may stage is checked before any download.
  const planned: { reference: (typeof targets)[number]['reference']; key: string; isGlob: boolean; objects: S3Object[] }[] = [];
  for (const { reference, key } of targets) {
    const { isGlob, base } = picomatch.scan(key);
    const listPrefix = isGlob ? (base === '' ? '' : `${base}/`) : key;
    // DuckDB's glob rules (* ? [] **), without picomatch's braces and extglobs.
    const matches = picomatch(key, { dot: true, nobrace: true, noextglob: true });
    const objects: S3Object[] = [];
    for await (const object of bucket.list(listPrefix)) {
      if ((isGlob ? matches(object.key) : object.key === key) && object.key.startsWith(config.pathPrefix)) objects.push(object);
    }
    if (objects.length === 0) throw queryError(streamName, `reads "${reference.url}", which matches no objects`);
    planned.push({ reference, key, isGlob, objects });
  }
  const total = planned.reduce((sum, entry) => sum + entry.objects.reduce((bytes, object) => bytes + object.size, 0), 0);
  const limit = queryMaxBytes();
  if (mode === 'full' && total > limit) {
    throw queryError(streamName, `references ${formatGiB(total)} of objects, more than the ${formatGiB(limit)} a query may stage (SOURCE_S3_QUERY_MAX_BYTES); narrow its globs`);
  }

  // Each reference gets its own folder holding exactly its objects under their keys (hive folders
  // and file names kept), and reads them all with one local glob: DuckDB's glob rules never
  // decide which objects are read.
  const roots: string[] = [];
  let bytesFetched = 0;
  const objectsRead = new Map<string, S3Object>();
  for (const { reference, key, isGlob, objects } of planned) {
    const mirror = staging.mirror();
    roots.push(mirror.root);
    const filetype = formatOf(reference.reader, key);
    for (const object of objects) {
      objectsRead.set(object.key, object);
      let at: string;
      try {
        at = mirror.pathOf(object.key);
      } catch {
        throw queryError(streamName, `reads "s3://${config.bucket}/${object.key}", whose key cannot be copied locally (empty or dot segments)`);
      }
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
          throw queryError(streamName, `reads "${reference.url}", which matches both an object and a folder of the same name (${object.key}); narrow its glob`);
        }
        throw error;
      }
    }
    if (!isGlob) reference.replace([mirror.pathOf(key)]);
    else if (reference.reader !== undefined) reference.replace([`${mirror.root}/**/*`]);
    else {
      // FROM 'file.ext' picks its reader by the extension, so the local glob keeps it.
      const extension = /(\.[A-Za-z0-9]+)+$/.exec(key.split('/').pop()!.replace(/^.*[*?\]]/, ''))?.[0];
      if (extension === undefined) {
        throw queryError(streamName, `reads "${reference.url}" with FROM, which needs a file extension to pick a reader; end the glob in .parquet, .csv... or use read_parquet()/read_csv()`);
      }
      reference.replace([`${mirror.root}/**/*${extension}`]);
    }
  }
  let sql: string;
  try {
    sql = await renderCheckedQuery(engine, parsed);
  } catch (error) {
    if (error instanceof QueryRuleError) throw queryError(streamName, error.message);
    throw error;
  }
  return { sql, objects: [...objectsRead.values()], bytesFetched, roots };
}

/** Most bytes a model query may stage: SOURCE_S3_QUERY_MAX_BYTES, default 10 GiB. */
export function queryMaxBytes(): number {
  return settings().queryMaxBytes;
}

function formatGiB(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

/**
 * The expression emitting an output column: text values that hold a staged
 * path (DuckDB's `filename`, say) show the object's s3:// URL instead.
 */
export function withS3Urls(column: RecordColumn, prepared: PreparedQuery, bucket: string): RecordColumn {
  if (column.type.kind !== 'primitive' || column.type.name !== 'VARCHAR') return column;
  let source = sqlIdentifier(column.name);
  for (const root of prepared.roots) source = `replace(${source}, ${sqlString(`${root}/`)}, ${sqlString(`s3://${bucket}/`)})`;
  return { ...column, source };
}

/** The output columns of a prepared query, from DESCRIBE (binding only: nothing is executed). */
export async function describeQuery(context: SourceContext, streamName: string | undefined, prepared: PreparedQuery): Promise<RecordColumn[]> {
  const rows = await queryCall(context, streamName, () => context.engine.all(`DESCRIBE ${prepared.sql}`));
  return rows.map((row) => ({ name: String(row.column_name), type: parseDuckType(String(row.column_type)) }));
}

/** Runs DuckDB work on a prepared query; its errors are the query's, shown without our local paths. */
export async function queryCall<T>(context: SourceContext, streamName: string | undefined, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ConnectorError) throw error;
    let detail = error instanceof Error ? error.message : String(error);
    // Show s3:// URLs, not the staging folder.
    detail = detail
      .replace(new RegExp(`${escapeRegExp(context.staging.dir)}/mirror-\\d+/`, 'g'), `s3://${context.config.bucket}/`)
      .split(context.staging.dir)
      .join('<staging>');
    throw queryError(streamName, `failed: ${duckdbReason(detail)}`, detail);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
