import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { onlyMessage, runCli, writeTempFile } from '../support/cli.js';
import { putObject, testClient } from '../support/s3-client.js';
import { configuredCatalog, configWith, discoverStreams, expectRecordsValid, read, type Schema } from '../support/read.js';

// Values a file holds after the sample discover typed its columns from: each is emitted exactly in
// the catalog's type, or null with a NULLED change in the record's meta; never rounded or truncated.
const client = testClient();
const work = mkdtempSync(join(tmpdir(), 'source-s3-casts-'));
afterAll(() => {
  client.destroy();
  rmSync(work, { recursive: true, force: true });
});

const NULLED = (field: string) => ({ field, change: 'NULLED', reason: 'SOURCE_SERIALIZATION_ERROR' });
const data = (record: Schema) => {
  const { _ab_source_file_url: _url, _ab_source_file_last_modified: _modified, ...rest } = record.data;
  return rest;
};
const byId = (records: Schema[], id: number) => records.find((record) => record.data.id === id)!;
const propertyType = (stream: Schema, column: string) => stream.json_schema.properties[column];

async function parquetFile(name: string, select: string): Promise<Buffer> {
  const path = join(work, name);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await connection.run(`COPY (${select}) TO '${path}' (FORMAT parquet)`);
  connection.closeSync();
  instance.closeSync();
  return readFileSync(path);
}

describe('values that do not fit the catalog type exactly', () => {
  it('CSV: integers are never rounded from decimals, exponents, hex, binary or digit separators', async () => {
    // 80,000 integer rows: more than the 1 MiB sample, so the late rows are only met by read.
    const key = `casts/${Date.now()}/late.csv`;
    const good = Array.from({ length: 80_000 }, (_, index) => `${index + 1},${index + 1},${index + 1}`);
    const late = ['80001,1.5,N/A', '80002,2.7,0x1F', '80003,1e3,  7  ', '80004,-0.4,0b101', '80005,2.5,1_000', '80006,7.0, -12 ', '80007,99999999999999999999999999999999999999999,+8'];
    await putObject(client, key, `id,amount,code\n${[...good, ...late].join('\n')}\n`);
    const config = configWith([{ name: 'late', globs: [key], format: { filetype: 'csv' } }]);
    const streams = await discoverStreams(config);
    expect(propertyType(streams[0]!, 'amount').type).toEqual(['null', 'integer']);
    expect(propertyType(streams[0]!, 'code').type).toEqual(['null', 'integer']);
    const catalog = configuredCatalog(streams, { sync_mode: 'full_refresh' });

    const result = await read(config, catalog);
    expect(result.code, result.stderr).toBe(0);
    expect(result.records).toHaveLength(80_007);
    expectRecordsValid(result.records, catalog);
    expect(data(byId(result.records, 80_000))).toEqual({ id: 80_000, amount: 80_000, code: 80_000 });
    expect(byId(result.records, 80_000).meta.changes).toEqual([]);
    const lateRows = late.map((_, index) => byId(result.records, 80_001 + index));
    expect(lateRows.map(data)).toEqual([
      { id: 80_001, amount: null, code: null },
      { id: 80_002, amount: null, code: null },
      { id: 80_003, amount: null, code: 7 },
      { id: 80_004, amount: null, code: null },
      { id: 80_005, amount: null, code: null },
      { id: 80_006, amount: 7, code: -12 },
      { id: 80_007, amount: null, code: 8 },
    ]);
    expect(lateRows.map((record) => record.meta.changes)).toEqual([
      [NULLED('amount'), NULLED('code')],
      [NULLED('amount'), NULLED('code')],
      [NULLED('amount')],
      [NULLED('amount'), NULLED('code')],
      [NULLED('amount'), NULLED('code')],
      [],
      [NULLED('amount')],
    ]);
  });

  it('CSV: a date with a time is not truncated; a timestamp keeps its offset (as UTC) and never loses nanoseconds silently', async () => {
    const key = `casts/${Date.now()}/dates.csv`;
    const good = Array.from({ length: 40_000 }, (_, index) => `${index + 1},2024-01-15,2024-01-15 10:00:00`);
    const late = [
      '40001,2024-01-16 23:59:59,2024-01-15T10:30:00+05:00',
      '40002,2024-01-16,2024-01-15 10:30:00.123456789',
      '40003,2024-01-17 00:00:00,2024-01-15 10:30:00.123456000',
      '40004,2024-01-1x,2024-01-15T10:30:00Z',
      '40005, 2024-01-18 ,2024-01-15 10:30:00 America/New_York',
    ];
    await putObject(client, key, `id,d,ts\n${[...good, ...late].join('\r\n')}\r\n`);
    const config = configWith([{ name: 'dates', globs: [key], format: { filetype: 'csv' } }]);
    const streams = await discoverStreams(config);
    expect(propertyType(streams[0]!, 'd')).toMatchObject({ format: 'date' });
    expect(propertyType(streams[0]!, 'ts')).toMatchObject({ format: 'date-time', airbyte_type: 'timestamp_without_timezone' });
    const catalog = configuredCatalog(streams, { sync_mode: 'full_refresh' });

    const result = await read(config, catalog);
    expect(result.code, result.stderr).toBe(0);
    expect(result.records).toHaveLength(40_005);
    expectRecordsValid(result.records, catalog);
    expect(data(byId(result.records, 1))).toEqual({ id: 1, d: '2024-01-15', ts: '2024-01-15T10:00:00.000000' });
    const lateRows = late.map((_, index) => byId(result.records, 40_001 + index));
    expect(lateRows.map(data)).toEqual([
      { id: 40_001, d: null, ts: '2024-01-15T05:30:00.000000' },
      { id: 40_002, d: '2024-01-16', ts: null },
      { id: 40_003, d: '2024-01-17', ts: '2024-01-15T10:30:00.123456' },
      { id: 40_004, d: null, ts: '2024-01-15T10:30:00.000000' },
      { id: 40_005, d: '2024-01-18', ts: '2024-01-15T15:30:00.000000' },
    ]);
    expect(lateRows.map((record) => record.meta.changes)).toEqual([[NULLED('d')], [NULLED('ts')], [], [NULLED('d')], []]);
  });

  it('Parquet: a file typed DOUBLE after discover saw BIGINT: whole values cast, fractions nulled and reported', async () => {
    const prefix = `casts/${Date.now()}/parquet/`;
    await putObject(client, `${prefix}a.parquet`, await parquetFile('a.parquet', 'SELECT 1 AS id, 10::BIGINT AS amount, TIMESTAMP \'2024-01-15 00:00:00\' AS day'));
    const config = configWith([{ name: 'drift', globs: [`${prefix}*.parquet`], format: { filetype: 'parquet' } }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    expect(catalog.streams[0].stream.json_schema.properties.amount.type).toEqual(['null', 'integer']);
    // As if discover had typed `day` from a file of dates.
    catalog.streams[0].stream.json_schema.properties.day = { type: ['null', 'string'], format: 'date' };
    await putObject(
      client,
      `${prefix}b.parquet`,
      await parquetFile('b.parquet', "SELECT * FROM (VALUES (2, 1.5::DOUBLE, TIMESTAMP '2024-01-16 10:30:00'), (3, 2.0::DOUBLE, TIMESTAMP '2024-01-17 00:00:00'), (4, -0.4::DOUBLE, NULL)) t(id, amount, day)"),
    );

    const result = await read(config, catalog);
    expect(result.code, result.stderr).toBe(0);
    expectRecordsValid(result.records, catalog);
    expect(result.records.map(data)).toEqual([
      { id: 1, amount: 10, day: '2024-01-15' },
      { id: 2, amount: null, day: null },
      { id: 3, amount: 2, day: '2024-01-17' },
      { id: 4, amount: null, day: null },
    ]);
    expect(result.records.map((record) => record.meta?.changes ?? [])).toEqual([[], [NULLED('amount'), NULLED('day')], [], [NULLED('amount')]]);
  });

  it('JSON Lines: an integer column takes only integral numbers (or their text), exactly, however long', async () => {
    const key = `casts/${Date.now()}/values.jsonl`;
    const lines = [
      { id: 1, v: 5, at: '2024-01-15 10:00:00' },
      '{"id": 2, "v": 1.5, "at": "2024-01-15T10:30:00+05:00"}',
      '{"id": 3, "v": "12", "at": "2024-01-15T10:30:00.000000001"}',
      '{"id": 4, "v": 1e3, "at": null}',
      '{"id": 5, "v": 123456789012345678901234567890}',
      '{"id": 6, "v": true}',
      '{"id": 7, "v": "0x1F"}',
    ];
    await putObject(client, key, `${lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n')}\n`);
    const config = configWith([{ name: 'values', globs: [key], format: { filetype: 'jsonl' } }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    // As if discover had sampled only the first line.
    catalog.streams[0].stream.json_schema.properties.v = { type: ['null', 'integer'] };
    catalog.streams[0].stream.json_schema.properties.at = { type: ['null', 'string'], format: 'date-time', airbyte_type: 'timestamp_without_timezone' };

    const result = await read(config, catalog);
    expect(result.code, result.stderr).toBe(0);
    expectRecordsValid(result.records, catalog);
    // The 30-digit integer is printed exactly (a JavaScript number cannot hold it; the raw line can).
    expect(result.stdout).toContain('"v":123456789012345678901234567890,');
    expect(result.records.map((record) => [record.data.v, record.data.at])).toEqual([
      [5, '2024-01-15T10:00:00.000000'],
      [null, '2024-01-15T05:30:00.000000'],
      [12, null],
      [1000, null],
      [123456789012345678901234567890, null],
      [null, null],
      [null, null],
    ]);
    expect(result.records.map((record) => record.meta.changes)).toEqual([[], [NULLED('v')], [NULLED('at')], [], [], [NULLED('v')], [NULLED('v')]]);
  });
  // The raw stdout is checked: JSON.parse would round these numbers itself.
  const numberText = (stdout: string, field: string) => [...stdout.matchAll(new RegExp(`"${field}":([^,}]*)`, 'g'))].map((match) => match[1]);

  it('JSON Lines: a number column keeps integers past 2^53 and of any length as written', async () => {
    const key = `casts/${Date.now()}/big.jsonl`;
    await putObject(client, key, '{"id":9007199254740993,"v":1}\n{"id":18446744073709551616,"v":2}\n{"id":123456789012345678901234567890,"v":3}\n{"id":"12.5","v":4}\n{"id":true,"v":5}\n');
    const config = configWith([{ name: 'big', globs: [key], format: { filetype: 'jsonl' } }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    catalog.streams[0].stream.json_schema.properties.id = { type: ['null', 'number'] };

    const result = await read(config, catalog);
    expect(result.code, result.stderr).toBe(0);
    expectRecordsValid(result.records, catalog);
    expect(numberText(result.stdout, 'id')).toEqual(['9007199254740993', '18446744073709551616', '123456789012345678901234567890', '12.5', 'null']);
    expect(result.records.map((record) => record.meta?.changes ?? [])).toEqual([[], [], [], [], [NULLED('id')]]);
  });

  // The newer file's decimal makes the column a number; the older file's big integer keeps every digit.
  it.each([
    { label: 'JSON Lines, two files: a big integer in one and a decimal in the other', filetype: 'jsonl', older: '{"id":9007199254740993}\n', newer: '{"id":0.5}\n', decimal: '0.5', checkChanges: false },
    { label: 'CSV, two files: an integer past 2^53 in a column typed number', filetype: 'csv', older: 'id,amt\n9007199254740993,1\n', newer: 'id,amt\n1.5,2\n', decimal: '1.5', checkChanges: true },
  ])('$label', async ({ filetype, older, newer, decimal, checkChanges }) => {
    const prefix = `casts/${Date.now()}/two-${filetype}/`;
    await putObject(client, `${prefix}a.${filetype}`, older);
    await putObject(client, `${prefix}b.${filetype}`, newer);
    const config = configWith([{ name: 'two', globs: [`${prefix}*.${filetype}`], format: { filetype } }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    expect(propertyType(catalog.streams[0].stream, 'id').type).toEqual(['null', 'number']);

    const result = await read(config, catalog);
    expect(result.code, result.stderr).toBe(0);
    expect(numberText(result.stdout, 'id').sort()).toEqual([decimal, '9007199254740993']);
    if (checkChanges) expect(result.records.map((record) => record.meta?.changes ?? [])).toEqual([[], []]);
  });

  it('CSV: number text outside the sample is emitted as written, or exactly as a double, or nulled and reported (as when discover sampled only newer files)', async () => {
    const key = `casts/${Date.now()}/late-numbers.csv`;
    const late = ['1.5', ' 42 ', '-0', '1e400', '12345678901234567890123', '+5', '.5', '007', '0.30000000000000004', '0.12345678901234567891', '12345678901234567890.5', 'NaN', 'Infinity', '1_000', 'abc'];
    await putObject(client, key, `n,amt\n${late.map((value, index) => `${index + 1},${value}`).join('\n')}\n`);
    const config = configWith([{ name: 'late', globs: [key], format: { filetype: 'csv' } }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    // As if discover had sampled only a newer file of decimals.
    catalog.streams[0].stream.json_schema.properties.amt = { type: ['null', 'number'] };

    const result = await read(config, catalog);
    expect(result.code, result.stderr).toBe(0);
    expectRecordsValid(result.records, catalog);
    expect(numberText(result.stdout, 'amt')).toEqual(['1.5', '42', '0', '1e400', '12345678901234567890123', '5.0', '0.5', '7.0', '0.30000000000000004', 'null', 'null', 'null', 'null', 'null', 'null']);
    // More digits than a double holds: DuckDB's JSON writer would round them, so they are nulled and reported.
    expect(result.records.map((record) => record.meta?.changes ?? [])).toEqual([...Array(9).fill([]), ...Array(6).fill([NULLED('amt')])]);
  });
  it('CSV: an older file outside the schema sample (SOURCE_S3_SCHEMA_FILES=1) keeps its numbers exact or reports them', async () => {
    const prefix = `casts/${Date.now()}/outside-sample/`;
    // Uploaded first: older, or (same second) after a.csv in key order, so a.csv is the file sampled.
    await putObject(client, `${prefix}z.csv`, 'id,amt\n1,9007199254740993\n2,0.12345678901234567891\n3,12345678901234567890.5\n');
    await putObject(client, `${prefix}a.csv`, 'id,amt\n4,1.5\n');
    const config = configWith([{ name: 'outside', globs: [`${prefix}*.csv`], format: { filetype: 'csv' } }]);
    const discovered = await runCli(['discover', '--config', writeTempFile('config.json', config)], { env: { SOURCE_S3_SCHEMA_FILES: '1' } });
    expect(discovered.code, discovered.stderr).toBe(0);
    const catalog = configuredCatalog(onlyMessage(discovered, 'CATALOG').catalog.streams, { sync_mode: 'full_refresh' });
    expect(propertyType(catalog.streams[0].stream, 'amt').type).toEqual(['null', 'number']);

    const result = await read(config, catalog);
    expect(result.code, result.stderr).toBe(0);
    expectRecordsValid(result.records, catalog);
    const amounts = new Map(result.stdout.trim().split('\n').filter((line) => line.includes('"RECORD"')).map((line) => [/"id":(\d+)/.exec(line)![1], /"amt":([^,}]*)/.exec(line)![1]]));
    expect(Object.fromEntries(amounts)).toEqual({ '1': '9007199254740993', '2': 'null', '3': 'null', '4': '1.5' });
    expect(result.records.filter((record) => record.meta?.changes?.length > 0).map((record) => [record.data.id, record.meta.changes])).toEqual([
      [2, [NULLED('amt')]],
      [3, [NULLED('amt')]],
    ]);
  });
});
