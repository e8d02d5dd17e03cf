import { isRecord } from '../protocol/json-object.js';

type JsonSchema = { [keyword: string]: unknown };

/**
 * A stream's `input_schema` as Airbyte users paste it: Airbyte's simple type
 * mapping (`{"id": "integer", "name": "string"}`, the form Airbyte's S3 source
 * takes) or a JSON Schema object (`{"type": "object", "properties": {...}}`),
 * as a JSON string. Either becomes a JSON Schema object whose columns are all
 * nullable: a value that does not fit its type is emitted as null.
 */
export type ParsedInputSchema = { schema: JsonSchema; columns: string[] } | { problem: string };

/** Airbyte's type names (matched ignoring case), plus the temporal ones its schemas express with `format`. */
export const SIMPLE_TYPES: Record<string, JsonSchema> = {
  string: { type: 'string' },
  integer: { type: 'integer' },
  number: { type: 'number' },
  float: { type: 'number' },
  boolean: { type: 'boolean' },
  object: { type: 'object' },
  array: { type: 'array' },
  null: { type: 'null' },
  date: { type: 'string', format: 'date' },
  timestamp: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_without_timezone' },
  timestamp_with_timezone: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' },
};

const JSON_TYPES = new Set(['string', 'integer', 'number', 'boolean', 'object', 'array', 'null']);

/** Parses and checks `input_schema`; the problem says what is wrong, without the field's name (the caller adds it). */
export function parseInputSchema(text: string): ParsedInputSchema {
  if (text.trim() === '') return { problem: 'is empty; give a JSON object such as {"id": "integer", "name": "string"}' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { problem: `is not valid JSON (${(error as Error).message.slice(0, 120)}); give a JSON object such as {"id": "integer", "name": "string"}` };
  }
  if (!isRecord(parsed)) return { problem: `must be a JSON object such as {"id": "integer", "name": "string"} (got ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : `a ${typeof parsed}`})` };
  const isSimpleMapping = !('properties' in parsed) && Object.values(parsed).every((value) => typeof value === 'string');
  return isSimpleMapping ? fromTypeMapping(parsed as Record<string, string>) : fromJsonSchema(parsed);
}

function fromTypeMapping(mapping: Record<string, string>): ParsedInputSchema {
  const properties: [string, JsonSchema][] = [];
  for (const [rawName, rawType] of Object.entries(mapping)) {
    const name = rawName.trim();
    if (name === '') return { problem: 'has an empty column name' };
    const type = SIMPLE_TYPES[rawType.trim().toLowerCase()];
    if (type === undefined) return { problem: `gives column "${name}" the unknown type "${rawType.slice(0, 40)}"; use one of ${Object.keys(SIMPLE_TYPES).join(', ')}` };
    properties.push([name, nullable(type)]);
  }
  return withColumns(properties);
}

function fromJsonSchema(schema: Record<string, unknown>): ParsedInputSchema {
  if (schema.type !== undefined && schema.type !== 'object') return { problem: `must describe an object ("type": "object"), not ${JSON.stringify(schema.type).slice(0, 40)}` };
  if (!isRecord(schema.properties)) return { problem: 'must have "properties": an object of column name -> JSON Schema, or be a simple mapping such as {"id": "integer"}' };
  const properties: [string, JsonSchema][] = [];
  for (const [name, property] of Object.entries(schema.properties)) {
    if (name.trim() === '') return { problem: 'has an empty column name' };
    if (!isRecord(property)) return { problem: `gives column "${name}" a schema that is not an object (use e.g. {"type": "integer"})` };
    const problem = typeProblem(property, `column "${name}"`);
    if (problem !== undefined) return { problem };
    properties.push([name, nullable(property)]);
  }
  return withColumns(properties);
}

/** Deeper schemas are refused: each level is a nested list or object in SQL, and checked by recursion. */
const MAX_DEPTH = 32;

/** Every `type` in the column's schema (nested ones too) must name a JSON Schema type. */
function typeProblem(schema: Record<string, unknown>, where: string, depth = 0): string | undefined {
  if (depth > MAX_DEPTH) return `nests ${where.slice(0, 200)} more than ${MAX_DEPTH} levels deep (items or properties inside each other); flatten it, or give it {"type": "object"} or {"type": "array"} without the inner levels`;
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  if (schema.type === undefined) return `gives ${where} no "type"; use one of ${[...JSON_TYPES].join(', ')}`;
  for (const type of types) {
    if (typeof type !== 'string' || !JSON_TYPES.has(type)) return `gives ${where} the unknown type ${JSON.stringify(type).slice(0, 40)}; use one of ${[...JSON_TYPES].join(', ')}`;
  }
  if (isRecord(schema.items)) {
    const problem = typeProblem(schema.items, depth === 0 ? `the items of ${where}` : where, depth + 1);
    if (problem !== undefined) return problem;
  }
  if (isRecord(schema.properties)) {
    for (const [field, inner] of Object.entries(schema.properties)) {
      if (!isRecord(inner)) return `gives field "${field}" of ${where} a schema that is not an object`;
      const problem = typeProblem(inner, depth === 0 ? `field "${field.slice(0, 100)}" of ${where}` : where, depth + 1);
      if (problem !== undefined) return problem;
    }
  }
  return undefined;
}

/** Built from entries: an assignment to `properties["__proto__"]` would set the object's prototype and drop the column. */
function withColumns(entries: [string, JsonSchema][]): ParsedInputSchema {
  const columns = entries.map(([name]) => name);
  if (columns.length === 0) return { problem: 'has no columns; name at least one, e.g. {"id": "integer"}' };
  const repeated = columns.find((name, index) => columns.indexOf(name) !== index);
  if (repeated !== undefined) return { problem: `names column "${repeated.slice(0, 100)}" twice (names are compared after trimming spaces)` };
  return { schema: { type: 'object', properties: Object.fromEntries(entries) }, columns };
}

/** A column may always be null: a value that does not fit its type, or a column a file lacks, is emitted as null. */
function nullable(schema: JsonSchema): JsonSchema {
  const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
  return types.includes('null') ? schema : { ...schema, type: ['null', ...types] };
}

/** What is wrong with a configured stream's input_schema and schemaless (`where` is e.g. `streams[0]`), for config validation. */
export function userSchemaProblems(stream: Record<string, unknown>, where: string): string[] {
  const problems: string[] = [];
  const named = typeof stream.name === 'string' ? ` (stream "${stream.name}")` : '';
  const hasInputSchema = typeof stream.input_schema === 'string';
  const schemaless = stream.schemaless === true;
  if (stream.query !== undefined) {
    if (hasInputSchema) problems.push(`${where}.input_schema${named} cannot be used with query: a model query's columns are its SELECT's; remove input_schema (cast in the SQL instead)`);
    if (schemaless) problems.push(`${where}.schemaless${named} cannot be used with query: a model query's columns are its SELECT's; remove schemaless`);
    return problems;
  }
  if (hasInputSchema && schemaless) {
    problems.push(`${where}${named} has both input_schema and schemaless: input_schema names the columns, schemaless emits every column in one data object; keep one`);
    return problems;
  }
  const primaryKey = Array.isArray(stream.primary_key) ? stream.primary_key.filter((key): key is string => typeof key === 'string') : [];
  if (schemaless && primaryKey.length > 0) {
    problems.push(`${where}.primary_key${named} cannot be used with schemaless: its records have only the data object and the _ab_ columns; remove primary_key or schemaless`);
  }
  if (!hasInputSchema) return problems;
  const parsed = parseInputSchema(stream.input_schema as string);
  if ('problem' in parsed) {
    problems.push(`${where}.input_schema${named} ${parsed.problem}`);
    return problems;
  }
  const missing = primaryKey.filter((key) => !parsed.columns.includes(key));
  if (missing.length > 0) {
    problems.push(
      `${where}.primary_key${named} ${missing.map((key) => `"${key}"`).join(', ')} ${missing.length === 1 ? 'is not a column' : 'are not columns'} of its input_schema (columns: ${parsed.columns.join(', ')})`,
    );
  }
  return problems;
}
