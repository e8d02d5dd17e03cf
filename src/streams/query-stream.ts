import picomatch from 'picomatch';
import type { FileFormat } from '../engine/formats.js';
import { parseModelQuery, QueryRuleError, renderQuery } from '../engine/model-query.js';
import type { RecordColumn } from '../engine/record-sql.js';
import { parseDuckType } from '../engine/types.js';
import { configError, ConnectorError } from '../protocol/errors.js';
import type { S3Object } from '../s3/settings.js';
import type { SourceContext } from './context.js';
import { duckdbReason, stageSample } from './sample.js';

/** A model query made ready to run: references rewritten to staged local copies. */
export interface PreparedQuery {
  /** The rewritten SQL, reading only staged files. */
  sql: string;
  objects: S3Object[];
  bytesFetched: number;
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

  const mirror = staging.mirror();
  const staged = new Map<string, S3Object>();
  let bytesFetched = 0;
  for (const { reference, key } of targets) {
    const { isGlob, base } = picomatch.scan(key);
    const listPrefix = isGlob ? (base === '' ? '' : `${base}/`) : key;
    const matches = picomatch(key, { dot: true });
    const objects: S3Object[] = [];
    for await (const object of bucket.list(listPrefix)) {
      if (isGlob ? matches(object.key) : object.key === key) objects.push(object);
    }
    if (objects.length === 0) throw queryError(streamName, `reads "${reference.url}", which matches no objects`);
    const filetype = formatOf(reference.reader, key);
    for (const object of objects) {
      if (staged.has(object.key)) continue;
      staged.set(object.key, object);
      const at = mirror.pathOf(object.key);
      if (mode === 'sample' && filetype === 'parquet') {
        const sample = await stageSample(bucket, staging, engine, object, { filetype: 'parquet' }, { rows: false, at });
        bytesFetched += sample.staged.bytesFetched;
      } else {
        bytesFetched += (await staging.download(bucket, object, at)).bytesFetched;
      }
    }
    reference.replace(isGlob ? `${mirror.root}/${key}` : mirror.pathOf(key));
  }
  return { sql: await renderQuery(engine, parsed.ast), objects: [...staged.values()], bytesFetched };
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
    detail = detail.replace(new RegExp(`${escapeRegExp(context.staging.dir)}/mirror-\\d+/`, 'g'), `s3://${context.config.bucket}/`);
    throw queryError(streamName, `failed: ${duckdbReason(detail)}`, detail);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
