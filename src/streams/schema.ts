import type { FileStreamConfig } from '../config/resolved.js';
import type { CsvDialect } from '../engine/csv-dialect.js';
import { duckTypeToJsonSchema, formatDuckType, mergeFields, parseDuckType, type DuckType, type JsonSchema } from '../engine/types.js';
import { configError, ConnectorError } from '../protocol/errors.js';
import type { S3Object } from '../s3/settings.js';
import type { Limiter } from './concurrency.js';
import type { SourceContext } from './context.js';
import { streamFiles } from './files.js';
import { csvFileColumns, decideCsvDialect } from './csv-dialect.js';
import { describeSample, stageSample, type ColumnInfo, type FileSample } from './sample.js';
import { MAX_BLANK_SAMPLES, stageNewestWithRows } from './rows-sample.js';
import { newestCandidates } from './newest-files.js';
import { settings } from '../settings.js';

export const FILE_URL_COLUMN = '_ab_source_file_url';
export const FILE_LAST_MODIFIED_COLUMN = '_ab_source_file_last_modified';

/** Files sampled per stream for its schema: SOURCE_S3_SCHEMA_FILES, default 10 (the most recently modified). */
export function schemaSampleFiles(): number {
  return settings().schemaFiles;
}

/** Files sampled at once during discovery: SOURCE_S3_DISCOVERY_CONCURRENCY, default 4. */
export function discoveryConcurrency(): number {
  return settings().discoveryConcurrency;
}

export interface InferredSchema {
  /** Data columns, merged over the sampled files, in first-seen order (newest file first). */
  columns: { name: string; type: DuckType }[];
  /** The stream's JSON Schema, with the two `_ab_` columns. */
  jsonSchema: JsonSchema;
  /** Files the stream matched, and the ones sampled (empty files are not: they have no columns). */
  fileCount: number;
  sampledFiles: string[];
  /** The schema is the user's (input_schema or schemaless): no file was listed or sampled for it. */
  declared?: true;
}

/** The newest files first; ties broken by key so the choice is stable. */
export function newestFirst(objects: S3Object[]): S3Object[] {
  return [...objects].sort((a, b) => b.lastModified.getTime() - a.lastModified.getTime() || a.key.localeCompare(b.key));
}

/**
 * Infers a file stream's schema with DuckDB's DESCRIBE over bounded samples of
 * its most recent files (text: the first records; Parquet: the footer only),
 * merging columns by name and widening types that disagree.
 */
export async function inferFileStreamSchema(context: SourceContext, stream: FileStreamConfig, limiter: Limiter): Promise<InferredSchema> {
  const { config, bucket, staging, engine } = context;
  const format = stream.format;
  const wanted = schemaSampleFiles();
  // Empty files (zero bytes, or only white space) have no rows and no columns: the next newest files are sampled instead.
  // No more candidates than sampling can look at are kept: `wanted` with rows, past up to MAX_BLANK_SAMPLES blank ones
  // (a batch may overshoot by `wanted`).
  const { candidates, listed: fileCount } = await newestCandidates(streamFiles(bucket, config.pathPrefix, stream, config.startDate), format, 2 * wanted + MAX_BLANK_SAMPLES);
  const perFile: { name: string; type: DuckType }[][] = [];
  const sampledFiles: string[] = [];
  const failed = (error: unknown) => (error instanceof ConnectorError ? error.withStream(stream.name) : error);

  // The newest file with rows first: a CSV stream's dialect comes from it, and is pinned for every other sample.
  const first = await limiter.run(() => stageNewestWithRows(context, candidates, format, { rows: false }));
  if (first.found === undefined) return { columns: [], jsonSchema: streamJsonSchema([]), fileCount, sampledFiles };
  let dialect: CsvDialect | undefined;
  try {
    if (format.filetype === 'csv') dialect = await decideCsvDialect(engine, first.found.sample.staged, format);
    perFile.push(await describe(first.found.sample));
    sampledFiles.push(first.found.object.key);
  } catch (error) {
    throw failed(error);
  } finally {
    await staging.release(first.found.sample.staged);
  }

  // Then the next newest, a batch at a time, until enough had rows.
  let next = first.found.next;
  let blanks = first.blanks;
  while (perFile.length < wanted && next < candidates.length && blanks < MAX_BLANK_SAMPLES) {
    const batch = candidates.slice(next, next + wanted - perFile.length);
    next += batch.length;
    const described = await limiter.map(batch, async (object) => {
      const sample = await stageSample(bucket, staging, engine, object, format, { rows: false });
      try {
        return sample.staged.blank ? undefined : await describe(sample);
      } catch (error) {
        throw failed(error);
      } finally {
        await staging.release(sample.staged);
      }
    });
    for (const [index, columns] of described.entries()) {
      if (columns === undefined) blanks++;
      else {
        perFile.push(columns);
        sampledFiles.push(batch[index]!.key);
      }
    }
  }

  async function describe(sample: FileSample): Promise<{ name: string; type: DuckType }[]> {
    let described: ColumnInfo[];
    if (format.filetype === 'csv') {
      const columns = await csvFileColumns(engine, sample.staged, format, dialect!);
      described = columns.map((column) => ({ name: column.name, type: formatDuckType(column.type) }));
    } else described = await describeSample(engine, sample, format);
    return described.map((column) => ({ name: column.name, type: parseColumnType(column.type, stream.name, column.name) }));
  }

  const columns = perFile.reduce((merged, fileColumns) => mergeFields(merged, fileColumns), [] as { name: string; type: DuckType }[]);
  return { columns, jsonSchema: streamJsonSchema(columns), fileCount, sampledFiles };
}

function parseColumnType(text: string, streamName: string, column: string): DuckType {
  try {
    return parseDuckType(text);
  } catch (error) {
    throw configError(`Stream "${streamName}": column "${column}" has a type this connector cannot map (${text}).`, {
      streamName,
      internalMessage: (error as Error).message,
    });
  }
}

/** The JSON Schema of a query stream: its output columns only (a query has no one source file). */
export function queryJsonSchema(columns: { name: string; type: DuckType }[]): JsonSchema {
  // fromEntries, not assignment: a column may be named "__proto__" (a header, an Avro field), which
  // assignment would take as the object's prototype and leave out of the schema.
  const properties: Record<string, JsonSchema> = Object.fromEntries(columns.map((column) => [column.name, duckTypeToJsonSchema(column.type)]));
  return { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', additionalProperties: true, properties };
}

/** The JSON Schema of a file stream: its columns plus the file URL and last-modified time. */
export function streamJsonSchema(columns: { name: string; type: DuckType }[]): JsonSchema {
  const schema = queryJsonSchema(columns);
  const properties = schema.properties as Record<string, JsonSchema>;
  properties[FILE_URL_COLUMN] = { type: 'string' };
  properties[FILE_LAST_MODIFIED_COLUMN] = { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' };
  return schema;
}
