import type { FileStreamConfig } from '../config/resolved.js';
import type { RecordColumn } from '../engine/record-sql.js';
import { duckTypeForSchema, type DuckType, type JsonSchema } from '../engine/types.js';
import { configError } from '../protocol/errors.js';
import { FILE_LAST_MODIFIED_COLUMN, FILE_URL_COLUMN, streamJsonSchema, type InferredSchema } from './schema.js';
import type { StreamPlan } from './stream-plan.js';

/** The column that holds each row of a schemaless stream (Airbyte's name). */
export const SCHEMALESS_COLUMN = 'data';

/**
 * The schema of a stream whose columns the user gave (input_schema) or that
 * has none (schemaless): known from the config alone, so discover reads no
 * file for it. Undefined for a stream whose schema is inferred.
 */
export function declaredSchema(stream: FileStreamConfig): InferredSchema | undefined {
  if (stream.schemaless === true) {
    const jsonSchema = streamJsonSchema([]);
    // Airbyte's schemaless schema: one object column; the file columns beside it.
    jsonSchema.properties = { [SCHEMALESS_COLUMN]: { type: 'object' }, ...(jsonSchema.properties as Record<string, JsonSchema>) };
    return { columns: [], jsonSchema, fileCount: 0, sampledFiles: [], declared: true };
  }
  if (stream.inputSchema === undefined) return undefined;
  const properties = stream.inputSchema.schema.properties as Record<string, JsonSchema>;
  const jsonSchema = streamJsonSchema([]);
  const fileColumns = jsonSchema.properties as Record<string, JsonSchema>;
  // The user's columns first, in their order; a column of theirs named like a file column yields to it.
  jsonSchema.properties = { ...properties, [FILE_URL_COLUMN]: fileColumns[FILE_URL_COLUMN]!, [FILE_LAST_MODIFIED_COLUMN]: fileColumns[FILE_LAST_MODIFIED_COLUMN]! };
  const columns = Object.entries(properties).map(([name, schema]) => ({ name, type: duckTypeForSchema(schema) }));
  return { columns, jsonSchema, fileCount: 0, sampledFiles: [], declared: true };
}

/**
 * A read plan for a stream with input_schema or schemaless. input_schema: the
 * user's columns (those the catalog selects, when it names any), typed as the
 * user said, and null where a file lacks one. schemaless: every column of each
 * file, in one `data` object; only the file cursor applies.
 */
export function withUserSchema(plan: StreamPlan, stream: FileStreamConfig): StreamPlan {
  if (stream.schemaless === true) {
    if (plan.cursorColumn !== undefined) {
      throw configError(
        `Stream "${plan.name}": cursor_field "${plan.cursorColumn}" cannot be used: the stream is schemaless (its rows are one ${SCHEMALESS_COLUMN} object). Use ${FILE_LAST_MODIFIED_COLUMN}.`,
        { streamName: plan.name },
      );
    }
    return { ...plan, catalogColumns: new Map(), rowObject: SCHEMALESS_COLUMN };
  }
  if (stream.inputSchema === undefined) return plan;
  const properties = stream.inputSchema.schema.properties as Record<string, JsonSchema>;
  const picked = stream.inputSchema.columns.filter((column) => plan.catalogColumns.has(column));
  // A catalog that selects none of them (no columns, or one discovered before input_schema was set): all of them.
  const selected = picked.length === 0 ? stream.inputSchema.columns : picked;
  if (plan.cursorColumn !== undefined && !selected.includes(plan.cursorColumn)) {
    throw configError(`Stream "${plan.name}": cursor_field "${plan.cursorColumn}" is not a column of its input_schema (columns: ${stream.inputSchema.columns.join(', ')}).`, {
      streamName: plan.name,
    });
  }
  return { ...plan, catalogColumns: new Map(selected.map((column) => [column, properties[column]!])), fillMissing: true };
}

const ABSENT: DuckType = { kind: 'primitive', name: 'NULL' };

/** input_schema columns a file lacks, emitted as null (after the file's own, which stay in the file's order). */
export function absentColumns(plan: StreamPlan, fileColumns: RecordColumn[]): RecordColumn[] {
  if (plan.fillMissing !== true) return [];
  const present = new Set(fileColumns.map((column) => column.name));
  return [...plan.catalogColumns.keys()].filter((name) => !present.has(name)).map((name) => ({ name, type: ABSENT, source: 'NULL' }));
}

/** Whether the column is one a file lacks (see absentColumns): it cannot hold a cursor. */
export const isAbsentColumn = (column: RecordColumn): boolean => column.source === 'NULL' && column.type.kind === 'primitive' && column.type.name === 'NULL';
