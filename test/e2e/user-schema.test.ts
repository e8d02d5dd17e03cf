import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { check, runCli, writeTempFile } from '../support/cli.js';
import { putObject, testClient } from '../support/s3-client.js';
import { configuredCatalog, configWith, discoverStreams, expectRecordsValid, lastStates, read, type Schema } from '../support/read.js';

// input_schema (the user's columns and types, as Airbyte's S3 source takes them) and schemaless
// (each row as one data object), through the CLI against the local S3 server.
const client = testClient();
const work = mkdtempSync(join(tmpdir(), 'source-s3-user-schema-'));
afterAll(() => {
  client.destroy();
  rmSync(work, { recursive: true, force: true });
});

const NULLED = (field: string) => ({ field, change: 'NULLED', reason: 'SOURCE_SERIALIZATION_ERROR' });
const FILE_COLUMNS = ['_ab_source_file_url', '_ab_source_file_last_modified'];
const data = (record: Schema) => {
  const { _ab_source_file_url: _url, _ab_source_file_last_modified: _modified, ...rest } = record.data;
  return rest;
};
const prefix = (name: string) => `user-schema/${name}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}/`;

async function duckdbFile(name: string, select: string, format: 'parquet' | 'json'): Promise<Buffer> {
  const path = join(work, name);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await connection.run(`COPY (${select}) TO '${path}' (FORMAT ${format})`);
  connection.closeSync();
  instance.closeSync();
  return readFileSync(path);
}

const ORDERS_SCHEMA = JSON.stringify({ id: 'integer', name: 'string', amount: 'number', ordered_on: 'date', paid: 'boolean', coupon: 'string' });

describe('input_schema: discover', () => {
  it('returns the simple type mapping as the stream schema, all columns nullable, with the _ab_ columns, reading no file', async () => {
    // The globs match nothing: the schema comes from the config alone, and no "no files" warning is said.
    const config = configWith([{ name: 'orders', globs: [`${prefix('none')}*.csv`], format: { filetype: 'csv' }, input_schema: ORDERS_SCHEMA, primary_key: ['id'] }]);
    const result = await runCli(['discover', '--config', writeTempFile('config.json', config)]);
    expect(result.code, result.stderr).toBe(0);
    const catalog = result.messages.find((message) => message.type === 'CATALOG')!.catalog;
    const stream = catalog.streams[0];
    expect(Object.keys(stream.json_schema.properties)).toEqual(['id', 'name', 'amount', 'ordered_on', 'paid', 'coupon', ...FILE_COLUMNS]);
    expect(stream.json_schema.properties.id).toEqual({ type: ['null', 'integer'] });
    expect(stream.json_schema.properties.ordered_on).toEqual({ type: ['null', 'string'], format: 'date' });
    expect(stream.json_schema.properties._ab_source_file_url).toEqual({ type: 'string' });
    expect(stream.source_defined_primary_key).toEqual([['id']]);
    expect(result.messages.some((message) => message.type === 'LOG' && /matches no files/.test(message.log.message))).toBe(false);
  });

  it('returns a full JSON Schema object as given, nested types kept, top-level columns made nullable', async () => {
    const schema = {
      type: 'object',
      properties: {
        id: { type: 'integer' },
        tags: { type: 'array', items: { type: 'string' } },
        seen_at: { type: ['null', 'string'], format: 'date-time', airbyte_type: 'timestamp_with_timezone' },
      },
    };
    const streams = await discoverStreams(configWith([{ name: 'events', globs: [`${prefix('none')}*.jsonl`], format: { filetype: 'jsonl' }, input_schema: JSON.stringify(schema) }]));
    expect(streams[0]!.json_schema.properties).toEqual({
      id: { type: ['null', 'integer'] },
      tags: { type: ['null', 'array'], items: { type: 'string' } },
      seen_at: { type: ['null', 'string'], format: 'date-time', airbyte_type: 'timestamp_with_timezone' },
      _ab_source_file_url: { type: 'string' },
      _ab_source_file_last_modified: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' },
    });
  });

  it('schemaless: one data object column beside the _ab_ columns', async () => {
    const streams = await discoverStreams(configWith([{ name: 'raw', globs: [`${prefix('none')}*.csv`], format: { filetype: 'csv' }, schemaless: true }]));
    expect(Object.keys(streams[0]!.json_schema.properties)).toEqual(['data', ...FILE_COLUMNS]);
    expect(streams[0]!.json_schema.properties.data).toEqual({ type: 'object' });
  });
});

describe('input_schema: read', () => {
  it('CSV: only its columns, cast to its types; values that do not fit are null with NULLED, missing columns null, extra columns dropped', async () => {
    const folder = prefix('csv');
    // A spreadsheet export (BOM, CRLF, quoted header) and a hand-edited file with its columns in another order.
    await putObject(
      client,
      `${folder}a.csv`,
      '\uFEFF"id","name","amount","ordered_on","paid","internal_note"\r\n1,Ada,12.50,2024-01-15,true,secret\r\nabc,Bob,twelve,2024-02-30,maybe,x\r\n99999999999999999999999999999999999999999,Cy,7,2024-03-01 10:00:00,false,y\r\n',
    );
    await putObject(client, `${folder}b.csv`, 'paid,id,name,amount,ordered_on\nfalse,4,Dee,-3,2024-04-01\n');
    await putObject(client, `${folder}c.csv`, 'name,id\nEve,5\n');
    const config = configWith([{ name: 'orders', globs: [`${folder}*.csv`], format: { filetype: 'csv' }, input_schema: ORDERS_SCHEMA }]);
    const streams = await discoverStreams(config);
    const catalog = configuredCatalog(streams, { sync_mode: 'full_refresh' });
    const result = await read(config, catalog);
    expect(result.code, result.stderr).toBe(0);
    expectRecordsValid(result.records, catalog);
    const byName = new Map(result.records.map((record) => [record.data.name, record]));
    expect(data(byName.get('Ada')!)).toEqual({ id: 1, name: 'Ada', amount: 12.5, ordered_on: '2024-01-15', paid: true, coupon: null });
    expect(byName.get('Ada')!.meta?.changes ?? []).toEqual([]);
    expect(data(byName.get('Bob')!)).toEqual({ id: null, name: 'Bob', amount: null, ordered_on: null, paid: null, coupon: null });
    expect(byName.get('Bob')!.meta.changes).toEqual([NULLED('id'), NULLED('amount'), NULLED('ordered_on'), NULLED('paid')]);
    // Out of range for any integer, and a date with a time of day: never truncated.
    expect(data(byName.get('Cy')!)).toEqual({ id: null, name: 'Cy', amount: 7, ordered_on: null, paid: false, coupon: null });
    expect(byName.get('Cy')!.meta.changes).toEqual([NULLED('id'), NULLED('ordered_on')]);
    expect(data(byName.get('Dee')!)).toEqual({ id: 4, name: 'Dee', amount: -3, ordered_on: '2024-04-01', paid: false, coupon: null });
    expect(data(byName.get('Eve')!)).toEqual({ id: 5, name: 'Eve', amount: null, ordered_on: null, paid: null, coupon: null });
    expect(byName.get('Eve')!.meta?.changes ?? []).toEqual([]);
    expect(result.records.every((record) => !('internal_note' in record.data))).toBe(true);
    expect(byName.get('Eve')!.data._ab_source_file_url).toMatch(/c\.csv$/);
  });

  it('CSV read file by file (checkpoints inside a file) gives the same records as a batch', async () => {
    const folder = prefix('csv-alone');
    const rows = Array.from({ length: 50 }, (_, index) => `${index},n${index},${index % 7 === 0 ? 'bad' : index}`);
    await putObject(client, `${folder}big.csv`, `id,name,amount\n${rows.join('\n')}\n`);
    await putObject(client, `${folder}small.csv`, 'id,name\n1000,last\n');
    const config = configWith([{ name: 'alone', globs: [`${folder}*.csv`], format: { filetype: 'csv' }, input_schema: JSON.stringify({ id: 'integer', amount: 'integer' }) }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    const batched = await read(config, catalog);
    // A tiny batch size sends each file alone through the per-file path.
    const alone = await read(config, catalog, undefined, { SOURCE_S3_BATCH_BYTES: '1', SOURCE_S3_CHECKPOINT_RECORDS: '10' });
    for (const result of [batched, alone]) {
      expect(result.code, result.stderr).toBe(0);
      expect(result.records).toHaveLength(51);
      expect(result.records.map(data).filter((row) => row.id === 7)).toEqual([{ id: 7, amount: null }]);
      expect(result.records.find((record) => record.data.id === 7)!.meta.changes).toEqual([NULLED('amount')]);
      expect(result.records.find((record) => record.data.id === 1000)!.data).toMatchObject({ id: 1000, amount: null });
    }
    expect(alone.records.map(data)).toEqual(batched.records.map(data));
  });

  it('JSON Lines with a full JSON Schema: nested values kept, types enforced, missing keys null', async () => {
    const folder = prefix('jsonl');
    const lines = [
      { id: 1, tags: ['a', 'b'], seen_at: '2024-01-15T10:00:00+02:00', score: 1.5, extra: 'dropped' },
      { id: 'two', tags: 'not-a-list', seen_at: 'yesterday', score: 'high' },
      { id: 3 },
    ];
    await putObject(client, `${folder}events.jsonl`, `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`);
    const schema = {
      type: 'object',
      properties: {
        id: { type: 'integer' },
        tags: { type: 'array', items: { type: 'string' } },
        seen_at: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' },
        score: { type: 'number' },
      },
    };
    const config = configWith([{ name: 'events', globs: [`${folder}*.jsonl`], format: { filetype: 'jsonl' }, input_schema: JSON.stringify(schema) }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    const result = await read(config, catalog);
    expect(result.code, result.stderr).toBe(0);
    expectRecordsValid(result.records, catalog);
    expect(result.records.map(data)).toEqual([
      { id: 1, tags: ['a', 'b'], seen_at: '2024-01-15T08:00:00.000000Z', score: 1.5 },
      { id: null, tags: null, seen_at: null, score: null },
      { id: 3, tags: null, seen_at: null, score: null },
    ]);
    expect(result.records[1]!.meta.changes).toEqual([NULLED('id'), NULLED('tags'), NULLED('seen_at'), NULLED('score')]);
    expect(result.records[2]!.meta?.changes ?? []).toEqual([]);
  });

  it('Parquet: file types cast to the user types (a fraction or a double past any integer is nulled in an integer column), a missing column null', async () => {
    const folder = prefix('parquet');
    await putObject(
      client,
      `${folder}a.parquet`,
      await duckdbFile('a.parquet', `SELECT * FROM (VALUES (1::BIGINT, 2.0::DOUBLE, 'x', DATE '2024-01-15'), (2, 2.5, 'y', DATE '2024-01-16'), (3, 1e40, 'w', NULL)) t(id, qty, label, day)`, 'parquet'),
    );
    await putObject(client, `${folder}b.parquet`, await duckdbFile('b.parquet', `SELECT 4::BIGINT AS id, 'z' AS label`, 'parquet'));
    const schema = JSON.stringify({ id: 'string', qty: 'integer', day: 'timestamp', label: 'string' });
    const config = configWith([{ name: 'items', globs: [`${folder}*.parquet`], format: { filetype: 'parquet' }, input_schema: schema }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    const result = await read(config, catalog);
    expect(result.code, result.stderr).toBe(0);
    expectRecordsValid(result.records, catalog);
    expect(result.records.map(data)).toEqual([
      { id: '1', qty: 2, label: 'x', day: '2024-01-15T00:00:00.000000' },
      { id: '2', qty: null, label: 'y', day: '2024-01-16T00:00:00.000000' },
      { id: '3', qty: null, label: 'w', day: null },
      { id: '4', label: 'z', qty: null, day: null },
    ]);
    expect(result.records.map((record) => record.meta?.changes ?? [])).toEqual([[], [NULLED('qty')], [NULLED('qty')], []]);
  });

  it('incremental: the file cursor skips synced files; a column cursor on an input_schema column filters rows', async () => {
    const folder = prefix('incremental');
    await putObject(client, `${folder}1.csv`, 'id,updated\n1,2024-01-01\n2,2024-01-05\n');
    const config = configWith([{ name: 'inc', globs: [`${folder}*.csv`], format: { filetype: 'csv' }, input_schema: JSON.stringify({ id: 'integer', updated: 'date' }) }]);
    const streams = await discoverStreams(config);

    const byFile = configuredCatalog(streams, { sync_mode: 'incremental', cursor_field: ['_ab_source_file_last_modified'] });
    const first = await read(config, byFile);
    expect(first.code, first.stderr).toBe(0);
    expect(first.records.map((record) => record.data.id)).toEqual([1, 2]);
    const again = await read(config, byFile, lastStates(first.messages));
    expect(again.code, again.stderr).toBe(0);
    expect(again.records).toEqual([]);

    const byColumn = configuredCatalog(streams, { sync_mode: 'incremental', cursor_field: ['updated'] });
    const columnFirst = await read(config, byColumn);
    expect(columnFirst.code, columnFirst.stderr).toBe(0);
    await putObject(client, `${folder}2.csv`, 'id,updated,extra\n3,2024-01-03,x\n4,2024-01-09,y\n');
    const columnNext = await read(config, byColumn, lastStates(columnFirst.messages));
    expect(columnNext.code, columnNext.stderr).toBe(0);
    // Row 3's cursor is older than what the first read reached: left out.
    expect(columnNext.records.map(data)).toEqual([{ id: 4, updated: '2024-01-09' }]);
  });

  it('a cursor_field outside the input_schema, or on a schemaless stream, is a config error naming the stream', async () => {
    const folder = prefix('bad-cursor');
    await putObject(client, `${folder}1.csv`, 'id,updated\n1,2024-01-01\n');
    const config = configWith([
      { name: 'typed', globs: [`${folder}*.csv`], format: { filetype: 'csv' }, input_schema: JSON.stringify({ id: 'integer' }) },
      { name: 'loose', globs: [`${folder}*.csv`], format: { filetype: 'csv' }, schemaless: true },
    ]);
    const streams = await discoverStreams(config);
    const typed = configuredCatalog([{ ...streams[0]!, json_schema: { type: 'object', properties: { id: {}, updated: {} } } }], { sync_mode: 'incremental', cursor_field: ['updated'] });
    const typedResult = await read(config, typed);
    expect(typedResult.code).not.toBe(0);
    expect(typedResult.stdout).toMatch(/Stream \\"typed\\": cursor_field \\"updated\\" is not a column of its input_schema/);
    const loose = configuredCatalog([streams[1]!], { sync_mode: 'incremental', cursor_field: ['data'] });
    const looseResult = await read(config, loose);
    expect(looseResult.code).not.toBe(0);
    expect(looseResult.stdout).toMatch(/Stream \\"loose\\": cursor_field \\"data\\" cannot be used: the stream is schemaless/);
  });
});

describe('schemaless: read', () => {
  it.each([
    ['csv', 'rows.csv', async () => Buffer.from('id,name,when\n1,Ada,2024-01-15 10:00:00\n2,Bob,\n')],
    ['jsonl', 'rows.jsonl', async () => Buffer.from('{"id":1,"name":"Ada","when":"2024-01-15 10:00:00"}\n{"id":2,"name":"Bob","when":null}\n')],
    [
      'parquet',
      'rows.parquet',
      () => duckdbFile('rows.parquet', `SELECT * FROM (VALUES (1, 'Ada', TIMESTAMP '2024-01-15 10:00:00'), (2, 'Bob', NULL)) t(id, name, "when")`, 'parquet'),
    ],
  ] as const)('%s: each row is one data object with all its columns; the _ab_ columns beside it', async (filetype, name, body) => {
    const folder = prefix(`schemaless-${filetype}`);
    await putObject(client, `${folder}${name}`, await body());
    // A second file with other columns: its rows carry their own.
    await putObject(client, `${folder}z-${name}`, filetype === 'parquet' ? await duckdbFile('z.parquet', `SELECT 'other' AS note`, 'parquet') : filetype === 'csv' ? 'note\nother\n' : '{"note":"other"}\n');
    const config = configWith([{ name: 'raw', globs: [`${folder}*`], format: { filetype }, schemaless: true }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    const result = await read(config, catalog);
    expect(result.code, result.stderr).toBe(0);
    expectRecordsValid(result.records, catalog);
    expect(result.records.map((record) => Object.keys(record.data))).toEqual([
      ['data', ...FILE_COLUMNS],
      ['data', ...FILE_COLUMNS],
      ['data', ...FILE_COLUMNS],
    ]);
    expect(result.records.map((record) => record.data.data)).toEqual([
      // JSON Lines: each line's object as written (its strings are not guessed into timestamps).
      { id: 1, name: 'Ada', when: filetype === 'jsonl' ? '2024-01-15 10:00:00' : '2024-01-15T10:00:00.000000' },
      { id: 2, name: 'Bob', when: null },
      { note: 'other' },
    ]);
    expect(result.records[2]!.data._ab_source_file_url).toMatch(/z-rows\.\w+$/);
  });
});

describe('input_schema and schemaless: config errors', () => {
  const stream = (extra: Record<string, unknown>) => ({ name: 'orders', globs: ['x/*.csv'], format: { filetype: 'csv' }, ...extra });
  it.each([
    [{ input_schema: '{"id": "integer",' }, /streams\[0\]\.input_schema \(stream "orders"\) is not valid JSON/],
    [{ input_schema: '["id"]' }, /streams\[0\]\.input_schema \(stream "orders"\) must be a JSON object .* \(got an array\)/],
    [{ input_schema: '{"id": "int64"}' }, /streams\[0\]\.input_schema \(stream "orders"\) gives column "id" the unknown type "int64"; use one of string, integer/],
    [{ input_schema: '{"type": "object", "properties": {"id": {"type": "long"}}}' }, /input_schema \(stream "orders"\) gives column "id" the unknown type "long"/],
    [{ input_schema: '   ' }, /streams\[0\]\.input_schema \(stream "orders"\) is empty/],
    [{ input_schema: '{}' }, /streams\[0\]\.input_schema \(stream "orders"\) has no columns/],
    [{ input_schema: '{"id": "integer"}', primary_key: ['order_id'] }, /streams\[0\]\.primary_key \(stream "orders"\) "order_id" is not a column of its input_schema \(columns: id\)/],
    [{ input_schema: '{"id": "integer"}', schemaless: true }, /streams\[0\] \(stream "orders"\) has both input_schema and schemaless/],
    [{ schemaless: true, primary_key: ['id'] }, /streams\[0\]\.primary_key \(stream "orders"\) cannot be used with schemaless/],
    [{ schemaless: 'yes' }, /streams\[0\]\.schemaless must be a boolean/],
  ])('%j', async (extra, message) => {
    const { status, message: said, result } = await check(configWith([stream(extra)]));
    expect(status).toBe('FAILED');
    expect(said).toMatch(message);
    expect(result.code).toBe(0);
  });

  it('on a model-query stream', async () => {
    const query = { name: 'q', query: "SELECT 1 AS id FROM 's3://source-s3-test/x/*.csv'" };
    const { status, message } = await check(configWith([{ ...query, input_schema: '{"id": "integer"}' }, { ...query, name: 'q2', schemaless: true }]));
    expect(status).toBe('FAILED');
    expect(message).toMatch(/streams\[0\]\.input_schema \(stream "q"\) cannot be used with query/);
    expect(message).toMatch(/streams\[1\]\.schemaless \(stream "q2"\) cannot be used with query/);
  });
});

describe('input_schema: object and array columns from text', () => {
  it('CSV: JSON text in an object or array column is emitted as that value; anything else is nulled', async () => {
    const folder = prefix('nested');
    await putObject(client, `${folder}a.csv`, 'id,attrs,tags\n1,"{""k"": 1}","[""a"", 2]"\n2,plain,[broken\n');
    const config = configWith([{ name: 'nested', globs: [`${folder}*.csv`], format: { filetype: 'csv' }, input_schema: JSON.stringify({ id: 'integer', attrs: 'object', tags: 'array' }) }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    const result = await read(config, catalog);
    expect(result.code, result.stderr).toBe(0);
    expect(result.records.map(data)).toEqual([
      { id: 1, attrs: { k: 1 }, tags: ['a', 2] },
      { id: 2, attrs: null, tags: null },
    ]);
    expect(result.records[1]!.meta.changes).toEqual([NULLED('attrs'), NULLED('tags')]);
    expectRecordsValid(result.records, catalog);
  });
});
