import { describe, expect, it } from 'vitest';
import { avroShape, declaredColumns } from '../../src/formats/avro/avro-schema.js';
import { rowJson } from '../../src/formats/avro/avro-json.js';
import type { AvroRecord } from '../../src/formats/avro/avro-schema.js';

const columns = (fields: unknown[]) => declaredColumns(avroShape({ type: 'record', name: 'R', fields }));
const json = (fields: unknown[], value: Record<string, unknown>) => rowJson(avroShape({ type: 'record', name: 'R', fields }) as AvroRecord, value);

describe('Avro writer schema to DuckDB columns', () => {
  it('maps primitives, logical types, nullable unions and nesting', () => {
    expect(
      columns([
        { name: 'a', type: ['null', 'long'] },
        { name: 'b', type: { type: 'long', logicalType: 'timestamp-millis' } },
        { name: 'c', type: { type: 'long', logicalType: 'local-timestamp-micros' } },
        { name: 'd', type: { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 3 } },
        { name: 'e', type: { type: 'bytes', logicalType: 'decimal', precision: 40, scale: 3 } },
        { name: 'f', type: { type: 'fixed', name: 'F', size: 2, logicalType: 'decimal', precision: 9 } },
        { name: 'g', type: ['int', 'string'] },
        { name: 'h', type: { type: 'map', values: { type: 'array', items: { type: 'record', name: 'In', fields: [{ name: 'x y', type: 'float' }] } } } },
        { name: 'i', type: { type: 'string', logicalType: 'uuid' } },
        { name: 'j', type: 'null' },
      ]),
    ).toEqual([
      { name: 'a', type: 'BIGINT' },
      { name: 'b', type: 'TIMESTAMP WITH TIME ZONE' },
      { name: 'c', type: 'TIMESTAMP' },
      { name: 'd', type: 'DECIMAL(12,3)' },
      // Past DuckDB's 38 digits.
      { name: 'e', type: 'DOUBLE' },
      // Too many digits for 2 bytes: the spec says to ignore the logical type.
      { name: 'f', type: 'BLOB' },
      { name: 'g', type: 'JSON' },
      { name: 'h', type: 'MAP(VARCHAR, STRUCT("x y" FLOAT)[])' },
      { name: 'i', type: 'UUID' },
      { name: 'j', type: 'NULL' },
    ]);
  });

  it('types a record inside itself as JSON, and resolves names in namespaces', () => {
    const node = { type: 'record', name: 'Node', namespace: 'n.s', fields: [{ name: 'value', type: 'int' }, { name: 'next', type: ['null', 'Node'] }] };
    expect(columns([{ name: 'list', type: node }, { name: 'again', type: 'n.s.Node' }])).toEqual([
      { name: 'list', type: 'STRUCT("value" INTEGER, "next" JSON)' },
      { name: 'again', type: 'STRUCT("value" INTEGER, "next" JSON)' },
    ]);
  });
});

describe('Avro values to JSON', () => {
  it('writes exact digits, ISO times and text for what JSON lacks', () => {
    const fields = [
      { name: 'long', type: 'long' },
      { name: 'ts', type: { type: 'long', logicalType: 'timestamp-micros' } },
      { name: 'before', type: { type: 'long', logicalType: 'timestamp-millis' } },
      { name: 'nanos', type: { type: 'long', logicalType: 'timestamp-nanos' } },
      { name: 'dec', type: { type: 'bytes', logicalType: 'decimal', precision: 30, scale: 4 } },
      { name: 'f', type: 'float' },
      { name: 'nan', type: 'double' },
      { name: 'inf', type: 'float' },
      { name: 'dur', type: { type: 'fixed', name: 'D', size: 12, logicalType: 'duration' } },
      { name: 'u', type: ['null', { type: 'record', name: 'X', fields: [] }, 'string'] },
    ];
    const duration = Buffer.alloc(12);
    duration.writeUInt32LE(1, 0);
    duration.writeUInt32LE(2, 4);
    duration.writeUInt32LE(3004, 8);
    expect(
      json(fields, {
        long: -9_223_372_036_854_775_808n,
        ts: 1_705_314_600_000_001n,
        before: -1n,
        nanos: 1_705_314_600_000_000_123n,
        dec: Buffer.from('ff', 'hex'), // -1 unscaled
        f: Math.fround(0.1),
        nan: Number.NaN,
        inf: Number.NEGATIVE_INFINITY,
        dur: duration,
        u: { X: {} },
      }),
    ).toBe(
      '{"long":-9223372036854775808,"ts":"2024-01-15T10:30:00.000001Z","before":"1969-12-31T23:59:59.999Z","nanos":"2024-01-15T10:30:00.000000123Z","dec":-0.0001,"f":0.1,"nan":"NaN","inf":"-Infinity","dur":"P1M2DT3.004S","u":{}}',
    );
  });
});
