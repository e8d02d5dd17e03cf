import type { Format, SourceS3Config, Streams } from '../generated/config.js';
import { configError } from '../protocol/errors.js';
import type { FileFormat, FileStreamConfig, FileType, ResolvedConfig, StreamConfig } from './resolved.js';
import { selectedVariant } from './schema-walk.js';
import type { JsonSchema } from './spec.js';

/** File name endings of each file type; compressed variants are read transparently. */
export const FILE_EXTENSIONS: Record<FileType, string[]> = {
  csv: ['.csv', '.csv.gz', '.csv.zst'],
  parquet: ['.parquet'],
  jsonl: ['.jsonl', '.jsonl.gz', '.jsonl.zst', '.ndjson', '.ndjson.gz', '.ndjson.zst'],
};

/** Semantic checks ajv cannot express, then defaults and normalization. */
export function resolveConfig(raw: SourceS3Config, schema: JsonSchema): { config: ResolvedConfig; warnings: string[] } {
  const problems: string[] = [];
  const warnings = unknownFieldWarnings(schema, raw, '');

  const bucket = raw.bucket.trim();
  if (/^s3:\/\//i.test(bucket) || bucket.includes('/')) {
    problems.push(`bucket must be the bucket name only, e.g. my-bucket (got "${bucket}"); put any folder in path`);
  }

  const pathPrefix = normalizePath(raw.path ?? '');
  if (/^s3:\/\//i.test((raw.path ?? '').trim())) {
    problems.push('path must be a folder inside the bucket, e.g. exports/daily, not an s3:// URL');
  }

  let endpoint: string | undefined;
  if (raw.endpoint !== undefined && raw.endpoint.trim() !== '') {
    endpoint = normalizeEndpoint(raw.endpoint.trim(), problems);
  }

  const credentials = raw.credentials;
  if (credentials.auth_type === 'iam_role') {
    const hasKey = nonEmpty(credentials.aws_access_key_id);
    const hasSecret = nonEmpty(credentials.aws_secret_access_key);
    if (hasKey && !hasSecret) problems.push('credentials.aws_secret_access_key is required when credentials.aws_access_key_id is set');
    if (hasSecret && !hasKey) problems.push('credentials.aws_access_key_id is required when credentials.aws_secret_access_key is set');
  }

  let startDate: Date | undefined;
  if (raw.start_date !== undefined) startDate = new Date(raw.start_date);

  const fileType: FileType = raw.file_type ?? 'csv';
  const streams =
    raw.streams === undefined || raw.streams.length === 0
      ? [defaultStream(raw, pathPrefix, fileType)]
      : raw.streams.map((stream, index) => resolveStream(stream, index, fileType, problems));

  const seen = new Map<string, number>();
  streams.forEach((stream, index) => {
    const earlier = seen.get(stream.name);
    if (earlier !== undefined) problems.push(`streams[${index}].name "${stream.name}" is already used by streams[${earlier}]; stream names must be unique`);
    else seen.set(stream.name, index);
  });

  if (problems.length > 0) {
    const plural = problems.length === 1 ? 'problem' : `${problems.length} problems`;
    throw configError(`Invalid configuration (${plural}): ${problems.join('; ')}.`);
  }

  return {
    config: {
      bucket,
      region: raw.region?.trim() || 'us-east-1',
      credentials,
      ...(endpoint === undefined ? {} : { endpoint }),
      forcePathStyle: raw.force_path_style ?? false,
      pathPrefix,
      ...(startDate === undefined ? {} : { startDate }),
      streams,
    },
    warnings,
  };
}

const nonEmpty = (value: string | undefined): boolean => value !== undefined && value !== '';

/** 'a/b', '/a/b/', 'a/b/' -> 'a/b/'; '' or '/' -> '' */
export function normalizePath(path: string): string {
  const trimmed = path.trim().replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}

function normalizeEndpoint(endpoint: string, problems: string[]): string | undefined {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    problems.push(`endpoint "${endpoint}" is not a valid URL; use e.g. http://localhost:9000 or https://s3.example.com`);
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    problems.push(`endpoint must use http:// or https:// (got ${url.protocol}//)`);
    return undefined;
  }
  if (url.username !== '' || url.password !== '') {
    problems.push('endpoint must not contain a user name or password; put credentials in credentials');
    return undefined;
  }
  return url.toString().replace(/\/$/, '');
}

function defaultStream(raw: SourceS3Config, pathPrefix: string, fileType: FileType): FileStreamConfig {
  const lastSegment = pathPrefix.split('/').filter((segment) => segment !== '').pop();
  return {
    kind: 'files',
    name: lastSegment ?? raw.bucket.trim(),
    globs: FILE_EXTENSIONS[fileType].map((extension) => `**/*${extension}`),
    format: defaultFormat(fileType),
    primaryKey: [],
  };
}

function defaultFormat(fileType: FileType): FileFormat {
  return fileType === 'csv' ? { filetype: 'csv', encoding: 'utf-8', header: true, skipRows: 0 } : { filetype: fileType };
}

function resolveStream(stream: Streams[number], index: number, fileType: FileType, problems: string[]): StreamConfig {
  const where = `streams[${index}]`;
  const primaryKey = stream.primary_key ?? [];
  if (stream.query !== undefined) {
    const extra = (['globs', 'format'] as const).filter((field) => stream[field] !== undefined);
    if (extra.length > 0) {
      problems.push(`${where} (${stream.name}) has both query and ${extra.join(' and ')}: a model query names its files itself; remove ${extra.join(' and ')}`);
    }
    return { kind: 'query', name: stream.name, query: stream.query, primaryKey };
  }
  const globs = stream.globs ?? ['**'];
  globs.forEach((glob, globIndex) => {
    if (glob.startsWith('/')) problems.push(`${where}.globs[${globIndex}] "${glob}" must be relative to path; drop the leading /`);
    if (/^s3:\/\//i.test(glob)) problems.push(`${where}.globs[${globIndex}] must be a pattern relative to path, not an s3:// URL`);
  });
  return { kind: 'files', name: stream.name, globs, format: resolveFormat(stream.format, fileType), primaryKey };
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

/** Fields the spec does not know are ignored, but said, since they are usually typos. */
function unknownFieldWarnings(schema: JsonSchema, value: unknown, path: string): string[] {
  if (value === null || typeof value !== 'object') return [];
  const warnings: string[] = [];
  if (Array.isArray(value)) {
    const items = schema.items as JsonSchema | undefined;
    if (items !== undefined) value.forEach((item, index) => warnings.push(...unknownFieldWarnings(items, item, `${path}[${index}]`)));
    return warnings;
  }
  const effective = selectedVariant(schema, value) ?? schema;
  const properties = (effective.properties ?? schema.properties) as Record<string, JsonSchema> | undefined;
  if (properties === undefined) return warnings;
  for (const [name, child] of Object.entries(value as Record<string, unknown>)) {
    const childPath = path === '' ? name : `${path}.${name}`;
    const childSchema = properties[name];
    if (childSchema === undefined) warnings.push(`Unknown config field ${childPath} is ignored; known fields here: ${Object.keys(properties).join(', ')}`);
    else warnings.push(...unknownFieldWarnings(childSchema, child, childPath));
  }
  return warnings;
}
