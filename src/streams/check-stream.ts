import type { FileStreamConfig, QueryStreamConfig, StreamConfig } from '../config/resolved.js';
import { ConnectorError, configError } from '../protocol/errors.js';
import type { SourceContext } from './context.js';
import { FILE_EXTENSIONS } from '../config/resolve.js';
import { s3Url, streamFiles, streamMatcher } from './files.js';
import { describeQuery, prepareQuery } from './query-stream.js';
import { describeSample, firstRows, stageSample } from './sample.js';

export interface StreamCheck {
  stream: string;
  file: string;
  columns: number;
  rowsParsed: number;
  /** Why no rows were parsed (a Parquet file checked by its footer only). */
  rowsSkipped?: string;
}

const CHECK_ROWS = 10;
const HINT_KEYS = 3;

/**
 * Checks one stream: it matches at least one file, and the first matching
 * file can be opened and its first rows parsed. Reads only a bounded sample.
 */
export async function checkStream(context: SourceContext, stream: StreamConfig): Promise<StreamCheck> {
  try {
    if (stream.kind === 'query') return await checkQueryStream(context, stream);
    return await checkFileStream(context, stream);
  } catch (error) {
    throw error instanceof ConnectorError ? error.withStream(stream.name) : error;
  }
}

/** A query stream: its rules hold, its files exist, and it binds over samples of them (nothing is executed). */
async function checkQueryStream(context: SourceContext, stream: QueryStreamConfig): Promise<StreamCheck> {
  const prepared = await prepareQuery(context, stream.name, stream.query, 'sample');
  const columns = await describeQuery(context, stream.name, prepared);
  return {
    stream: stream.name,
    file: `model query over ${prepared.objects.length} object${prepared.objects.length === 1 ? '' : 's'}`,
    columns: columns.length,
    rowsParsed: 0,
    rowsSkipped: 'the query was bound, not run',
  };
}

async function checkFileStream(context: SourceContext, stream: FileStreamConfig): Promise<StreamCheck> {
  const { config, bucket, staging, engine } = context;
  let first;
  for await (const object of streamFiles(bucket, config.pathPrefix, stream, config.startDate)) {
    first = object;
    break;
  }
  if (first === undefined) throw await noFilesError(context, stream);
  const sample = await stageSample(bucket, staging, engine, first, stream.format);
  try {
    const columns = await describeSample(engine, sample, stream.format);
    const rows = sample.hasRows ? await firstRows(engine, sample, stream.format, CHECK_ROWS) : [];
    return {
      stream: stream.name,
      file: s3Url(bucket.name, first.key),
      columns: columns.length,
      rowsParsed: rows.length,
      ...(sample.rowsSkipped === undefined ? {} : { rowsSkipped: sample.rowsSkipped }),
    };
  } finally {
    await staging.release(sample.staged);
  }
}

/** Says where it looked, and shows a few keys that are there, since the usual cause is a typo in a glob. */
async function noFilesError(context: SourceContext, stream: FileStreamConfig): Promise<ConnectorError> {
  const { config, bucket } = context;
  const matcher = streamMatcher(config.pathPrefix, stream);
  const nearby: string[] = [];
  for await (const object of bucket.list(matcher.listPrefix, HINT_KEYS)) {
    nearby.push(object.key.slice(config.pathPrefix.length));
    if (nearby.length >= HINT_KEYS) break;
  }
  const where = `s3://${config.bucket}/${config.pathPrefix}`;
  const since = config.startDate === undefined ? '' : ` modified on or after start_date ${config.startDate.toISOString()}`;
  const found = nearby.length === 0 ? '' : ` Keys there include: ${nearby.map((key) => JSON.stringify(key)).join(', ')}.`;
  // The default stream has no globs of its own: point at what the user did set.
  const wanted = stream.isDefault
    ? `no file under ${where} ends in ${FILE_EXTENSIONS[stream.format.filetype].join(', ')}`
    : `no key under ${where} matches ${stream.globs.map((glob) => JSON.stringify(glob)).join(', ')}`;
  const fields = ['path', stream.isDefault ? 'file_type' : "the stream's globs", ...(config.startDate === undefined ? [] : ['start_date'])];
  const check = fields.length === 2 ? fields.join(' and ') : `${fields.slice(0, -1).join(', ')} and ${fields.at(-1)}`;
  return configError(`Stream "${stream.name}" matches no files${since}: ${wanted}.${found} Check ${check}.`, {
    streamName: stream.name,
  });
}
