import type { FileStreamConfig, QueryStreamConfig, StreamConfig } from '../config/resolved.js';
import { ConnectorError, configError } from '../protocol/errors.js';
import type { SourceContext } from './context.js';
import { FILE_EXTENSIONS } from '../config/resolve.js';
import { sourceFileType } from '../engine/formats.js';
import { s3Url, streamFilePages, streamMatcher } from './files.js';
import { describeQuery, prepareQuery } from './query-stream.js';
import { checkFileTransferStream } from './file-transfer.js';
import { describeSample, engineCall, firstRows } from './sample.js';
import { allFilesEmptyError, sampleCandidates, stageNewestWithRows } from './rows-sample.js';
import { csvFileColumns, decideCsvDialect, withAnyLineEndings } from './csv-dialect.js';
import { csvReaderSql, fullParseSql } from '../engine/csv-dialect.js';
import type { Engine } from '../engine/engine.js';
import type { CsvFormat, FileType } from '../config/resolved.js';
import type { S3Object } from '../s3/settings.js';
import type { StagedFile } from '../s3/staging.js';

export interface StreamCheck {
  stream: string;
  file: string;
  columns: number;
  rowsParsed: number;
  /** Why no rows were parsed, as check says it (a Parquet file checked by its footer only, a bound query, copied files). */
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
    if (context.config.delivery.kind === 'files') return await checkFileTransferStream(context, stream);
    return await checkFileStream(context, stream);
  } catch (error) {
    throw error instanceof ConnectorError ? error.withStream(stream.name) : error;
  }
}

/** A query stream: its rules hold, its files exist, and it binds over samples of them (nothing is executed). */
async function checkQueryStream(context: SourceContext, stream: QueryStreamConfig): Promise<StreamCheck> {
  const prepared = await prepareQuery(context, stream.name, stream.query, 'sample');
  let columns;
  try {
    columns = await describeQuery(context, stream.name, prepared);
  } finally {
    await prepared.close();
  }
  return {
    stream: stream.name,
    file: `model query over ${prepared.objects.length} object${prepared.objects.length === 1 ? '' : 's'}`,
    columns: columns.length,
    rowsParsed: 0,
    rowsSkipped: 'the query was bound, not run',
  };
}

const OTHER_TYPES_SHOWN = 3;
/** Matching files check lists at most while every one so far is empty (zero bytes). */
const CHECK_MAX_MATCHES = 10_000;

async function checkFileStream(context: SourceContext, stream: FileStreamConfig): Promise<StreamCheck> {
  const { config, bucket, staging, engine } = context;
  // Listing stops with the first page that holds a matching file with bytes (up to 1,000 keys):
  // check proves the stream can be read, and a prefix of 100,000 objects then costs one request, not
  // a hundred. The matches listed so far are the sample: the newest of them with rows is parsed, and
  // files of another type among them are refused. Pages without a match, or with only empty files,
  // are listed on (up to CHECK_MAX_MATCHES matches), so a stream whose files with rows sort late is
  // not reported empty.
  const matching: S3Object[] = [];
  for await (const page of streamFilePages(bucket, config.pathPrefix, stream, config.startDate)) {
    matching.push(...page);
    if (matching.some((object) => object.size > 0) || matching.length >= CHECK_MAX_MATCHES) break;
  }
  if (matching.length === 0) throw await noFilesError(context, stream);
  refuseOtherFileTypes(context, stream, matching);
  // The file discover samples first and read takes the CSV dialect from: the newest one with rows.
  const format = stream.format;
  const candidates = sampleCandidates(matching, format);
  const { found, blanks } = await stageNewestWithRows(context, candidates, format, { rows: true });
  if (found === undefined) throw allFilesEmptyError(stream.name, matching.length, matching.length - candidates.length + blanks);
  const { object: first, sample } = found;
  try {
    let columns: string[];
    let rowsParsed: number;
    if (format.filetype === 'csv') {
      ({ columns, rowsParsed } = await parseCsvSample(engine, stream, format, sample.staged));
    } else {
      columns = (await describeSample(engine, sample, format)).map((column) => column.name);
      rowsParsed = sample.hasRows ? (await firstRows(engine, sample, format, CHECK_ROWS)).length : 0;
    }
    refuseMissingKeys(stream, columns, s3Url(bucket.name, first.key));
    return {
      stream: stream.name,
      file: s3Url(bucket.name, first.key),
      columns: columns.length,
      rowsParsed,
      // A sample skips rows only for a Parquet file checked by its footer.
      ...(sample.rowsSkipped === undefined ? {} : { rowsSkipped: `schema read from the footer; rows not sampled: ${sample.rowsSkipped}` }),
    };
  } finally {
    await staging.release(sample.staged);
  }
}

/**
 * A CSV sample parsed as read parses every file: the stream's dialect, every
 * column named and typed, strict about the number of fields, every row of
 * the sample (a malformed row at its line 3 fails check as it would fail read).
 */
async function parseCsvSample(engine: Engine, stream: FileStreamConfig, format: CsvFormat, staged: StagedFile): Promise<{ columns: string[]; rowsParsed: number }> {
  const dialect = await decideCsvDialect(engine, staged, format);
  const columns = await csvFileColumns(engine, staged, format, dialect);
  const parse = (path: string) => engineCall(staged, format, () => engine.all(fullParseSql(csvReaderSql(path, dialect, columns, { ignoreErrors: stream.onError === 'skip' }), columns)));
  const [row] = await withAnyLineEndings(staged, parse);
  return { columns: columns.map((column) => column.name), rowsParsed: Number(row?.rows ?? 0) };
}

/** A primary key the files do not have would fail discover and read: say it now, with the columns there are. */
function refuseMissingKeys(stream: FileStreamConfig, columns: string[], url: string): void {
  const missing = stream.primaryKey.filter((key) => !columns.includes(key));
  if (missing.length === 0) return;
  throw configError(
    `Stream "${stream.name}": primary_key ${missing.map((key) => JSON.stringify(key)).join(', ')} ${missing.length === 1 ? 'is not a column' : 'are not columns'} of ${url} (columns: ${columns.join(', ')}). Fix the stream's primary_key.`,
    { streamName: stream.name },
  );
}

/** Keys whose extension says another format: a glob too wide (or a misspelt one that became "**"). */
function refuseOtherFileTypes(context: SourceContext, stream: FileStreamConfig, matching: S3Object[]): void {
  const own = sourceFileType(stream.format);
  const others = (Object.keys(FILE_EXTENSIONS) as FileType[]).filter((type) => type !== own);
  const typeOf = (key: string) => others.find((type) => [...FILE_EXTENSIONS[type], ...(type === 'jsonl' ? ['.json', '.json.gz'] : [])].some((ext) => key.toLowerCase().endsWith(ext)));
  const wrong = matching.filter((object) => typeOf(object.key) !== undefined);
  // Every file of another type: the stream's format is the mistake, and parsing the file says so.
  if (wrong.length === 0 || wrong.length === matching.length) return;
  const shown = wrong.slice(0, OTHER_TYPES_SHOWN).map((object) => `${object.key.slice(context.config.pathPrefix.length)} (${typeOf(object.key)})`);
  const more = wrong.length > OTHER_TYPES_SHOWN ? ` and ${wrong.length - OTHER_TYPES_SHOWN} more` : '';
  const where = stream.isDefault ? 'file_type' : "the stream's globs";
  throw configError(
    `Stream "${stream.name}" reads ${own} files, but it also matches files of another type: ${shown.join(', ')}${more}. Narrow ${where} to ${own} files, or give those files their own stream.`,
    { streamName: stream.name },
  );
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
    ? `no file under ${where} ends in ${FILE_EXTENSIONS[sourceFileType(stream.format)].join(', ')}`
    : `no key under ${where} matches ${stream.globs.map((glob) => JSON.stringify(glob)).join(', ')}`;
  const fields = ['path', stream.isDefault ? 'file_type' : "the stream's globs", ...(config.startDate === undefined ? [] : ['start_date'])];
  const check = fields.length === 2 ? fields.join(' and ') : `${fields.slice(0, -1).join(', ')} and ${fields.at(-1)}`;
  return configError(`Stream "${stream.name}" matches no files${since}: ${wanted}.${found} Check ${check}.`, {
    streamName: stream.name,
  });
}
