import type { Authentication } from '../generated/config.js';

export type { CsvFormat, FileFormat, FileType } from '../engine/formats.js';
import type { FileFormat } from '../engine/formats.js';
import type { DeliveryMethod } from './delivery.js';
export type { DeliveryMethod } from './delivery.js';

interface StreamBase {
  name: string;
  primaryKey: string[];
}

/** A stream of files matched by globs under the path prefix. */
export interface FileStreamConfig extends StreamBase {
  kind: 'files';
  globs: string[];
  format: FileFormat;
  /** The stream made from path and file_type when no streams are configured. */
  isDefault: boolean;
  /** Malformed CSV rows: fail the read, or skip and count them. */
  onError: 'fail' | 'skip';
  /** The user's schema (input_schema): its columns are the stream's, never inferred. */
  inputSchema?: UserSchema;
  /** Each row emitted as one `data` object holding all its columns (set only when true). */
  schemaless?: true;
}

/** A stream's input_schema, parsed: a JSON Schema object with every column nullable. */
export interface UserSchema {
  schema: { [keyword: string]: unknown };
  columns: string[];
}

/** A stream defined by a SQL model query. */
export interface QueryStreamConfig extends StreamBase {
  kind: 'query';
  query: string;
}

export type StreamConfig = FileStreamConfig | QueryStreamConfig;

/** The configuration after validation, with defaults applied and values normalized. */
export interface ResolvedConfig {
  bucket: string;
  region: string;
  credentials: Authentication;
  /** Absolute URL of an S3-compatible endpoint, or undefined for AWS. */
  endpoint?: string;
  forcePathStyle: boolean;
  /** '' or a key prefix ending in '/'. */
  pathPrefix: string;
  startDate?: Date;
  streams: StreamConfig[];
  /** Records parsed from the files, or the files themselves copied (raw-file transfer). */
  delivery: DeliveryMethod;
}
