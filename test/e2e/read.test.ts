import { GetObjectCommand } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES } from '../support/fixtures.js';
import { putObject, testClient } from '../support/s3-client.js';
import { configuredCatalog, configWith, discoverStreams, expectRecordsValid, read, type Schema } from '../support/read.js';

const client = testClient();
const work = mkdtempSync(join(tmpdir(), 'source-s3-read-'));
afterAll(() => {
  client.destroy();
  rmSync(work, { recursive: true, force: true });
});

/** DuckDB's own reading of an object: the reference the connector's records must equal. */
async function duckdbRows(key: string, reader: (path: string) => string): Promise<Record<string, unknown>[]> {
  const response = await client.send(new GetObjectCommand({ Bucket: 'source-s3-test', Key: key }));
  const path = join(work, key.replace(/\//g, '_'));
  writeFileSync(path, Buffer.from(await response.Body!.transformToByteArray()));
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const rows = (await connection.runAndReadAll(`SELECT * FROM ${reader(path)}`)).getRowObjectsJson() as Record<string, unknown>[];
  connection.closeSync();
  instance.closeSync();
  return rows;
}

const withoutFileColumns = (data: Schema) => {
  const { _ab_source_file_url: _url, _ab_source_file_last_modified: _modified, ...rest } = data;
  return rest;
};

describe('read, full refresh', () => {
  it('emits every row of every file, oldest first, equal to DuckDB reading the files, with status, estimate and state', async () => {
    const config = configWith([{ name: 'people', globs: ['csv/**'], format: { filetype: 'csv' } }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    const result = await read(config, catalog);
    expect(result.code, result.stderr).toBe(0);
    expectRecordsValid(result.records, catalog);

    const keys = [FIXTURES.peopleCsv, FIXTURES.peopleGz, FIXTURES.peopleZst];
    const expected = (await Promise.all(keys.map((key) => duckdbRows(key, (path) => `read_csv('${path}')`)))).flat();
    const normalize = (row: Record<string, unknown>) => ({ id: Number(row.id), name: row.name, score: Number(row.score), joined: row.joined });
    const actual = result.records.map((record) => normalize(withoutFileColumns(record.data)));
    expect(actual.sort((a, b) => a.id - b.id)).toEqual(expected.map(normalize).sort((a, b) => a.id - b.id));

    const urls = [...new Set(result.records.map((record) => record.data._ab_source_file_url))];
    expect(urls.sort()).toEqual(keys.map((key) => `s3://source-s3-test/${key}`).sort());
    for (const record of result.records) expect(record.data._ab_source_file_last_modified).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

    const kinds = result.messages.map((message) => (message.type === 'TRACE' ? message.trace.type === 'STREAM_STATUS' ? message.trace.stream_status.status : message.trace.type : message.type));
    expect(kinds.slice(0, 3)).toEqual(['STARTED', 'ESTIMATE', 'RUNNING']);
    expect(kinds.at(-1)).toBe('COMPLETE');
    expect(kinds.at(-2)).toBe('STATE');
    const estimate = result.messages.find((message) => message.type === 'TRACE' && message.trace.type === 'ESTIMATE')!.trace.estimate;
    expect(estimate).toMatchObject({ name: 'people', type: 'STREAM' });
    expect(estimate.byte_estimate).toBeGreaterThan(0);
    // A short sync: no STATE is due before the end (SOURCE_S3_CHECKPOINT_SECONDS, 60 s), then one with every record counted.
    expect(result.states).toHaveLength(1);
    expect(result.states.reduce((total, state) => total + state.sourceStats.recordCount, 0)).toBe(150);
    expect(result.states.at(-1)!.stream.stream_state).toEqual({ version: 2, cursor_field: '_ab_source_file_last_modified', files: [] });
  });

  it('maps every type as Airbyte expects: ISO timestamps, base64 blobs, exact numbers, nested JSON', async () => {
    const config = configWith([{ name: 'types', globs: [FIXTURES.allTypesParquet], format: { filetype: 'parquet' } }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    const result = await read(config, catalog);
    expectRecordsValid(result.records, catalog);
    const [first, nulls] = result.records.map((record) => withoutFileColumns(record.data));
    expect(first).toEqual({
      tiny: 1,
      small: 2,
      int: 3,
      big: 4,
      ubig: 5,
      real: 1.5,
      dbl: 2.5,
      price: 1234.567,
      name: 'text',
      uid: '6f1c2d1e-9a3b-4c5d-8e7f-0a1b2c3d4e5f',
      day: '2024-02-29',
      local_ts: '2024-02-29T13:14:15.123456',
      zoned_ts: '2024-02-29T11:14:15.000000Z',
      clock: '13:14:15',
      flag: true,
      bytes: Buffer.from([0xaa, 0xbb]).toString('base64'),
      numbers: [1, 2, 3],
      words: ['a', null],
      point: { x: 1, y: [1.5, 2.5], inner: { z: 'deep' } },
      counts: { k1: 10, k2: 20 },
      nothing: null,
    });
    expect(Object.values(nulls!).every((value) => value === null)).toBe(true);
  });

  it('keeps big integers exact and turns NaN and Infinity into null', async () => {
    const key = 'types/edge-numbers.jsonl';
    await putObject(client, key, '{"ubig": 18446744073709551615, "big": 9223372036854775807, "ratio": 1.5}\n');
    const config = configWith([{ name: 'edges', globs: [key], format: { filetype: 'jsonl' } }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    const result = await read(config, catalog);
    expect(result.stdout).toContain('"ubig":18446744073709551615,"big":9223372036854775807');

    const nanKey = 'types/nan.parquet';
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const path = join(work, 'nan.parquet');
    await connection.run(`COPY (SELECT 'nan'::DOUBLE AS a, 'inf'::DOUBLE AS b, [1.5, 'nan'::DOUBLE] AS c, 2.5::DOUBLE AS d) TO '${path}' (FORMAT parquet)`);
    connection.closeSync();
    instance.closeSync();
    await putObject(client, nanKey, (await import('node:fs')).readFileSync(path));
    const nanConfig = configWith([{ name: 'nan', globs: [nanKey], format: { filetype: 'parquet' } }]);
    const nanResult = await read(nanConfig, configuredCatalog(await discoverStreams(nanConfig), { sync_mode: 'full_refresh' }));
    expect(withoutFileColumns(nanResult.records[0]!.data)).toEqual({ a: null, b: null, c: [1.5, null], d: 2.5 });
  });

  it('emits only the columns the configured catalog selects', async () => {
    const config = configWith([{ name: 'people', globs: [FIXTURES.peopleCsv], format: { filetype: 'csv' } }]);
    const [stream] = await discoverStreams(config);
    const { score: _score, joined: _joined, ...kept } = stream!.json_schema.properties;
    const catalog = configuredCatalog([{ ...stream, json_schema: { ...stream!.json_schema, properties: kept } }], { sync_mode: 'full_refresh' });
    const result = await read(config, catalog);
    expect(Object.keys(result.records[0]!.data)).toEqual(['id', 'name', '_ab_source_file_url', '_ab_source_file_last_modified']);
  });

  it('reads headerless CSV with column names and nested JSON Lines', async () => {
    const config = configWith([
      { name: 'headerless', globs: [FIXTURES.headerlessCsv], format: { filetype: 'csv', header: false, column_names: ['a', 'b', 'c'] } },
      { name: 'nested', globs: [FIXTURES.nestedJsonl], format: { filetype: 'jsonl' } },
    ]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    const result = await read(config, catalog);
    expectRecordsValid(result.records, catalog);
    const headerless = result.records.filter((record) => record.stream === 'headerless').map((record) => withoutFileColumns(record.data));
    expect(headerless).toHaveLength(20);
    expect(headerless[3]).toEqual({ a: 3, b: 6, c: 'row3' });
    const nested = result.records.filter((record) => record.stream === 'nested').map((record) => withoutFileColumns(record.data));
    expect(nested[1]).toEqual({ id: 1, profile: { name: 'n1', tags: ['t1'], address: { city: 'c1' } }, active: false, ratio: 0.5 });
  });

  it('makes records fit the catalog when files change after discover: casts, and nulls what cannot fit', async () => {
    const prefix = `later/${Date.now()}/`;
    await putObject(client, `${prefix}1.csv`, 'id,amount,at\n1,1.5,2024-01-01 10:00:00\n');
    const config = configWith([{ name: 'later', globs: [`${prefix}*.csv`], format: { filetype: 'csv' } }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    // Zoned in the catalog (as if other files had offsets): naive times are read as UTC.
    catalog.streams[0].stream.json_schema.properties.at = { type: ['null', 'string'], format: 'date-time', airbyte_type: 'timestamp_with_timezone' };
    catalog.streams[0].stream.json_schema.properties.amount = { type: ['null', 'string'] };
    await putObject(client, `${prefix}2.csv`, 'id,amount,at\nx-2,2.5,2024-01-02 10:00:00\n');
    const result = await read(config, catalog);
    expect(result.code, result.stdout).toBe(0);
    expectRecordsValid(result.records, catalog);
    const data = result.records.map((record) => withoutFileColumns(record.data));
    expect(data).toEqual([
      { id: 1, amount: '1.5', at: '2024-01-01T10:00:00.000000Z' },
      { id: null, amount: '2.5', at: '2024-01-02T10:00:00.000000Z' },
    ]);
    expect(result.records[1]!.meta).toEqual({ changes: [{ field: 'id', change: 'NULLED', reason: 'SOURCE_SERIALIZATION_ERROR' }] });
  });

  it('reads JSON Lines whose nested keys drift after the sample, by the catalog columns', async () => {
    const key = `jsonl-drift/${Date.now()}.jsonl`;
    const lines = Array.from({ length: 25_000 }, (_, index) => JSON.stringify({ a: index, o: { x: index } }));
    lines.push(JSON.stringify({ a: 'z', o: { x: 1, y: 2 }, b: 5 }));
    await putObject(client, key, `${lines.join('\n')}\n`);
    const config = configWith([{ name: 'drift', globs: [key], format: { filetype: 'jsonl' } }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    const result = await read(config, catalog);
    expect(result.code, result.stdout.slice(-500)).toBe(0);
    expect(result.records).toHaveLength(25_001);
    expectRecordsValid(result.records, catalog);
    const last = result.records.at(-1)!;
    expect(withoutFileColumns(last.data)).toEqual({ a: null, o: { x: 1, y: 2 } });
    expect(last.meta.changes).toEqual([{ field: 'a', change: 'NULLED', reason: 'SOURCE_SERIALIZATION_ERROR' }]);
  });

  it('casts a column to text when files disagree on its type', async () => {
    const config = configWith([{ name: 'drift', globs: ['drift/*.csv'], format: { filetype: 'csv' } }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    const result = await read(config, catalog);
    expectRecordsValid(result.records, catalog);
    expect(result.records).toHaveLength(15);
    expect(new Set(result.records.map((record) => typeof record.data.id))).toEqual(new Set(['string']));
  });
});

describe('read, failures', () => {
  // The bad rows come after DuckDB's sniffer sample (20,480 rows), as in a real file that goes bad
  // late: the dialect and types are sniffed from good rows, and reading meets the bad ones.
  const GOOD = 25_000;
  const malformed = `id,amount\n${Array.from({ length: GOOD }, (_, index) => `${index},${index * 10}`).join('\n')}\n${GOOD},not-a-number\n${GOOD + 1},1010,extra\n${GOOD + 2},1020\n`;
  beforeAll(async () => {
    await putObject(client, 'malformed/rows.csv', malformed);
  });

  it('fails on a malformed CSV row by default, naming the file and line; other streams still run', async () => {
    const config = configWith([
      { name: 'bad', globs: ['malformed/rows.csv'], format: { filetype: 'csv' } },
      { name: 'people', globs: [FIXTURES.peopleCsv] },
    ]);
    const streams = await discoverStreams(config);
    const result = await read(config, configuredCatalog(streams, { sync_mode: 'full_refresh' }));
    expect(result.code).toBe(1);
    const statuses = result.messages.filter((message) => message.type === 'TRACE' && message.trace.type === 'STREAM_STATUS').map((message) => `${message.trace.stream_status.stream_descriptor.name}:${message.trace.stream_status.status}`);
    expect(statuses).toContain('bad:INCOMPLETE');
    expect(statuses).toContain('people:COMPLETE');
    const error = result.messages.find((message) => message.type === 'TRACE' && message.trace.type === 'ERROR')!.trace.error;
    expect(error.stream_descriptor).toEqual({ name: 'bad' });
    expect(error.failure_type).toBe('config_error');
    expect(error.message).toContain('s3://source-s3-test/malformed/rows.csv could not be read as CSV');
    expect(error.message).toMatch(/line 2500[23]/);
    expect(result.records.filter((record) => record.stream === 'people')).toHaveLength(50);
  });

  it('skips malformed rows with on_error skip, counting them and naming the file', async () => {
    const config = configWith([{ name: 'bad', globs: ['malformed/rows.csv'], format: { filetype: 'csv' }, on_error: 'skip' }]);
    const result = await read(config, configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' }));
    expect(result.code, result.stdout).toBe(0);
    // The row with an extra field is left out; "not-a-number" does not fit the column's type: null, said in meta.
    expect(result.records).toHaveLength(GOOD + 2);
    const rejected = result.states.reduce((total, state) => total + (state.sourceStats.rejectedRecordCount ?? 0), 0);
    expect(rejected).toBe(1);
    expect(result.records.find((record) => record.data.id === GOOD)?.meta).toEqual({ changes: [{ field: 'amount', change: 'NULLED', reason: 'SOURCE_SERIALIZATION_ERROR' }] });
    const warning = result.messages.find((message) => message.type === 'LOG' && message.log.level === 'WARN');
    expect(warning?.log.message).toMatch(/^Skipped 1 malformed row of s3:\/\/source-s3-test\/malformed\/rows\.csv \(first at line \d+/);
  });

  it('names a catalog stream the config does not define', async () => {
    const config = configWith([{ name: 'people', globs: [FIXTURES.peopleCsv] }]);
    const streams = await discoverStreams(config);
    const result = await read(config, configuredCatalog([{ ...streams[0], name: 'persons' }], { sync_mode: 'full_refresh' }));
    expect(result.code).toBe(1);
    expect(result.messages.at(-1)!.trace.error.message).toContain('The catalog names stream "persons" that the config does not define (config streams: people)');
  });

  it('names a cursor field that is not a column', async () => {
    const config = configWith([{ name: 'people', globs: [FIXTURES.peopleCsv] }]);
    const result = await read(config, configuredCatalog(await discoverStreams(config), { sync_mode: 'incremental', cursor_field: ['updated'] }));
    expect(result.code).toBe(1);
    const error = result.messages.find((message) => message.type === 'TRACE' && message.trace.type === 'ERROR')!.trace.error;
    expect(error).toMatchObject({ failure_type: 'config_error', stream_descriptor: { name: 'people' } });
    expect(error.message).toContain('Stream "people": cursor_field "updated" is not a column of the stream (columns: id, name, score, joined, _ab_source_file_url, _ab_source_file_last_modified)');
  });

  it('rejects a malformed catalog file by name', async () => {
    const config = configWith([{ name: 'people', globs: [FIXTURES.peopleCsv] }]);
    const result = await read(config, { streams: [{ stream: { name: 'people' } }] });
    expect(result.code).toBe(1);
    expect(result.messages.at(-1)!.trace.error.message).toMatch(/^The catalog file .* is not a configured catalog: /);
  });
});
