import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useSandboxedEngine } from '../support/sandboxed-engine.js';
import { exactCast, numberAsWritten } from '../../src/engine/exact-cast.js';
import { sqlString } from '../../src/engine/sql.js';
import type { DuckType } from '../../src/engine/types.js';

// Each cast run by the connector's own sandboxed DuckDB (UTC session): the value as text, or null.
const sandbox = useSandboxedEngine('source-s3-exact-cast-');

const primitive = (name: string): DuckType => ({ kind: 'primitive', name });
async function cast(value: string, from: string, to: string): Promise<unknown> {
  const fromType: DuckType = from === 'DECIMAL(10,2)' ? { kind: 'decimal', precision: 10, scale: 2 } : primitive(from);
  const [row] = await sandbox.engine.all(`SELECT CAST(${exactCast('"x"', fromType, primitive(to))} AS VARCHAR) AS "r" FROM (SELECT CAST(${sqlString(value)} AS ${from}) AS "x")`);
  return row?.r;
}

describe('exact casts', () => {
  it.each([
    ['7', '7'],
    ['  7  ', '7'],
    ['-7', '-7'],
    ['+7', '7'],
    ['7.000', '7'],
    ['12345678901234567890123', '12345678901234567890123'],
    ['1.5', null],
    ['-0.4', null],
    ['2.5', null],
    ['1e3', null],
    ['0x1F', null],
    ['0b101', null],
    ['1_000', null],
    ['N/A', null],
    ['99999999999999999999999999999999999999999', null],
  ])('text %j to an integer: %j', async (value, expected) => {
    expect(await cast(value, 'VARCHAR', 'HUGEINT')).toBe(expected);
  });

  it.each([
    ['DOUBLE', '2.0', '2'],
    ['DOUBLE', '1.5', null],
    ['DOUBLE', '-0.4', null],
    ['DOUBLE', 'nan', null],
    ['DOUBLE', 'inf', null],
    ['DECIMAL(10,2)', '2.00', '2'],
    ['DECIMAL(10,2)', '1.50', null],
  ])('%s %j to an integer: %j', async (from, value, expected) => {
    expect(await cast(value, from, 'HUGEINT')).toBe(expected);
  });

  it.each([
    ['2024-01-15', '2024-01-15'],
    [' 2024-01-15 ', '2024-01-15'],
    ['2024-01-15 00:00:00', '2024-01-15'],
    ['2024-01-15T00:00:00Z', '2024-01-15'],
    ['2024-01-16 23:59:59', null],
    ['2024-01-15T00:00:00+05:00', null],
    ['2024-01-1x', null],
    ['2024-01-15 junk', null],
  ])('text %j to a date: %j', async (value, expected) => {
    expect(await cast(value, 'VARCHAR', 'DATE')).toBe(expected);
  });

  it.each([
    ['2024-01-15 10:00:00', '2024-01-15 10:00:00'],
    ['2024-01-15', '2024-01-15 00:00:00'],
    ['2024-01-15T10:30:00+05:00', '2024-01-15 05:30:00'],
    ['2024-01-15T10:30:00-02', '2024-01-15 12:30:00'],
    ['2024-01-15 10:30:00 America/New_York', '2024-01-15 15:30:00'],
    ['2024-01-15 10:30:00.123456', '2024-01-15 10:30:00.123456'],
    ['2024-01-15 10:30:00.123456000', '2024-01-15 10:30:00.123456'],
    ['2024-01-15 10:30:00.123456789', null],
    ['2024-01-15 10:30:00 junk', null],
  ])('text %j to a timestamp without time zone: %j', async (value, expected) => {
    expect(await cast(value, 'VARCHAR', 'TIMESTAMP')).toBe(expected);
  });

  it.each([
    ['TIMESTAMP', '2024-01-15 00:00:00', 'DATE', '2024-01-15'],
    ['TIMESTAMP', '2024-01-15 10:00:00', 'DATE', null],
    ['TIMESTAMP WITH TIME ZONE', '2024-01-15 00:00:00+05', 'DATE', null],
    ['TIMESTAMP_NS', '2024-01-15 10:00:00.123456789', 'TIMESTAMP WITH TIME ZONE', null],
    ['TIMESTAMP_NS', '2024-01-15 10:00:00.123456', 'TIMESTAMP WITH TIME ZONE', '2024-01-15 10:00:00.123456+00'],
    ['VARCHAR', '10:30:00.123456789', 'TIME', null],
    ['VARCHAR', '2024-01-15 10:30:00', 'TIME', null],
    ['VARCHAR', '10:30', 'TIME', '10:30:00'],
    ['VARCHAR', '1_000', 'DOUBLE', null],
    ['VARCHAR', ' 2.5 ', 'DOUBLE', '2.5'],
  ])('%s %j to %s: %j', async (from, value, to, expected) => {
    expect(await cast(value, from, to)).toBe(expected);
  });
  // Through DuckDB's own JSON writer, which the records take: the raw text it prints for the value.
  it('text to a number: JSON number literals as written, other numbers exactly, or null', async () => {
    const values = ['9007199254740993', ' -18446744073709551616 ', '123456789012345678901234567890', '1.5', '1.50', '0.30000000000000004', '1E+5', '1e400', '+5', '.5', '007', '0.12345678901234567891', '12345678901234567890.5', '+9007199254740993', '1e-400', 'NaN', '-Infinity', '1_000', 'abc', ''];
    const path = join(sandbox.dir, 'numbers.json');
    const rows = values.map((value, index) => `(${index}, ${sqlString(value)})`).join(', ');
    await sandbox.engine.copyJsonLines(`SELECT ${numberAsWritten('"x"')} AS "n" FROM (VALUES ${rows}) t("i", "x") ORDER BY "i"`, path);
    const printed = readFileSync(path, 'utf8').trim().split('\n').map((line) => /^\{"n":(.*)\}$/.exec(line)?.[1]);
    expect(printed).toEqual(['9007199254740993', '-18446744073709551616', '123456789012345678901234567890', '1.5', '1.5', '0.30000000000000004', '100000.0', '1e400', '5.0', '0.5', '7.0', 'null', 'null', 'null', 'null', 'null', 'null', 'null', 'null', 'null']);
  });
});
