/**
 * DuckDB logical types as a tree: parsed from the strings DESCRIBE prints,
 * widened when files disagree, printed back for CAST, and mapped to JSON Schema.
 */
export type DuckType =
  | { kind: 'primitive'; name: string }
  | { kind: 'decimal'; precision: number; scale: number }
  | { kind: 'list'; items: DuckType; size?: number }
  | { kind: 'struct'; fields: { name: string; type: DuckType }[] }
  | { kind: 'map'; key: DuckType; value: DuckType }
  | { kind: 'union'; members: { name: string; type: DuckType }[] }
  | { kind: 'enum' };

const VARCHAR: DuckType = { kind: 'primitive', name: 'VARCHAR' };
const DOUBLE: DuckType = { kind: 'primitive', name: 'DOUBLE' };
const JSON_TYPE: DuckType = { kind: 'primitive', name: 'JSON' };

/** Parses a DuckDB type string such as `STRUCT("a b" INTEGER, c VARCHAR[])[]` or `TIMESTAMP WITH TIME ZONE`. */
export function parseDuckType(text: string): DuckType {
  const parser = new TypeParser(text);
  const type = parser.type();
  parser.expectEnd();
  return type;
}

class TypeParser {
  private position = 0;
  constructor(private readonly text: string) {}

  type(): DuckType {
    let type = this.base();
    this.skipSpace();
    while (this.peek() === '[') {
      this.position++;
      const size = this.readWhile(/[0-9]/);
      this.expect(']');
      type = size === '' ? { kind: 'list', items: type } : { kind: 'list', items: type, size: Number(size) };
      this.skipSpace();
    }
    return type;
  }

  expectEnd(): void {
    this.skipSpace();
    if (this.position !== this.text.length) throw new Error(`unexpected "${this.text.slice(this.position)}" in type ${this.text}`);
  }

  private base(): DuckType {
    this.skipSpace();
    const words: string[] = [this.word()];
    // Multi-word names: TIMESTAMP WITH TIME ZONE, TIME WITH TIME ZONE, DOUBLE PRECISION.
    for (;;) {
      const save = this.position;
      this.skipSpace();
      const next = /[A-Za-z_]/.test(this.peek()) ? this.word() : '';
      if (next !== '' && /^(WITH|TIME|ZONE|PRECISION|VARYING)$/i.test(next)) words.push(next);
      else {
        this.position = save;
        break;
      }
    }
    const name = words.join(' ').toUpperCase();
    this.skipSpace();
    if (this.peek() !== '(') return { kind: 'primitive', name: canonicalName(name) };
    this.position++;
    switch (name) {
      case 'DECIMAL':
      case 'NUMERIC': {
        const precision = Number(this.readWhile(/[0-9]/));
        this.skipSpace();
        let scale = 0;
        if (this.peek() === ',') {
          this.position++;
          this.skipSpace();
          scale = Number(this.readWhile(/[0-9]/));
        }
        this.expect(')');
        return { kind: 'decimal', precision, scale };
      }
      case 'STRUCT':
      case 'UNION': {
        const fields = this.fields();
        // A struct of unnamed members (how Parquet carries a DuckDB UNION) has no stable keys: any JSON.
        const unnamed = fields.some((field, index) => field.name === String(index) && field.unnamed === true);
        const members = fields.map(({ name: fieldName, type }) => ({ name: fieldName, type }));
        return name === 'STRUCT' && !unnamed ? { kind: 'struct', fields: members } : { kind: 'union', members };
      }
      case 'MAP': {
        const key = this.type();
        this.expect(',');
        const value = this.type();
        this.expect(')');
        return { kind: 'map', key, value };
      }
      case 'ENUM':
        this.skipBalanced();
        return { kind: 'enum' };
      default:
        // VARCHAR(255) and the like: the length does not matter here.
        this.skipBalanced();
        return { kind: 'primitive', name: canonicalName(name) };
    }
  }

  /** `name TYPE, "quoted name" TYPE, ...)`; unnamed members (`STRUCT(INTEGER, VARCHAR)`) get their position as name. */
  private fields(): { name: string; type: DuckType; unnamed?: boolean }[] {
    const fields: { name: string; type: DuckType; unnamed?: boolean }[] = [];
    for (;;) {
      this.skipSpace();
      const start = this.position;
      let name: string;
      if (this.peek() === '"') name = this.quoted();
      else name = this.word();
      this.skipSpace();
      if (this.peek() === ',' || this.peek() === ')' || this.peek() === '[' || this.peek() === '(') {
        // What we read was a type, not a name.
        this.position = start;
        fields.push({ name: String(fields.length), type: this.type(), unnamed: true });
      } else {
        fields.push({ name, type: this.type() });
      }
      this.skipSpace();
      const next = this.text[this.position++];
      if (next === ')') return fields;
      if (next !== ',') throw new Error(`expected , or ) in type ${this.text}`);
    }
  }

  private quoted(): string {
    this.expect('"');
    let value = '';
    for (;;) {
      const char = this.text[this.position++];
      if (char === undefined) throw new Error(`unterminated quote in type ${this.text}`);
      if (char === '"') {
        if (this.peek() === '"') {
          value += '"';
          this.position++;
        } else return value;
      } else value += char;
    }
  }

  private word(): string {
    const word = this.readWhile(/[A-Za-z0-9_]/);
    if (word === '') throw new Error(`expected a name at "${this.text.slice(this.position)}" in type ${this.text}`);
    return word;
  }

  private skipBalanced(): void {
    let depth = 1;
    let inString = false;
    while (depth > 0 && this.position < this.text.length) {
      const char = this.text[this.position++];
      if (inString) {
        if (char === "'") inString = false;
      } else if (char === "'") inString = true;
      else if (char === '(') depth++;
      else if (char === ')') depth--;
    }
  }

  private readWhile(pattern: RegExp): string {
    const start = this.position;
    while (this.position < this.text.length && pattern.test(this.text[this.position]!)) this.position++;
    return this.text.slice(start, this.position);
  }

  private expect(char: string): void {
    this.skipSpace();
    if (this.text[this.position] !== char) throw new Error(`expected ${char} at "${this.text.slice(this.position)}" in type ${this.text}`);
    this.position++;
  }

  private peek(): string {
    return this.text[this.position] ?? '';
  }

  private skipSpace(): void {
    while (this.text[this.position] === ' ') this.position++;
  }
}

const ALIASES: Record<string, string> = {
  INT: 'INTEGER',
  INT4: 'INTEGER',
  INT8: 'BIGINT',
  INT2: 'SMALLINT',
  INT1: 'TINYINT',
  LONG: 'BIGINT',
  SHORT: 'SMALLINT',
  BOOL: 'BOOLEAN',
  FLOAT4: 'FLOAT',
  REAL: 'FLOAT',
  FLOAT8: 'DOUBLE',
  'DOUBLE PRECISION': 'DOUBLE',
  STRING: 'VARCHAR',
  TEXT: 'VARCHAR',
  'CHARACTER VARYING': 'VARCHAR',
  BYTEA: 'BLOB',
  TIMESTAMPTZ: 'TIMESTAMP WITH TIME ZONE',
  TIMETZ: 'TIME WITH TIME ZONE',
  DATETIME: 'TIMESTAMP',
  TIMESTAMP_US: 'TIMESTAMP',
};

function canonicalName(name: string): string {
  return ALIASES[name] ?? name;
}

const SIGNED = ['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT'];
const UNSIGNED = ['UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT', 'UHUGEINT'];
const TIMESTAMPS = ['TIMESTAMP', 'TIMESTAMP_S', 'TIMESTAMP_MS', 'TIMESTAMP_NS'];

export const isPrimitive = (type: DuckType, names: string[]): boolean => type.kind === 'primitive' && names.includes(type.name);
export const isInteger = (type: DuckType): boolean => isPrimitive(type, SIGNED) || isPrimitive(type, UNSIGNED);
export const isText = (type: DuckType): boolean => isPrimitive(type, ['VARCHAR']);
const isNumeric = (type: DuckType) => isInteger(type) || type.kind === 'decimal' || isPrimitive(type, ['FLOAT', 'DOUBLE']);

/** The type both a and b fit in: numbers widen to the wider number, dates to timestamps, anything else to VARCHAR. */
export function widenTypes(a: DuckType, b: DuckType): DuckType {
  if (formatDuckType(a) === formatDuckType(b)) return a;
  if (isPrimitive(a, ['NULL'])) return b;
  if (isPrimitive(b, ['NULL'])) return a;
  // JSON holds values of any kind, so it holds the other side's values too.
  if (isPrimitive(a, ['JSON']) || isPrimitive(b, ['JSON'])) return JSON_TYPE;
  if (isInteger(a) && isInteger(b)) return widenIntegers(a as { name: string }, b as { name: string });
  if (isNumeric(a) && isNumeric(b)) return DOUBLE;
  const temporal = widenTemporal(a, b);
  if (temporal !== undefined) return temporal;
  if (a.kind === 'list' && b.kind === 'list') return { kind: 'list', items: widenTypes(a.items, b.items) };
  if (a.kind === 'map' && b.kind === 'map') return { kind: 'map', key: widenTypes(a.key, b.key), value: widenTypes(a.value, b.value) };
  if (a.kind === 'struct' && b.kind === 'struct') return { kind: 'struct', fields: mergeFields(a.fields, b.fields) };
  return VARCHAR;
}

function widenIntegers(a: { name: string }, b: { name: string }): DuckType {
  const signedA = SIGNED.indexOf(a.name);
  const signedB = SIGNED.indexOf(b.name);
  if (signedA >= 0 && signedB >= 0) return { kind: 'primitive', name: SIGNED[Math.max(signedA, signedB)]! };
  const unsignedA = UNSIGNED.indexOf(a.name);
  const unsignedB = UNSIGNED.indexOf(b.name);
  if (unsignedA >= 0 && unsignedB >= 0) return { kind: 'primitive', name: UNSIGNED[Math.max(unsignedA, unsignedB)]! };
  // Signed with unsigned: one rank wider than the unsigned side, so every value fits.
  const unsignedRank = Math.max(unsignedA, unsignedB);
  const signedRank = Math.max(signedA, signedB);
  return { kind: 'primitive', name: SIGNED[Math.min(SIGNED.length - 1, Math.max(signedRank, unsignedRank + 1))]! };
}

function widenTemporal(a: DuckType, b: DuckType): DuckType | undefined {
  const dateLike = (type: DuckType) => isPrimitive(type, ['DATE', ...TIMESTAMPS, 'TIMESTAMP WITH TIME ZONE']);
  if (!dateLike(a) || !dateLike(b)) return undefined;
  if (isPrimitive(a, ['TIMESTAMP WITH TIME ZONE']) || isPrimitive(b, ['TIMESTAMP WITH TIME ZONE'])) {
    return { kind: 'primitive', name: 'TIMESTAMP WITH TIME ZONE' };
  }
  return { kind: 'primitive', name: 'TIMESTAMP' };
}

/** Columns (or struct fields) merged by name, in first-seen order; a name in only one side is kept. */
export function mergeFields(a: { name: string; type: DuckType }[], b: { name: string; type: DuckType }[]): { name: string; type: DuckType }[] {
  const merged = new Map(a.map((field) => [field.name, field.type]));
  for (const field of b) {
    const existing = merged.get(field.name);
    merged.set(field.name, existing === undefined ? field.type : widenTypes(existing, field.type));
  }
  return [...merged].map(([name, type]) => ({ name, type }));
}

const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The DuckDB type string, e.g. for a CAST. */
export function formatDuckType(type: DuckType): string {
  switch (type.kind) {
    case 'primitive':
      return type.name;
    case 'decimal':
      return `DECIMAL(${type.precision},${type.scale})`;
    case 'list':
      return `${formatDuckType(type.items)}[${type.size ?? ''}]`;
    case 'struct':
      return `STRUCT(${type.fields.map((field) => `${quoteIdentifier(field.name)} ${formatDuckType(field.type)}`).join(', ')})`;
    case 'map':
      return `MAP(${formatDuckType(type.key)}, ${formatDuckType(type.value)})`;
    case 'union':
      return `UNION(${type.members.map((member) => `${quoteIdentifier(member.name)} ${formatDuckType(member.type)}`).join(', ')})`;
    case 'enum':
      return 'VARCHAR';
  }
}

export type JsonSchema = { [keyword: string]: unknown };

const nullable = (type: string, extra: JsonSchema = {}): JsonSchema => ({ type: ['null', type], ...extra });

/** JSON Schema of a column of this type; every value may be null. */
export function duckTypeToJsonSchema(type: DuckType): JsonSchema {
  switch (type.kind) {
    case 'decimal':
      return nullable('number');
    case 'enum':
      return nullable('string');
    case 'list':
      return nullable('array', { items: duckTypeToJsonSchema(type.items) });
    case 'struct':
      return nullable('object', {
        properties: Object.fromEntries(type.fields.map((field) => [field.name, duckTypeToJsonSchema(field.type)])),
      });
    case 'map':
      return nullable('object', { additionalProperties: duckTypeToJsonSchema(type.value) });
    case 'union':
      return { type: ['null', 'string', 'number', 'integer', 'boolean', 'object', 'array'] };
    case 'primitive':
      return primitiveSchema(type.name);
  }
}

function primitiveSchema(name: string): JsonSchema {
  if (name === 'BOOLEAN') return nullable('boolean');
  if (SIGNED.includes(name) || UNSIGNED.includes(name)) return nullable('integer');
  if (name === 'FLOAT' || name === 'DOUBLE') return nullable('number');
  if (name === 'DATE') return nullable('string', { format: 'date' });
  if (TIMESTAMPS.includes(name)) return nullable('string', { format: 'date-time', airbyte_type: 'timestamp_without_timezone' });
  if (name === 'TIMESTAMP WITH TIME ZONE') return nullable('string', { format: 'date-time', airbyte_type: 'timestamp_with_timezone' });
  if (name === 'TIME') return nullable('string', { format: 'time', airbyte_type: 'time_without_timezone' });
  if (name === 'TIME WITH TIME ZONE') return nullable('string', { format: 'time', airbyte_type: 'time_with_timezone' });
  if (name === 'BLOB') return nullable('string', { contentEncoding: 'base64' });
  if (name === 'JSON') return { type: ['null', 'string', 'number', 'integer', 'boolean', 'object', 'array'] };
  // VARCHAR, UUID, INTERVAL, BIT, NULL and anything newer: text.
  return nullable('string');
}

/** The JSON Schema kinds of a column, ignoring null: e.g. ["integer"], ["string"], or several for "any". */
export function schemaKinds(schema: JsonSchema | undefined): string[] {
  if (schema === undefined) return [];
  const type = schema.type;
  const types = Array.isArray(type) ? type : type === undefined ? [] : [type];
  return types.filter((name): name is string => typeof name === 'string' && name !== 'null');
}

/** What a value of this schema looks like at the top: kind plus the string format that shapes it. */
export function schemaShape(schema: JsonSchema | undefined): string {
  const kinds = schemaKinds(schema);
  if (kinds.length !== 1) return 'any';
  if (kinds[0] === 'string') return `string:${String(schema?.format ?? '')}:${String(schema?.airbyte_type ?? '')}`;
  if (kinds[0] === 'array') return `array<${schemaShape(schema?.items as JsonSchema | undefined)}>`;
  return kinds[0]!;
}

/**
 * The DuckDB type holding values of a catalog column, for casting a file's
 * column to what the catalog promises. Objects and "any" stay JSON.
 */
export function duckTypeForSchema(schema: JsonSchema | undefined): DuckType {
  const kinds = schemaKinds(schema);
  if (kinds.length !== 1) return { kind: 'primitive', name: 'JSON' };
  switch (kinds[0]) {
    case 'integer':
      return { kind: 'primitive', name: 'HUGEINT' };
    case 'number':
      return DOUBLE;
    case 'boolean':
      return { kind: 'primitive', name: 'BOOLEAN' };
    case 'array':
      return { kind: 'list', items: duckTypeForSchema(schema?.items as JsonSchema | undefined) };
    case 'string': {
      const format = schema?.format;
      const airbyteType = schema?.airbyte_type;
      if (format === 'date') return { kind: 'primitive', name: 'DATE' };
      if (format === 'date-time') return { kind: 'primitive', name: airbyteType === 'timestamp_with_timezone' ? 'TIMESTAMP WITH TIME ZONE' : 'TIMESTAMP' };
      if (format === 'time') return { kind: 'primitive', name: airbyteType === 'time_with_timezone' ? 'TIME WITH TIME ZONE' : 'TIME' };
      return VARCHAR;
    }
    default:
      return { kind: 'primitive', name: 'JSON' };
  }
}
