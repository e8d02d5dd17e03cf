import { sqlIdentifier, sqlString } from './sql.js';
import { exactCast, numberAsWritten } from './exact-cast.js';
import { caseCollisions } from './json-keys.js';
import { duckTypeForSchema, duckTypeToJsonSchema, isInteger, isPrimitive, isText, schemaShape, type DuckType, type JsonSchema } from './types.js';

const ISO_LOCAL = '%Y-%m-%dT%H:%M:%S.%f';
const TIMESTAMPS = ['TIMESTAMP', 'TIMESTAMP_S', 'TIMESTAMP_MS'];
const JSON_TYPE: DuckType = { kind: 'primitive', name: 'JSON' };
const TEXT: DuckType = { kind: 'primitive', name: 'VARCHAR' };

export interface RecordColumn {
  name: string;
  /** The column's type as the file is read (JSON for JSON Lines columns read raw). */
  type: DuckType;
  /** The column's schema in the configured catalog, when it has one: values are made to fit it. */
  target?: JsonSchema;
  /** An expression to read instead of the column itself. */
  source?: string;
}

export interface RecordSelect {
  stream: string;
  /** The table expression that reads the file, e.g. read_parquet('...'). */
  reader: string;
  columns: RecordColumn[];
  /** Constant columns added to every record (the _ab_ file columns). */
  constants: Record<string, string>;
  /** Text columns added to every record as SQL expressions (the _ab_ file columns of a batch, per row's file). */
  computed?: Record<string, string>;
  emittedAt: number;
  /** A SQL condition on the reader's columns (a cursor filter). */
  where?: string;
  /** Rows of the (filtered) file to skip: a resumed file. */
  offset?: number;
  /** Rows come in the order of this expression, nulls first (a model query read in cursor order, to resume by value). */
  orderBy?: string;
  /** The columns go inside one object column of this name (a schemaless stream's `data`), the constants beside it. */
  rowObject?: string;
}

export interface ColumnValue {
  /** The expression emitted under the column's name. */
  value: string;
  /** When a value had to be nulled because it does not fit the catalog's type: true for that row. */
  nulledWhen?: string;
}

/**
 * SQL producing one Airbyte RECORD message per row, serialized by DuckDB's
 * JSON writer (vectorized), so Node only forwards bytes. Values are shaped
 * where DuckDB's JSON differs from what Airbyte expects (ISO 8601 timestamps
 * with `T`, UTC `Z` for zoned ones, base64 blobs, null for NaN/Infinity, at any
 * depth) and cast to the catalog's type where a file disagrees with it; a value
 * that cannot be cast becomes null and is reported in the record's
 * meta.changes (NULLED, SOURCE_SERIALIZATION_ERROR), as the protocol provides.
 */
export function recordSelectSql(select: RecordSelect): string {
  const values = select.columns.map((column) => ({ column, ...columnValue(column) }));
  const columnFields = values.map(({ column, value }): [string, string] => [column.name, value]);
  const fields: [string, string][] = [
    ...(select.rowObject === undefined ? columnFields : [[select.rowObject, objectSql(columnFields)] as [string, string]]),
    ...Object.entries(select.constants).map(([name, value]): [string, string] => [name, sqlString(value)]),
    ...Object.entries(select.computed ?? {}),
  ];
  const data = objectSql(fields);
  const nulled = values.filter((entry) => entry.nulledWhen !== undefined);
  const meta =
    nulled.length === 0
      ? ''
      : `, "meta" := struct_pack("changes" := list_transform(list_filter([${nulled
          .map((entry) => `CASE WHEN ${entry.nulledWhen} THEN ${sqlString(entry.column.name)} END`)
          .join(', ')}], lambda f: f IS NOT NULL), lambda f: struct_pack("field" := f, "change" := 'NULLED', "reason" := 'SOURCE_SERIALIZATION_ERROR')))`;
  const record = `struct_pack("stream" := ${sqlString(select.stream)}, "data" := ${data}, "emitted_at" := ${Math.trunc(select.emittedAt)}::BIGINT${meta})`;
  const where = select.where === undefined ? '' : ` WHERE ${select.where}`;
  const offset = select.offset !== undefined && select.offset > 0 ? ` OFFSET ${Math.trunc(select.offset)}` : '';
  const records = `SELECT 'RECORD' AS "type", ${record} AS "record"`;
  if (select.orderBy === undefined) return `${records} FROM ${select.reader}${where}${offset}`;
  // The sort key is computed inside: an ORDER BY next to the output would bind a source column named
  // "type" or "record" to the output's own columns.
  return `SELECT "type", "record" FROM (${records}, ${select.orderBy} AS "order_key" FROM ${select.reader}${where}) ORDER BY "order_key" NULLS FIRST${offset}`;
}

/** A JSON object of named values, as DuckDB's JSON writer embeds it. */
function objectSql(fields: [string, string][]): string {
  // A struct's field names are case-insensitive in DuckDB: names differing only in case ("Name",
  // "name", JSON Lines keys) are built as a JSON object instead, which DuckDB's writer embeds as is.
  const caseSensitive = caseCollisions(fields.map(([name]) => name)).length > 0;
  return caseSensitive
    ? `json_object(${fields.map(([name, value]) => `${sqlString(name)}, ${value}`).join(', ')})`
    : `struct_pack(${fields.map(([name, value]) => `${sqlIdentifier(name)} := ${value}`).join(', ')})`;
}

/** The column as a value of the catalog's type, before JSON shaping; undefined when the file's own value fits. */
export function castToCatalog(column: RecordColumn): { expression: string; type: DuckType } | undefined {
  const reference = column.source ?? sqlIdentifier(column.name);
  const targetShape = schemaShape(column.target);
  if (column.target === undefined || targetShape === 'any') return undefined;
  const isRawJson = column.type.kind === 'primitive' && column.type.name === 'JSON';
  if (!isRawJson && schemaShape(duckTypeToJsonSchema(column.type)) === targetShape) return undefined;
  if (targetShape === 'object') return objectCast(reference, column.type, isRawJson);
  const type = duckTypeForSchema(column.target);
  if (type.kind === 'primitive' && type.name === 'JSON') return undefined;
  if (type.kind === 'primitive' && type.name === 'VARCHAR') {
    // Text: DuckDB's text form; JSON text for nested values; a JSON string's content, unquoted.
    if (isRawJson) return { expression: `(${reference} ->> '$')`, type };
    return { expression: column.type.kind === 'primitive' || column.type.kind === 'decimal' ? `CAST(${reference} AS VARCHAR)` : `CAST(to_json(${reference}) AS VARCHAR)`, type };
  }
  // A raw JSON scalar is cast from its text (a string's content, a number's digits as written), by the text rules.
  if (isRawJson && type.kind === 'primitive' && type.name !== 'BOOLEAN') return { expression: exactCast(`(${reference} ->> '$')`, TEXT, type), type };
  return { expression: exactCast(reference, column.type, type), type };
}

/** An object column's value from one that is not a struct or map: a JSON object (raw, or as text), else null. */
function objectCast(reference: string, from: DuckType, isRawJson: boolean): { expression: string; type: DuckType } {
  if (isRawJson) return { expression: `CASE WHEN json_type(${reference}) = 'OBJECT' THEN ${reference} END`, type: JSON_TYPE };
  if (isText(from)) return { expression: `CASE WHEN json_valid(${reference}) AND json_type(${reference}) = 'OBJECT' THEN CAST(${reference} AS JSON) END`, type: JSON_TYPE };
  return { expression: 'CAST(NULL AS JSON)', type: JSON_TYPE };
}

/** The expression emitting a column, and when it was nulled for not fitting the catalog. */
export function columnValue(column: RecordColumn): ColumnValue {
  const reference = column.source ?? sqlIdentifier(column.name);
  const toNumber = column.target !== undefined && schemaShape(column.target) === 'number';
  if (toNumber && isExactNumber(column.type)) return { value: jsonShaped(reference, column.type, 0) ?? reference };
  const isRawJson = isPrimitive(column.type, ['JSON']);
  const present = isRawJson ? `${reference} IS NOT NULL AND json_type(${reference}) <> 'NULL'` : `${reference} IS NOT NULL`;
  const text = isRawJson ? `(${reference} ->> '$')` : isText(column.type) ? reference : undefined;
  if (text !== undefined && toNumber) {
    // Text to a number: the digits as written, never rounded through a DOUBLE.
    const value = numberAsWritten(text);
    return { value, nulledWhen: `${present} AND (${value}) IS NULL` };
  }
  const cast = castToCatalog(column);
  if (cast === undefined) return { value: jsonShaped(reference, column.type, 0) ?? reference };
  const value = jsonShaped(cast.expression, cast.type, 0) ?? cast.expression;
  if (isText(cast.type)) return { value };
  // NaN, infinities and infinite dates have no JSON form: emitted as null, so reported like a value that did not fit.
  const lost = hasNonFiniteValues(cast.type) ? `(${cast.expression} IS NULL OR NOT isfinite(${cast.expression}))` : `${cast.expression} IS NULL`;
  return { value, nulledWhen: `${present} AND ${lost}` };
}

/** Integers and decimals are JSON numbers already: emitted as they are for a number column, never rounded through a DOUBLE. */
function isExactNumber(type: DuckType): boolean {
  return type.kind === 'decimal' || isInteger(type);
}

function hasNonFiniteValues(type: DuckType): boolean {
  return type.kind === 'primitive' && ['FLOAT', 'DOUBLE', 'DATE', 'TIMESTAMP', 'TIMESTAMP WITH TIME ZONE'].includes(type.name);
}

/** A column's value in the catalog's type, for comparing cursors; TRY_CAST so a stray value is null, not an error. */
export function cursorExpression(column: RecordColumn): { expression: string; type: DuckType } {
  const cast = castToCatalog(column);
  if (cast !== undefined) return cast;
  const reference = column.source ?? sqlIdentifier(column.name);
  if (column.type.kind === 'primitive' && column.type.name === 'JSON') return { expression: `(${reference} ->> '$')`, type: { kind: 'primitive', name: 'VARCHAR' } };
  return { expression: reference, type: column.type };
}

/** The expression giving Airbyte's JSON form of `expression`, or undefined when DuckDB's own JSON is already right. */
function jsonShaped(expression: string, type: DuckType, depth: number): string | undefined {
  switch (type.kind) {
    case 'primitive':
      // Infinite dates and timestamps have no ISO form: null.
      if (TIMESTAMPS.includes(type.name)) return `CASE WHEN isfinite(${expression}) THEN strftime(${expression}::TIMESTAMP, '${ISO_LOCAL}') END`;
      if (type.name === 'TIMESTAMP_NS') return `CASE WHEN isfinite(${expression}) THEN strftime(${expression}, '%Y-%m-%dT%H:%M:%S.%n') END`;
      if (type.name === 'TIMESTAMP WITH TIME ZONE') return `CASE WHEN isfinite(${expression}) THEN strftime(timezone('UTC', ${expression}), '${ISO_LOCAL}Z') END`;
      if (type.name === 'DATE') return `CASE WHEN isfinite(${expression}) THEN ${expression} END`;
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
      // struct_extract, not `e0.value`: a dotted name binds to a column called e0 before the lambda's variable.
      const value = jsonShaped(`struct_extract(${variable}, 'value')`, type.value, depth + 1);
      if (value === undefined) return undefined;
      return `map_from_entries(list_transform(map_entries(${expression}), lambda ${variable}: struct_pack("key" := struct_extract(${variable}, 'key'), "value" := ${value})))`;
    }
    default:
      return undefined;
  }
}

export { JSON_TYPE };
