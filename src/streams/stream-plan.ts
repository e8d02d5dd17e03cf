import type { StreamConfig } from '../config/resolved.js';
import { withUserSchema } from './user-schema.js';
import type { JsonSchema } from '../engine/types.js';
import type { ConfiguredAirbyteStream } from '../generated/protocol.js';
import { configError } from '../protocol/errors.js';
import { settings } from '../settings.js';
import { FILE_LAST_MODIFIED_COLUMN, FILE_URL_COLUMN } from './schema.js';

/** Records between two safe points inside a file or batch (where a STATE may be printed): SOURCE_S3_CHECKPOINT_RECORDS, default 10,000. */
export function checkpointEvery(): number {
  return settings().checkpointRecords;
}

export interface StreamPlan {
  name: string;
  cursorField: string;
  /** Set for a column cursor; undefined for the file cursor. */
  cursorColumn: string | undefined;
  /** The catalog's data columns (without the _ab_ ones); empty means "every column of the file". */
  catalogColumns: Map<string, JsonSchema>;
  /** input_schema: a catalog column a file lacks is emitted as null (its columns are the stream's, whatever each file has). */
  fillMissing?: true;
  /** schemaless: every column of the file, emitted inside one object column of this name. */
  rowObject?: string;
}

/** Checks the configured stream against what this stream can do, before anything is read. */
export function planStream(configured: ConfiguredAirbyteStream, stream: StreamConfig): StreamPlan {
  const name = stream.name;
  const properties = (configured.stream.json_schema.properties ?? {}) as Record<string, JsonSchema>;
  const catalogColumns = new Map(Object.entries(properties).filter(([column]) => column !== FILE_URL_COLUMN && column !== FILE_LAST_MODIFIED_COLUMN));
  const known = Object.keys(properties);
  const incremental = configured.sync_mode === 'incremental';
  const path = configured.cursor_field ?? [];
  if (incremental && path.length > 1) {
    throw configError(`Stream "${name}": cursor_field ${JSON.stringify(path)} is nested; use a top-level column.`, { streamName: name });
  }
  const cursorField = incremental && path.length === 1 ? path[0]! : FILE_LAST_MODIFIED_COLUMN;
  if (incremental && cursorField !== FILE_LAST_MODIFIED_COLUMN && !(cursorField in properties && cursorField !== FILE_URL_COLUMN)) {
    throw configError(
      `Stream "${name}": cursor_field "${cursorField}" is not a column of the stream (columns: ${known.join(', ')}). Pick a top-level column, or ${FILE_LAST_MODIFIED_COLUMN}.`,
      { streamName: name },
    );
  }
  for (const key of configured.primary_key ?? []) {
    if (key.length !== 1 || !(key[0]! in properties)) {
      throw configError(`Stream "${name}": primary_key ${JSON.stringify(key)} is not a top-level column of the stream (columns: ${known.join(', ')}).`, { streamName: name });
    }
  }
  const plan: StreamPlan = { name, cursorField, cursorColumn: cursorField === FILE_LAST_MODIFIED_COLUMN ? undefined : cursorField, catalogColumns };
  return stream.kind === 'files' ? withUserSchema(plan, stream) : plan;
}
