import type { Format, SourceS3Config, Streams } from '../generated/config.js';
import type { FileFormat, FileStreamConfig, FileType, ResolvedConfig, StreamConfig } from './resolved.js';
import { parseInputSchema } from './input-schema.js';
import { withScheme } from './semantic.js';
import type { JsonSchema } from './spec.js';
import { unknownFields } from './unknown-fields.js';

/** File name endings of each file type; compressed variants are read transparently. */
export const FILE_EXTENSIONS: Record<FileType, string[]> = {
  csv: ['.csv', '.csv.gz', '.csv.zst'],
  parquet: ['.parquet'],
  jsonl: ['.jsonl', '.jsonl.gz', '.jsonl.zst', '.ndjson', '.ndjson.gz', '.ndjson.zst'],
};

/** Defaults and normalization of a config that passed validation. */
export function resolveConfig(raw: SourceS3Config, schema: JsonSchema): { config: ResolvedConfig; warnings: string[] } {
  const pathPrefix = normalizePath(raw.path ?? '');
  const endpoint = raw.endpoint?.trim() ? new URL(withScheme(raw.endpoint.trim())).toString().replace(/\/$/, '') : undefined;
  const fileType: FileType = raw.file_type ?? 'csv';
  const streams =
    raw.streams === undefined || raw.streams.length === 0
      ? [defaultStream(raw, pathPrefix, fileType)]
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
    },
    // Misspelt fields were refused in validation; the other unknown keys are said.
    warnings: unknownFields(schema, raw).warnings,
  };
}

/** 'a/b', '/a/b/', 'a/b/' -> 'a/b/'; '' or '/' -> '' */
export function normalizePath(path: string): string {
  const trimmed = path.trim().replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}

function defaultStream(raw: SourceS3Config, pathPrefix: string, fileType: FileType): FileStreamConfig {
  const lastSegment = pathPrefix.split('/').filter((segment) => segment !== '').pop();
  return {
    kind: 'files',
    name: lastSegment ?? raw.bucket.trim(),
    globs: FILE_EXTENSIONS[fileType].map((extension) => `**/*${extension}`),
    format: defaultFormat(fileType),
    primaryKey: [],
    isDefault: true,
    onError: 'fail',
  };
}

function defaultFormat(fileType: FileType): FileFormat {
  return fileType === 'csv' ? { filetype: 'csv', encoding: 'utf-8', header: true, skipRows: 0 } : { filetype: fileType };
}

function resolveStream(stream: Streams[number], fileType: FileType): StreamConfig {
  const primaryKey = stream.primary_key ?? [];
  if (stream.query !== undefined) return { kind: 'query', name: stream.name, query: stream.query, primaryKey };
  return {
    kind: 'files',
    name: stream.name,
    globs: stream.globs ?? ['**'],
    format: resolveFormat(stream.format, fileType),
    primaryKey,
    isDefault: false,
    onError: stream.on_error ?? 'fail',
    ...userSchemaOf(stream.input_schema),
    ...(stream.schemaless === true ? { schemaless: true as const } : {}),
  };
}

function resolveFormat(format: Format | undefined, fileType: FileType): FileFormat {
  if (format === undefined) return defaultFormat(fileType);
  if (format.filetype !== 'csv') return { filetype: format.filetype };
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
