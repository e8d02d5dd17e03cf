import { formatDuckType, type DuckType } from '../../engine/types.js';
import type { DeclaredColumn } from '../converter.js';

/**
 * An Avro writer schema as this reader uses it: named references resolved (a recursive record
 * refers to itself), logical types kept where the spec says they apply (else ignored, as the
 * spec says). avsc decodes the values; this says how each value is written as JSON and typed.
 */
export type AvroShape =
  | { kind: 'null' | 'boolean' | 'float' | 'double' | 'string' | 'enum' }
  | { kind: 'int'; logical?: 'date' | 'time-millis' }
  | { kind: 'long'; logical?: LongLogical }
  | { kind: 'bytes'; decimal?: Decimal }
  | { kind: 'fixed'; size: number; decimal?: Decimal; duration?: boolean }
  | { kind: 'uuid' }
  | { kind: 'array'; items: AvroShape }
  | { kind: 'map'; values: AvroShape }
  | { kind: 'union'; branches: { name: string; shape: AvroShape }[] }
  | AvroRecord;

export interface AvroRecord {
  kind: 'record';
  name: string;
  fields: { name: string; shape: AvroShape }[];
}

export type LongLogical = 'time-micros' | 'timestamp-millis' | 'timestamp-micros' | 'timestamp-nanos' | 'local-timestamp-millis' | 'local-timestamp-micros' | 'local-timestamp-nanos';
export interface Decimal {
  precision: number;
  scale: number;
}

/** A schema this reader cannot take: the caller names the file. */
export class AvroSchemaError extends Error {}

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);
const LONG_LOGICAL = new Set<string>(['time-micros', 'timestamp-millis', 'timestamp-micros', 'timestamp-nanos', 'local-timestamp-millis', 'local-timestamp-micros', 'local-timestamp-nanos']);

/** The shape of a parsed writer schema (its JSON). avsc has checked it already. */
export function avroShape(schema: unknown): AvroShape {
  return new ShapeBuilder().shape(schema, '');
}

class ShapeBuilder {
  private readonly named = new Map<string, AvroShape>();

  shape(schema: unknown, namespace: string): AvroShape {
    if (typeof schema === 'string') return this.reference(schema, namespace);
    if (Array.isArray(schema)) return { kind: 'union', branches: schema.map((branch) => { const shape = this.shape(branch, namespace); return { name: this.branchName(branch, namespace), shape }; }) };
    if (schema === null || typeof schema !== 'object') throw new AvroSchemaError(`has a schema with ${JSON.stringify(schema)} where a type belongs`);
    const node = schema as Record<string, unknown>;
    const type = node.type;
    const logical = typeof node.logicalType === 'string' ? node.logicalType : undefined;
    switch (type) {
      case 'record':
      case 'error': {
        const { fullName, childNamespace } = this.fullName(node, namespace);
        const record: AvroRecord = { kind: 'record', name: fullName, fields: [] };
        this.named.set(fullName, record);
        const fields = Array.isArray(node.fields) ? node.fields : [];
        for (const field of fields as Record<string, unknown>[]) record.fields.push({ name: String(field.name), shape: this.shape(field.type, childNamespace) });
        return record;
      }
      case 'enum':
        return this.register(node, namespace, { kind: 'enum' });
      case 'fixed': {
        const size = Number(node.size);
        const decimal = logical === 'decimal' ? decimalOf(node, size) : undefined;
        const shape: AvroShape = { kind: 'fixed', size, ...(decimal === undefined ? {} : { decimal }), ...(logical === 'duration' && size === 12 ? { duration: true } : {}) };
        return this.register(node, namespace, shape);
      }
      case 'array':
        return { kind: 'array', items: this.shape(node.items, namespace) };
      case 'map':
        return { kind: 'map', values: this.shape(node.values, namespace) };
      default: {
        // {"type": "long", "logicalType": ...}, or {"type": "Named"} / {"type": {...}}.
        if (typeof type === 'string' && PRIMITIVES.has(type)) return primitive(type, logical, node);
        return this.shape(type, namespace);
      }
    }
  }

  /** How avsc names a union branch (wrapped unions): a named type by its full name, others by type name. */
  private branchName(schema: unknown, namespace: string): string {
    if (typeof schema === 'string') return PRIMITIVES.has(schema) ? schema : this.qualify(schema, namespace);
    if (Array.isArray(schema) || schema === null || typeof schema !== 'object') return '';
    const node = schema as Record<string, unknown>;
    if (node.type === 'record' || node.type === 'error' || node.type === 'enum' || node.type === 'fixed') return this.fullName(node, namespace).fullName;
    if (typeof node.type === 'string' || typeof node.type === 'object') return this.branchName(node.type, namespace);
    return '';
  }

  private reference(name: string, namespace: string): AvroShape {
    if (PRIMITIVES.has(name)) return primitive(name, undefined, {});
    const shape = this.named.get(this.qualify(name, namespace)) ?? this.named.get(name);
    if (shape === undefined) throw new AvroSchemaError(`has a schema that refers to the undefined type "${name.slice(0, 100)}"`);
    return shape;
  }

  private register(node: Record<string, unknown>, namespace: string, shape: AvroShape): AvroShape {
    this.named.set(this.fullName(node, namespace).fullName, shape);
    return shape;
  }

  private qualify(name: string, namespace: string): string {
    return name.includes('.') || namespace === '' ? name : `${namespace}.${name}`;
  }

  private fullName(node: Record<string, unknown>, namespace: string): { fullName: string; childNamespace: string } {
    const name = String(node.name ?? '');
    const own = typeof node.namespace === 'string' ? node.namespace : namespace;
    const fullName = name.includes('.') ? name : this.qualify(name, own);
    const dot = fullName.lastIndexOf('.');
    return { fullName, childNamespace: dot < 0 ? '' : fullName.slice(0, dot) };
  }
}

function primitive(type: string, logical: string | undefined, node: Record<string, unknown>): AvroShape {
  switch (type) {
    case 'int':
      return logical === 'date' || logical === 'time-millis' ? { kind: 'int', logical } : { kind: 'int' };
    case 'long':
      return logical !== undefined && LONG_LOGICAL.has(logical) ? { kind: 'long', logical: logical as LongLogical } : { kind: 'long' };
    case 'bytes': {
      const decimal = logical === 'decimal' ? decimalOf(node, Infinity) : undefined;
      return decimal === undefined ? { kind: 'bytes' } : { kind: 'bytes', decimal };
    }
    case 'string':
      return logical === 'uuid' ? { kind: 'uuid' } : { kind: 'string' };
    default:
      return { kind: type as 'null' | 'boolean' | 'float' | 'double' };
  }
}

/** A decimal's precision and scale, or undefined when they are invalid (the spec says: ignore the logical type then). */
function decimalOf(node: Record<string, unknown>, size: number): Decimal | undefined {
  const precision = node.precision;
  const scale = node.scale ?? 0;
  if (typeof precision !== 'number' || !Number.isInteger(precision) || precision < 1) return undefined;
  if (typeof scale !== 'number' || !Number.isInteger(scale) || scale < 0 || scale > precision) return undefined;
  // A fixed of n bytes holds at most floor(log10(2^(8n-1) - 1)) digits.
  if (Number.isFinite(size) && precision > Math.floor(Math.log10(2) * (8 * size - 1))) return undefined;
  return { precision, scale };
}

/** DuckDB keeps 38 digits in a DECIMAL: a wider Avro decimal is typed DOUBLE (its values are still written in full). */
const MAX_DECIMAL_PRECISION = 38;

/** The columns of a file whose writer schema is `shape`: a record's fields, typed as DuckDB would. */
export function declaredColumns(shape: AvroShape): DeclaredColumn[] {
  if (shape.kind !== 'record') throw new AvroSchemaError(`holds ${shape.kind} values, not records: only Avro files whose schema is a record can be read as rows`);
  return shape.fields.map((field) => ({ name: field.name, type: formatDuckType(duckType(field.shape, [shape])) }));
}

const named = (name: string): DuckType => ({ kind: 'primitive', name });
const JSON_TYPE = named('JSON');

/** The DuckDB type of a value of `shape`; `open` holds the records being expanded (a record inside itself is JSON). */
export function duckType(shape: AvroShape, open: AvroRecord[] = []): DuckType {
  switch (shape.kind) {
    case 'null':
      return named('NULL');
    case 'boolean':
      return named('BOOLEAN');
    case 'int':
      return named(shape.logical === 'date' ? 'DATE' : shape.logical === 'time-millis' ? 'TIME' : 'INTEGER');
    case 'long':
      return named(longType(shape.logical));
    case 'float':
      return named('FLOAT');
    case 'double':
      return named('DOUBLE');
    case 'string':
    case 'enum':
      return named('VARCHAR');
    case 'uuid':
      return named('UUID');
    case 'bytes':
    case 'fixed':
      if (shape.decimal !== undefined) return shape.decimal.precision > MAX_DECIMAL_PRECISION ? named('DOUBLE') : { kind: 'decimal', ...shape.decimal };
      return named(shape.kind === 'fixed' && shape.duration === true ? 'VARCHAR' : 'BLOB');
    case 'array':
      return { kind: 'list', items: duckType(shape.items, open) };
    case 'map':
      return { kind: 'map', key: named('VARCHAR'), value: duckType(shape.values, open) };
    case 'union': {
      const others = shape.branches.filter((branch) => branch.shape.kind !== 'null');
      if (others.length === 0) return named('NULL');
      return others.length === 1 ? duckType(others[0]!.shape, open) : JSON_TYPE;
    }
    case 'record':
      if (open.includes(shape)) return JSON_TYPE;
      // An empty STRUCT is not a DuckDB type: a record without fields is any JSON (always {}).
      if (shape.fields.length === 0) return JSON_TYPE;
      return { kind: 'struct', fields: shape.fields.map((field) => ({ name: field.name, type: duckType(field.shape, [...open, shape]) })) };
  }
}

function longType(logical: LongLogical | undefined): string {
  if (logical === undefined) return 'BIGINT';
  if (logical === 'time-micros') return 'TIME';
  return logical.startsWith('local-') ? 'TIMESTAMP' : 'TIMESTAMP WITH TIME ZONE';
}
