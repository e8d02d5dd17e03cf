import { DuckDBInstance } from '@duckdb/node-api';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cleanEnv, localConfig, onlyMessage, runCli, writeTempFile } from '../support/cli.js';
import { ALL_SECRETS } from '../support/constants.js';
import { useFaultProxy } from '../support/proxy-hooks.js';
import { FIXTURES } from '../support/fixtures.js';
import { configuredCatalog, configWith, discoverStreams, expectRecordsValid, lastStates, read, type Schema } from '../support/read.js';
import { putObject, testClient } from '../support/s3-client.js';

const client = testClient();
const work = mkdtempSync(join(tmpdir(), 'source-s3-query-'));
const BUCKET_URL = 's3://source-s3-test';

beforeAll(async () => {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const parquet = async (key: string, select: string) => {
    const path = join(work, key.replace(/[^A-Za-z0-9.]/g, '_'));
    await connection.run(`COPY (${select}) TO '${path}' (FORMAT parquet)`);
    await putObject(client, key, readFileSync(path));
  };
  await parquet('query/orders.parquet', 'SELECT i AS order_id, i % 5 AS person_id, (i + 1) * 10 AS amount FROM range(20) t(i)');
  for (const [year, month, count] of [[2023, 12, 3], [2024, 1, 4], [2024, 2, 5]] as const) {
    await parquet(`query/sales/year=${year}/month=${String(month).padStart(2, '0')}/part.parquet`, `SELECT i AS sale_id, 1.5 * (i + 1) AS amount FROM range(${count}) t(i)`);
  }
  connection.closeSync();
  instance.closeSync();
  await putObject(client, 'query/quoted.csv', '"Order ID","Unit Price"\n1,2.5\n2,3.5\n');
});
afterAll(() => {
  client.destroy();
  rmSync(work, { recursive: true, force: true });
});

const queryStream = (name: string, query: string, extra: Record<string, unknown> = {}) => ({ name, query, ...extra });
const records = async (query: string) => {
  const config = configWith([queryStream('q', query)]);
  const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
  const result = await read(config, catalog);
  expect(result.code, result.stdout.slice(-800)).toBe(0);
  expectRecordsValid(result.records, catalog);
  return { rows: result.records.map((record) => record.data), catalog, result };
};

describe('model queries', () => {
  it('join a CSV and a Parquet file', async () => {
    const { rows, catalog } = await records(`
      SELECT p.id, p.name, sum(o.amount) AS total
      FROM read_csv('${BUCKET_URL}/${FIXTURES.peopleCsv}', header = true) AS p
      JOIN '${BUCKET_URL}/query/orders.parquet' AS o ON o.person_id = p.id
      GROUP BY p.id, p.name ORDER BY p.id`);
    expect(rows).toEqual([
      { id: 0, name: 'person 0, jr', total: 10 + 60 + 110 + 160 },
      { id: 1, name: 'person 1', total: 20 + 70 + 120 + 170 },
      { id: 2, name: 'person 2', total: 30 + 80 + 130 + 180 },
      { id: 3, name: 'person 3', total: 40 + 90 + 140 + 190 },
      { id: 4, name: 'person 4', total: 50 + 100 + 150 + 200 },
    ]);
    const stream = catalog.streams[0].stream;
    expect(Object.keys(stream.json_schema.properties)).toEqual(['id', 'name', 'total']);
    expect(stream.default_cursor_field).toBeUndefined();
  });

  it('aggregate with GROUP BY over a glob of hive-partitioned folders', async () => {
    const { rows } = await records(`
      SELECT year, month, count(*) AS sales, sum(amount) AS amount
      FROM read_parquet('${BUCKET_URL}/query/sales/year=2024/month=*/*.parquet', hive_partitioning = true)
      GROUP BY ALL ORDER BY ALL`);
    expect(rows).toEqual([
      { year: 2024, month: "01", sales: 4, amount: 15 },
      { year: 2024, month: "02", sales: 5, amount: 22.5 },
    ]);
  });

  it('CTEs, subqueries, window functions and quoted identifiers', async () => {
    const { rows } = await records(`
      WITH priced AS (SELECT "Order ID" AS "order id", "Unit Price" AS "unit price" FROM '${BUCKET_URL}/query/quoted.csv')
      SELECT "order id", "unit price", sum("unit price") OVER (ORDER BY "order id") AS "running total"
      FROM priced WHERE "order id" IN (SELECT "Order ID" FROM '${BUCKET_URL}/query/quoted.csv') ORDER BY 1`);
    expect(rows).toEqual([
      { 'order id': 1, 'unit price': 2.5, 'running total': 2.5 },
      { 'order id': 2, 'unit price': 3.5, 'running total': 6 },
    ]);
  });

  it('reads compressed CSV by glob (discovered from a gzip sample, read whole)', async () => {
    const { rows } = await records(`SELECT count(*) AS people, min(id) AS first FROM '${BUCKET_URL}/csv/archive/*.csv.gz'`);
    expect(rows).toEqual([{ people: 50, first: 1000 }]);
  });

  it('reads a key with spaces and quotes', async () => {
    const key = FIXTURES.quotedName.replace(/'/g, "''");
    const { rows } = await records(`SELECT * FROM '${BUCKET_URL}/${key}'`);
    expect(rows).toEqual([{ one: 1 }]);
  });

  it('keeps big integer and double literals exact through the rewrite', async () => {
    await putObject(client, 'query/ids.csv', 'id,label\n9007199254740992,wrong\n9007199254740993,right\n');
    const { rows } = await records(
      `SELECT label, 1e3 AS thousand FROM read_csv('${BUCKET_URL}/query/ids.csv', types = {'id': 'BIGINT'}) WHERE id = 9007199254740993`,
    );
    expect(rows).toEqual([{ label: 'right', thousand: 1000 }]);
  });

  it("shows s3:// URLs, not local paths, in DuckDB's filename column", async () => {
    const { rows } = await records(`SELECT filename, "Order ID" FROM read_csv('${BUCKET_URL}/query/quoted.csv', filename = true) ORDER BY 2`);
    expect(rows).toEqual([
      { filename: `${BUCKET_URL}/query/quoted.csv`, 'Order ID': 1 },
      { filename: `${BUCKET_URL}/query/quoted.csv`, 'Order ID': 2 },
    ]);
  });

  it('resumes a killed incremental sync from the cursor value of its last checkpoint, losing no row', async () => {
    const prefix = `query/resume-${Date.now()}/`;
    // Ten rows out of cursor order, two at the same value (9007199254740993 is past 2^53: kept exact), one without a value.
    // The cursor is named "type", like a column of the RECORD rows DuckDB builds: the order must still be the cursor's.
    const rows = [[1, 50], [2, 10], [3, '9007199254740993'], [4, 30], [5, 20], [6, 30], [7, 40], [8, ''], [9, 60], [10, 70]];
    await putObject(client, `${prefix}a.csv`, `id,type\n${rows.map((row) => row.join(',')).join('\n')}\n`);
    const config = configWith([queryStream('typed', `SELECT id, "type" FROM '${BUCKET_URL}/${prefix}a.csv'`)]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'incremental', cursor_field: ['type'] });
    const full = await read(config, catalog, undefined, { SOURCE_S3_CHECKPOINT_RECORDS: '4', SOURCE_S3_CHECKPOINT_SECONDS: '0' });
    // In cursor order, the row without a value first.
    // JSON.parse rounds the big value; the line itself holds it exactly.
    expect(full.records.map((record) => record.data.type)).toEqual([null, 10, 20, 30, 30, 40, 50, 60, 70, 9007199254740992]);
    expect(full.stdout).toContain('"type":9007199254740993');
    const sequence = full.messages.filter((message) => message.type === 'RECORD' || message.type === 'STATE');
    const checkpoint = sequence.findIndex((message) => message.type === 'STATE');
    const midState = sequence[checkpoint]!.state;
    // After 4 rows (8, 2, 5, then 4 or 6 at 30): resume from 30.
    expect(midState.stream.stream_state).toMatchObject({ resume_from: '30' });
    const emittedBefore = sequence.slice(0, checkpoint).map((message) => message.record.data.id);
    const resumed = await read(config, catalog, [{ type: midState.type, stream: midState.stream }]);
    const resumedIds = resumed.records.map((record) => record.data.id);
    expect(resumedIds.sort((a: number, b: number) => a - b)).toEqual([1, 3, 4, 6, 7, 9, 10]);
    expect(new Set([...emittedBefore, ...resumedIds]).size).toBe(10);
    expect(lastStates(resumed.messages)[0]!.stream.stream_state).toMatchObject({ cursor: '9007199254740993' });
    expect(lastStates(resumed.messages)[0]!.stream.stream_state).not.toHaveProperty('resume_from');
  });

  it('starts a killed incremental sync over when its cursor cannot be resumed by value (a BLOB)', async () => {
    const prefix = `query/blob-resume-${Date.now()}/`;
    await putObject(client, `${prefix}a.csv`, 'id,tag\n1,b\n2,a\n3,c\n4,a\n');
    const config = configWith([queryStream('blobs', `SELECT id, encode(tag) AS tag FROM '${BUCKET_URL}/${prefix}a.csv'`)]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'incremental', cursor_field: ['tag'] });
    const full = await read(config, catalog, undefined, { SOURCE_S3_CHECKPOINT_RECORDS: '2', SOURCE_S3_CHECKPOINT_SECONDS: '0' });
    expect(full.records).toHaveLength(4);
    const midState = full.states[0]!;
    expect(midState.stream.stream_state).not.toHaveProperty('resume_from');
    const resumed = await read(config, catalog, [{ type: midState.type, stream: midState.stream }]);
    expect(resumed.records.map((record) => record.data.id).sort()).toEqual([1, 2, 3, 4]);
  });

  it('never saves a NaN or infinite cursor, which would hide every later row', async () => {
    const prefix = `query/nan-${Date.now()}/`;
    await putObject(client, `${prefix}a.csv`, 'id,score\n1,1.5\n2,nan\n3,2.5\n4,inf\n');
    const config = configWith([queryStream('scores', `SELECT id, CAST(score AS DOUBLE) AS score FROM '${BUCKET_URL}/${prefix}*.csv'`)]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'incremental', cursor_field: ['score'] });
    const first = await read(config, catalog);
    expect(first.code).toBe(0);
    expect(first.records).toHaveLength(4);
    expect(lastStates(first.messages)[0]!.stream.stream_state).toMatchObject({ cursor: '2.5' });
    await putObject(client, `${prefix}b.csv`, 'id,score\n5,3.5\n');
    const second = await read(config, catalog, lastStates(first.messages));
    // Rows 2 (NaN) and 4 (inf) come every sync, as null cursors do; row 5 is new.
    expect(second.records.map((record) => record.data.id).sort()).toEqual([2, 4, 5]);
  });

  it('syncs incrementally on a column cursor of the query', async () => {
    const prefix = `query/incremental-${Date.now()}/`;
    await putObject(client, `${prefix}a.csv`, 'id,updated_at\n1,2024-01-01 00:00:00\n2,2024-01-02 00:00:00\n');
    const config = configWith([queryStream('changes', `SELECT id, updated_at FROM '${BUCKET_URL}/${prefix}*.csv'`)]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'incremental', cursor_field: ['updated_at'] });
    const first = await read(config, catalog);
    expect(first.records.map((record) => record.data.id)).toEqual([1, 2]);
    const state = lastStates(first.messages);
    expect(state[0]!.stream.stream_state).toMatchObject({ cursor_field: 'updated_at', cursor: '2024-01-02 00:00:00', cursor_boundary: { rows: 1, hash: expect.stringMatching(/^\d+$/) } });
    await putObject(client, `${prefix}b.csv`, 'id,updated_at\n3,2024-01-01 12:00:00\n4,2024-01-03 00:00:00\n');
    const second = await read(config, catalog, state);
    expect(second.code).toBe(0);
    // Row 2 sat at the saved cursor and is still the only one there: not emitted again. Row 3 is below it.
    expect(second.records.map((record) => record.data.id)).toEqual([4]);
    const secondState = lastStates(second.messages);
    expect(secondState[0]!.stream.stream_state).toMatchObject({ cursor: '2024-01-03 00:00:00', cursor_boundary: { rows: 1 } });

    // A new row at the saved cursor value: every row there comes again, so none is lost.
    await putObject(client, `${prefix}c.csv`, 'id,updated_at\n5,2024-01-03 00:00:00\n');
    const third = await read(config, catalog, secondState);
    expect(third.records.map((record) => record.data.id).sort()).toEqual([4, 5]);
    expect(lastStates(third.messages)[0]!.stream.stream_state).toMatchObject({ cursor: '2024-01-03 00:00:00', cursor_boundary: { rows: 2 } });
    const fourth = await read(config, catalog, lastStates(third.messages));
    expect(fourth.records).toEqual([]);

    // As many rows at the saved value as before, but not the same ones: row 5 moved on, row 6 came.
    await putObject(client, `${prefix}c.csv`, 'id,updated_at\n5,2024-01-04 00:00:00\n6,2024-01-03 00:00:00\n');
    const fifth = await read(config, catalog, lastStates(fourth.messages));
    expect(fifth.records.map((record) => record.data.id).sort()).toEqual([4, 5, 6]);
    expect(lastStates(fifth.messages)[0]!.stream.stream_state).toMatchObject({ cursor: '2024-01-04 00:00:00', cursor_boundary: { rows: 1 } });

    const noCursor = await read(config, configuredCatalog(catalog.streams.map((configured: Schema) => configured.stream), { sync_mode: 'incremental' }));
    expect(noCursor.code).toBe(1);
    expect(noCursor.messages.find((message) => message.type === 'TRACE' && message.trace.type === 'ERROR')!.trace.error.message).toContain(
      'is a model query: an incremental sync needs a cursor_field that is one of its columns',
    );
  });

  it('passes check, naming how many objects it bound over', async () => {
    const result = await runCli(['check', '--config', writeTempFile('config.json', configWith([queryStream('q', `SELECT * FROM '${BUCKET_URL}/query/sales/**/*.parquet'`)]))]);
    const status = onlyMessage(result, 'CONNECTION_STATUS').connectionStatus;
    expect(status.status, status.message).toBe('SUCCEEDED');
    expect(status.message).toContain('stream "q": model query over 3 objects (4 columns, the query was bound, not run)');
  });
});

describe('the query preview command', () => {
  const preview = (sql: string, extra: string[] = []) =>
    spawnSync(process.execPath, [CLI, 'query', '--config', writeTempFile('config.json', localConfig()), '--sql', sql, ...extra], { env: cleanEnv(), encoding: 'utf8' });

  it('prints a table, the column types and what was fetched', () => {
    const result = preview(`SELECT year, count(*) AS n FROM read_parquet('${BUCKET_URL}/query/sales/**/*.parquet', hive_partitioning = true) GROUP BY year ORDER BY year`);
    expect(result.status, result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines.slice(0, 4)).toEqual(['year | n', '-----+--', '2023 | 3', '2024 | 9']);
    expect(lines[4]).toBe('(2 rows)');
    expect(lines[5]).toBe('columns: year BIGINT, n BIGINT');
    expect(lines[6]).toMatch(/^fetched 3 objects, [\d.]+ (B|KiB)$/);
  });

  it('limits rows (50 by default) and prints JSON lines on request', () => {
    const limited = preview('SELECT range AS i FROM range(100)', ['--limit', '3', '--format', 'json']);
    // A query must read from the bucket: range() alone is refused.
    expect(limited.status).toBe(1);
    const result = preview(`SELECT order_id FROM '${BUCKET_URL}/query/orders.parquet' ORDER BY 1`, ['--limit', '3', '--format', 'json']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe('{"order_id":0}\n{"order_id":1}\n{"order_id":2}\n');
    expect(result.stderr).toContain('3 rows; columns: order_id BIGINT; fetched 1 object');
    // 20 orders x 10 = 200 rows: the default limit shows 50.
    const defaults = preview(`SELECT o.*, r.range AS copy FROM '${BUCKET_URL}/query/orders.parquet' AS o, range(10) AS r`);
    expect(defaults.status, defaults.stderr).toBe(0);
    expect(defaults.stdout).toContain('(50 rows, limited to 50)');
    expect(defaults.stdout.split('\n').filter((line) => /^\d/.test(line))).toHaveLength(50);
    for (const secret of ALL_SECRETS) expect(defaults.stdout + defaults.stderr).not.toContain(secret);
  });
});

describe('model query rules: each refused with a config_error naming the offending part, touching nothing', () => {
  const proxied = useFaultProxy();

  const escapePath = join(tmpdir(), `source-s3-escape-${Date.now()}.csv`);

  it.each([
    ['two statements', `SELECT 1 FROM '${BUCKET_URL}/a.csv'; SELECT 2`, 'must be exactly one SELECT statement (found 2)'],
    ['COPY TO a file', `COPY (SELECT 1) TO '${escapePath}'`, 'must be one SELECT statement; COPY is not allowed'],
    ['ATTACH a database', "ATTACH '/tmp/source-s3-attack.db'", 'must be one SELECT statement; ATTACH is not allowed'],
    ['INSTALL an extension', 'INSTALL httpfs', 'must be one SELECT statement; INSTALL is not allowed'],
    ['LOAD an extension', 'LOAD httpfs', 'must be one SELECT statement; LOAD is not allowed'],
    ['SET a config option', 'SET enable_external_access = true', 'must be one SELECT statement; SET is not allowed'],
    ['a local file', "SELECT * FROM '/etc/passwd'", 'reads "/etc/passwd" (at line 1, column 15), a local path'],
    ['a local file through read_csv', "SELECT * FROM read_csv('/etc/passwd')", "reads '/etc/passwd' with read_csv() (at line 1, column 15): local paths and other schemes are not allowed"],
    ['file://', "SELECT * FROM read_parquet('file:///etc/x.parquet')", "reads 'file:///etc/x.parquet' with read_parquet()"],
    ['http://', "SELECT * FROM 'http://example.com/data.csv'", 'reads "http://example.com/data.csv" (at line 1, column 15), which is not an s3:// URL'],
    ['glob() on a local path', "SELECT * FROM glob('/tmp/*')", 'uses table function glob() (at line 1, column 15), which is not allowed'],
    ['read_text() on a local path', "SELECT * FROM read_text('/etc/passwd')", 'uses table function read_text() (at line 1, column 15), which is not allowed'],
    ['a computed path', "SELECT * FROM read_csv(concat('/etc/', 'passwd'))", 'must give read_csv() (at line 1, column 15) an s3:// URL or a list of them'],
    ['another bucket', "SELECT * FROM 's3://another-bucket/data.csv'", 'reads "s3://another-bucket/data.csv" from bucket "another-bucket"; only the configured bucket "source-s3-test" can be read'],
    ['a syntax error', 'SELEC * FROM x', 'has a SQL syntax error at line 1, column 1: syntax error at or near "SELEC"'],
    ['reading the settings', `SELECT current_setting('allowed_directories') FROM '${BUCKET_URL}/query/orders.parquet'`, 'uses function current_setting() (at line 1, column 8), which is not allowed'],
    ['leaving tables behind', `SELECT * FROM read_csv('${BUCKET_URL}/query/quoted.csv', store_rejects = true)`, 'sets read_csv(store_rejects) (at line 1, column 15), which is not allowed'],
  ])('%s', async (_label, query, expected) => {
    const proxy = proxied.proxy();
    proxy.requests = 0;
    const result = await runCli(['discover', '--config', writeTempFile('config.json', localConfig({ endpoint: proxied.endpoint(), streams: [queryStream('unsafe', query)] }))]);
    expect(result.code).toBe(1);
    const error = onlyMessage(result, 'TRACE').trace.error;
    expect(error.failure_type).toBe('config_error');
    expect(error.stream_descriptor).toEqual({ name: 'unsafe' });
    expect(error.message).toContain(`Stream "unsafe": the model query ${expected}`);
    expect(proxy.requests).toBe(0);
    expect(existsSync(escapePath)).toBe(false);
  });

  it('a key outside the configured path', async () => {
    const result = await runCli(['discover', '--config', writeTempFile('config.json', localConfig({ path: 'query', streams: [queryStream('outside', `SELECT * FROM '${BUCKET_URL}/${FIXTURES.peopleCsv}'`)] }))]);
    expect(onlyMessage(result, 'TRACE').trace.error.message).toContain(`reads "${BUCKET_URL}/${FIXTURES.peopleCsv}", outside the configured path "query/"`);
  });

  it('a FROM glob without a file extension, which needs a reader named', async () => {
    const result = await runCli(['discover', '--config', writeTempFile('config.json', localConfig({ streams: [queryStream('bare', `SELECT * FROM '${BUCKET_URL}/query/sales/**'`)] }))]);
    expect(onlyMessage(result, 'TRACE').trace.error.message).toContain('with FROM, which needs a file extension to pick a reader');
  });

  it('a query referencing more bytes than it may stage', async () => {
    const result = await runCli(
      ['read', '--config', writeTempFile('config.json', localConfig({ streams: [queryStream('huge', `SELECT * FROM '${BUCKET_URL}/query/orders.parquet'`)] })), '--catalog', writeTempFile('catalog.json', {
        streams: [{ stream: { name: 'huge', json_schema: { type: 'object', properties: {} }, supported_sync_modes: ['full_refresh'] }, sync_mode: 'full_refresh', destination_sync_mode: 'overwrite' }],
      })],
      { env: { SOURCE_S3_QUERY_MAX_BYTES: '100' } },
    );
    expect(result.code).toBe(1);
    expect(result.messages.find((message) => message.type === 'TRACE' && message.trace.type === 'ERROR')!.trace.error.message).toMatch(
      /references [\d.]+ (bytes|KiB) of objects, more than the 100 bytes a query may stage \(SOURCE_S3_QUERY_MAX_BYTES\)/,
    );
  });

  it('a glob that matches nothing', async () => {
    const result = await runCli(['discover', '--config', writeTempFile('config.json', localConfig({ streams: [queryStream('empty', `SELECT * FROM '${BUCKET_URL}/query/nothing/*.parquet'`)] }))]);
    expect(onlyMessage(result, 'TRACE').trace.error.message).toBe(`Stream "empty": the model query reads "${BUCKET_URL}/query/nothing/*.parquet", which matches no objects.`);
  });

  it('an error inside the query names DuckDB\'s reason, with s3:// URLs, not local paths', async () => {
    const result = await runCli(['discover', '--config', writeTempFile('config.json', localConfig({ streams: [queryStream('typo', `SELECT nope FROM '${BUCKET_URL}/query/orders.parquet'`)] }))]);
    const message = onlyMessage(result, 'TRACE').trace.error.message as string;
    expect(message).toMatch(/^Stream "typo": the model query failed: Binder Error: Referenced column "nope" not found/);
    expect(message).not.toContain('/tmp/');
  });
});
