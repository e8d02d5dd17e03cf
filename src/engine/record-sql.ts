import { sqlIdentifier, sqlString } from './sql.js';
import type { DuckType, JsonSchema } from './types.js';

const ISO_LOCAL = '%Y-%m-%dT%H:%M:%S.%f';
const TIMESTAMPS = ['TIMESTAMP', 'TIMESTAMP_S', 'TIMESTAMP_MS', 'TIMESTAMP_NS'];
const STRING_LIKE = ['VARCHAR', 'UUID', 'JSON'];

export interface RecordColumn {
  name: string;
  type: DuckType;
  /** The column's schema in the configured catalog, when it has one: values are shaped to fit it. */
  target?: JsonSchema;
}

export interface RecordSelect {
  stream: string;
  /** The table expression that reads the file, e.g. read_parquet('...'). */
  reader: string;
  columns: RecordColumn[];
  /** Constant columns added to every record (the _ab_ file columns). */
  constants: Record<string, string>;
  emittedAt: number;
  /** A SQL condition on the reader's columns (a cursor filter). */
  where?: string;
  /** Rows of the (filtered) file to skip: a resumed file. */
  offset?: number;
}

/**
 * SQL producing one Airbyte RECORD message per row, serialized by DuckDB's
 * JSON writer (vectorized), so Node only forwards bytes. Values are shaped
 * where DuckDB's JSON differs from what Airbyte expects: ISO 8601 timestamps
 * with `T` (UTC `Z` for zoned ones), base64 blobs, null for NaN/Infinity
 * (not JSON), at any nesting depth.
 */
export function recordSelectSql(select: RecordSelect): string {
  const data = [
    ...select.columns.map((column) => `${sqlIdentifier(column.name)} := ${columnExpression(column)}`),
    ...Object.entries(select.constants).map(([name, value]) => `${sqlIdentifier(name)} := ${sqlString(value)}`),
  ];
  const record = `struct_pack("stream" := ${sqlString(select.stream)}, "data" := struct_pack(${data.join(', ')}), "emitted_at" := ${Math.trunc(select.emittedAt)}::BIGINT)`;
  const where = select.where === undefined ? '' : ` WHERE ${select.where}`;
  const offset = select.offset !== undefined && select.offset > 0 ? ` OFFSET ${Math.trunc(select.offset)}` : '';
  return `SELECT 'RECORD' AS "type", ${record} AS "record" FROM ${select.reader}${where}${offset}`;
}

/** The expression emitting a column: shaped for JSON, and widened to the catalog's type where the file's type differs. */
export function columnExpression(column: RecordColumn): string {
  const reference = sqlIdentifier(column.name);
  const targetTypes = nonNullTypes(column.target);
  if (targetTypes.length === 1 && targetTypes[0] === 'string') {
    // The catalog widened this column to text (files disagreed): text it is.
    if (column.type.kind === 'primitive' && column.type.name === 'DATE' && column.target?.format === 'date-time') {
      return `strftime(${reference}::TIMESTAMP, '${ISO_LOCAL}')`;
    }
    if (!isTextual(column.type)) {
      return jsonShaped(reference, column.type, 0) ?? (column.type.kind === 'primitive' ? `CAST(${reference} AS VARCHAR)` : `CAST(to_json(${reference}) AS VARCHAR)`);
    }
  }
  return jsonShaped(reference, column.type, 0) ?? reference;
}

/** Text, or a type whose JSON form is already a string. */
function isTextual(type: DuckType): boolean {
  if (type.kind === 'enum') return true;
  if (type.kind !== 'primitive') return false;
  return STRING_LIKE.includes(type.name) || TIMESTAMPS.includes(type.name) || ['DATE', 'TIME', 'TIME WITH TIME ZONE', 'TIMESTAMP WITH TIME ZONE', 'BLOB', 'INTERVAL', 'BIT'].includes(type.name);
}

function nonNullTypes(schema: JsonSchema | undefined): string[] {
  if (schema === undefined) return [];
  const type = schema.type;
  const types = Array.isArray(type) ? type : type === undefined ? [] : [type];
  return types.filter((name): name is string => typeof name === 'string' && name !== 'null');
}

/** The expression giving Airbyte's JSON form of `expression`, or undefined when DuckDB's own JSON is already right. */
function jsonShaped(expression: string, type: DuckType, depth: number): string | undefined {
  switch (type.kind) {
    case 'primitive':
      if (TIMESTAMPS.includes(type.name)) return `strftime(${expression}::TIMESTAMP, '${ISO_LOCAL}')`;
      if (type.name === 'TIMESTAMP WITH TIME ZONE') return `strftime(timezone('UTC', ${expression}), '${ISO_LOCAL}Z')`;
      if (type.name === 'BLOB') return `base64(${expression})`;
      if (type.name === 'FLOAT' || type.name === 'DOUBLE') return `CASE WHEN isfinite(${expression}) THEN ${expression} END`;
      return undefined;
    case 'list': {
      const variable = `x${depth}`;
      const inner = jsonShaped(variable, type.items, depth + 1);
      return inner === undefined ? undefined : `list_transform(${expression}, lambda ${variable}: ${inner})`;
    }
    case 'struct': {
      const fields = type.fields.map((field) => {
        const access = `struct_extract(${expression}, ${sqlString(field.name)})`;
        return { field, shaped: jsonShaped(access, field.type, depth + 1), access };
      });
      if (fields.every((entry) => entry.shaped === undefined)) return undefined;
      const packed = fields.map((entry) => `${sqlIdentifier(entry.field.name)} := ${entry.shaped ?? entry.access}`).join(', ');
      return `CASE WHEN ${expression} IS NULL THEN NULL ELSE struct_pack(${packed}) END`;
    }
    case 'map': {
      const variable = `e${depth}`;
      const value = jsonShaped(`${variable}.value`, type.value, depth + 1);
      if (value === undefined) return undefined;
      return `map_from_entries(list_transform(map_entries(${expression}), lambda ${variable}: struct_pack("key" := ${variable}.key, "value" := ${value})))`;
    }
    default:
      return undefined;
  }
}
