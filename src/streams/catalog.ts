import type { StreamConfig } from '../config/resolved.js';
import type { AirbyteStream } from '../generated/protocol.js';
import { configError } from '../protocol/errors.js';
import { FILE_LAST_MODIFIED_COLUMN, type InferredSchema } from './schema.js';

/** The catalog entry of a discovered stream. A primary key that is not a column is the user's mistake. */
export function airbyteStream(stream: StreamConfig, schema: InferredSchema): AirbyteStream {
  const properties = (schema.jsonSchema.properties ?? {}) as Record<string, unknown>;
  // Known only from files with rows: a stream with none yet (or only empty ones) has no columns to hold a key.
  const hasColumns = schema.sampledFiles.length > 0 || schema.declared === true;
  if (hasColumns) {
    const missing = stream.primaryKey.filter((column) => !(column in properties));
    if (missing.length > 0) {
      const columns = schema.columns.map((column) => column.name).join(', ');
      throw configError(
        `Stream "${stream.name}": primary_key ${missing.map((column) => `"${column}"`).join(', ')} ${missing.length === 1 ? 'is not a column' : 'are not columns'} of its files (columns: ${columns}). Fix the stream's primary_key.`,
        { streamName: stream.name },
      );
    }
  }
  return {
    name: stream.name,
    json_schema: schema.jsonSchema,
    supported_sync_modes: ['full_refresh', 'incremental'],
    source_defined_cursor: false,
    // A query stream has no file cursor: users pick one of its columns.
    ...(stream.kind === 'files' ? { default_cursor_field: [FILE_LAST_MODIFIED_COLUMN] } : {}),
    ...(stream.primaryKey.length > 0 && hasColumns ? { source_defined_primary_key: stream.primaryKey.map((column) => [column]) } : {}),
    is_resumable: true,
  };
}
