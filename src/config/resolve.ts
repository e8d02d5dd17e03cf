import type { Format, SourceS3Config, Streams } from '../generated/config.js';
import type { ConvertedFormat } from '../engine/formats.js';
import type { FileFormat, FileStreamConfig, FileType, ResolvedConfig, StreamConfig } from './resolved.js';
import { deliveryWarnings, resolveDelivery, type DeliveryMethod } from './delivery.js';
import { parseInputSchema } from './input-schema.js';
import { withScheme } from './semantic.js';
import type { JsonSchema } from './spec.js';
import { unknownFields } from './unknown-fields.js';

/**
 * File name endings of each file type; compressed variants are read transparently. A default
 * stream of a text type also matches every `.zip` and reads the members of its type (zip-files.ts).
 */
export const FILE_EXTENSIONS: Record<FileType, string[]> = {
  csv: ['.csv', '.csv.gz', '.csv.zst', '.csv.bz2'],
  parquet: ['.parquet'],
  jsonl: ['.jsonl', '.jsonl.gz', '.jsonl.zst', '.jsonl.bz2', '.ndjson', '.ndjson.gz', '.ndjson.zst', '.ndjson.bz2'],
  avro: ['.avro'],
  excel: ['.xlsx'],
  document: ['.md', '.markdown', '.txt', '.pdf', '.docx'],
};

/** The default stream's glob for zips, for the file types whose files may come zipped. */
export const ZIP_GLOB = '**/*.zip';

/** Defaults and normalization of a config that passed validation. */
export function resolveConfig(raw: SourceS3Config, schema: JsonSchema): { config: ResolvedConfig; warnings: string[] } {
  const pathPrefix = normalizePath(raw.path ?? '');
  const endpoint = raw.endpoint?.trim() ? new URL(withScheme(raw.endpoint.trim())).toString().replace(/\/$/, '') : undefined;
  const fileType: FileType = raw.file_type ?? 'csv';
  const delivery = resolveDelivery(raw);
  const streams =
    raw.streams === undefined || raw.streams.length === 0
      ? [defaultStream(raw, pathPrefix, fileType, delivery)]
      : raw.streams.map((stream) => resolveStream(stream, fileType));
  return {
    config: {
      bucket: raw.bucket.trim(),
      region: raw.region?.trim() || 'us-east-1',
      credentials: raw.credentials,
      ...(endpoint === undefined ? {} : { endpoint }),
      forcePathStyle: raw.force_path_style ?? false,
      pathPrefix,
      ...(raw.start_date === undefined ? {} : { startDate: new Date(raw.start_date) }),
      streams,
      delivery,
    },
    // Misspelt fields were refused in validation; the other unknown keys are said.
    warnings: [...unknownFields(schema, raw).warnings, ...deliveryWarnings(raw, delivery)],
  };
}

/** 'a/b', '/a/b/', 'a/b/' -> 'a/b/'; '' or '/' -> '' */
export function normalizePath(path: string): string {
  const trimmed = path.trim().replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}

function defaultStream(raw: SourceS3Config, pathPrefix: string, fileType: FileType, delivery: DeliveryMethod): FileStreamConfig {
  const lastSegment = pathPrefix.split('/').filter((segment) => segment !== '').pop();
  // Copying raw files, the default stream takes every file under the path unless file_type names some.
  const everyFile = delivery.kind === 'files' && raw.file_type === undefined;
  return {
    kind: 'files',
    name: lastSegment ?? raw.bucket.trim(),
    globs: everyFile ? ['**'] : [...FILE_EXTENSIONS[fileType].map((extension) => `**/*${extension}`), ...(fileType === 'parquet' ? [] : [ZIP_GLOB])],
    format: defaultFormat(fileType),
    primaryKey: defaultPrimaryKey(fileType),
    isDefault: true,
    onError: 'fail',
  };
}

function defaultFormat(fileType: FileType): FileFormat {
  if (fileType === 'csv') return { filetype: 'csv', encoding: 'utf-8', header: true, skipRows: 0 };
  if (fileType === 'parquet' || fileType === 'jsonl') return { filetype: fileType };
  return convertedFormat({ filetype: fileType });
}

/** A document is one record per file: its key identifies it (as Airbyte's document streams do). */
function defaultPrimaryKey(fileType: FileType): string[] {
  return fileType === 'document' ? ['document_key'] : [];
}

/** A format DuckDB cannot read is converted to JSON Lines as it is staged (see src/formats/converter.ts). */
function convertedFormat(conversion: ConvertedFormat): FileFormat {
  return { filetype: 'jsonl', conversion };
}

function resolveStream(stream: Streams[number], fileType: FileType): StreamConfig {
  const primaryKey = stream.primary_key ?? [];
  if (stream.query !== undefined) return { kind: 'query', name: stream.name, query: stream.query, primaryKey };
  const format = resolveFormat(stream.format, fileType);
  return {
    kind: 'files',
    name: stream.name,
    globs: stream.globs ?? ['**'],
    format: format.conversion?.filetype === 'document' && stream.on_error === 'skip' ? convertedFormat({ filetype: 'document', skipUnprocessable: true }) : format,
    primaryKey: stream.primary_key ?? defaultPrimaryKey(format.conversion?.filetype ?? format.filetype),
    isDefault: false,
    onError: stream.on_error ?? 'fail',
    ...userSchemaOf(stream.input_schema),
    ...(stream.schemaless === true ? { schemaless: true as const } : {}),
  };
}

function resolveFormat(format: Format | undefined, fileType: FileType): FileFormat {
  if (format === undefined) return defaultFormat(fileType);
  if (format.filetype === 'excel') return convertedFormat({ filetype: 'excel', ...(format.sheet === undefined ? {} : { sheet: format.sheet }) });
  if (format.filetype !== 'csv') return defaultFormat(format.filetype);
  return {
    filetype: 'csv',
    ...(format.delimiter === undefined ? {} : { delimiter: unescapeControl(format.delimiter) }),
    ...(format.quote_char === undefined ? {} : { quoteChar: format.quote_char }),
    ...(format.escape_char === undefined ? {} : { escapeChar: format.escape_char }),
    encoding: format.encoding ?? 'utf-8',
    header: format.header ?? true,
    skipRows: format.skip_rows ?? 0,
    ...(format.null_values === undefined ? {} : { nullValues: format.null_values }),
    ...(format.column_names === undefined ? {} : { columnNames: format.column_names }),
  };
}

/** A form field cannot hold a tab: accept the two characters `\t` for it. */
function unescapeControl(delimiter: string): string {
  return delimiter === '\\t' ? '\t' : delimiter;
}

/** The parsed input_schema (validation refused a bad one already). */
function userSchemaOf(inputSchema: string | undefined): Pick<FileStreamConfig, 'inputSchema'> {
  if (inputSchema === undefined) return {};
  const parsed = parseInputSchema(inputSchema);
  if ('problem' in parsed) throw new Error(`input_schema ${parsed.problem}`);
  return { inputSchema: parsed };
}
