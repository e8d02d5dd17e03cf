/**
 * Model query rules, attacked through the real CLI: reader options that leave
 * tables behind in any syntax, views and settings that show the local side,
 * `filename` carried through expressions, paths that are not s3:// URLs of
 * the bucket, and statements hidden behind comments. Every refusal is a
 * config_error naming the stream and the offending part, before anything is
 * fetched; nothing of the staging directory ever reaches stdout or stderr.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localConfig, onlyMessage, runCli, writeTempFile, type CliResult } from '../support/cli.js';
import { BUCKET } from '../support/constants.js';
import { useFaultProxy } from '../support/proxy-hooks.js';
import { configuredCatalog, configWith, discoverStreams, read } from '../support/read.js';
import { putObject, testClient } from '../support/s3-client.js';

const client = testClient();
const PREFIX = 'attack-rules/';
const FILE = `s3://${BUCKET}/${PREFIX}k.csv`;
// A staging directory of its own, under a name that can be searched for in every output.
const STAGING = mkdtempSync(join(tmpdir(), 'source-s3-attack-staging-'));
const ENV = { SOURCE_S3_STAGING_DIR: STAGING };

beforeAll(async () => {
  await putObject(client, `${PREFIX}k.csv`, 'a,b\n1,x\n2,y\n3,z,extra\n');
});
afterAll(() => {
  client.destroy();
  rmSync(STAGING, { recursive: true, force: true });
});

/** Nothing of this machine's side: not the staging directory, the OS temp directory, DuckDB's spill folder or a relative staged name. */
function expectNoLocalSide(result: CliResult, options: { quotesStagedName?: boolean } = {}): void {
  // In any case: upper(filename) is a path too.
  const output = (result.stdout + result.stderr).toLowerCase();
  expect(output).not.toContain(STAGING.toLowerCase());
  expect(output).not.toContain(tmpdir().toLowerCase());
  expect(output).not.toContain('.duckdb-spill');
  if (options.quotesStagedName !== true) expect(output).not.toContain('./s3://');
}

function expectRefused(result: CliResult, parts: string[], options: { quotesStagedName?: boolean } = {}): void {
  expect(result.code).toBe(1);
  const error = onlyMessage(result, 'TRACE').trace.error;
  expect(error.failure_type).toBe('config_error');
  expect(error.stream_descriptor).toEqual({ name: 'evil' });
  expect(error.message).toContain('Stream "evil": the model query');
  for (const part of parts) expect(error.message.toLowerCase()).toContain(part.toLowerCase());
  expectNoLocalSide(result, options);
}

describe('refused before anything is fetched', () => {
  const proxied = useFaultProxy();
  const discover = async (query: string) => {
    const proxy = proxied.proxy();
    proxy.requests = 0;
    const result = await runCli(['discover', '--config', writeTempFile('config.json', localConfig({ endpoint: proxied.endpoint(), streams: [{ name: 'evil', query }] }))], { env: ENV });
    expect(proxy.requests).toBe(0);
    return result;
  };

  const options: [string, string, string][] = [];
  for (const [option, value] of [['store_rejects', 'true'], ['rejects_table', "'source_s3_rejects_1'"], ['rejects_scan', "'scans'"], ['rejects_limit', '5']] as const) {
    options.push([`${option} =`, option, `SELECT * FROM read_csv('${FILE}', ${option} = ${value})`]);
    options.push([`${option} :=`, option, `SELECT * FROM read_csv('${FILE}', ${option} := ${value})`]);
    options.push([`${option} =>`, option, `SELECT * FROM read_csv('${FILE}', ${option} => ${value})`]);
  }
  options.push(
    ['upper case, :=', 'store_rejects', `SELECT * FROM read_csv('${FILE}', STORE_REJECTS := TRUE)`],
    ['mixed case, =>, read_csv_auto', 'rejects_table', `SELECT * FROM read_csv_auto('${FILE}', Rejects_Table => 'x')`],
    ['inside a nested subquery', 'store_rejects', `SELECT * FROM (SELECT * FROM (SELECT a FROM read_csv('${FILE}', ignore_errors := true, store_rejects := true)))`],
    ['inside a CTE', 'rejects_scan', `WITH c AS (SELECT * FROM read_csv('${FILE}', rejects_scan => 's')) SELECT * FROM c`],
    ['inside an IN subquery', 'store_rejects', `SELECT * FROM '${FILE}' WHERE a IN (SELECT a FROM read_csv('${FILE}', store_rejects => true))`],
    ['a quoted option name', 'store_rejects', `SELECT * FROM read_csv('${FILE}', "store_rejects" := true)`],
  );
  it.each(options)('reader option %s', async (_label, option, query) => {
    expectRefused(await discover(query), [option]);
  });

  it.each([
    ['pg_settings', `SELECT * FROM pg_settings, '${FILE}'`, 'pg_settings'],
    ['pg_catalog.pg_settings', `SELECT name, setting FROM pg_catalog.pg_settings, '${FILE}'`, 'pg_settings'],
    ['duckdb_databases', `SELECT * FROM duckdb_databases, '${FILE}'`, 'duckdb_databases'],
    ['pragma_database_list', `SELECT * FROM pragma_database_list, '${FILE}'`, 'pragma_database_list'],
    ['duckdb_settings()', `SELECT * FROM duckdb_settings(), '${FILE}'`, 'duckdb_settings'],
    ['information_schema', `SELECT * FROM information_schema.tables, '${FILE}'`, 'tables'],
    ['sqlite_master', `SELECT * FROM sqlite_master, '${FILE}'`, 'sqlite_master'],
    ['pg_settings in a scalar subquery', `SELECT (SELECT max(setting) FROM pg_settings WHERE name = 'temp_directory') AS t, a FROM '${FILE}'`, 'pg_settings'],
    ['pg_settings behind a CTE of the same name', `WITH x AS (SELECT * FROM pg_catalog.pg_settings) SELECT * FROM x, '${FILE}'`, 'pg_settings'],
    ["current_setting('temp_directory')", `SELECT current_setting('temp_directory') AS t FROM '${FILE}'`, 'current_setting'],
    ['getenv', `SELECT getenv('AWS_SECRET_ACCESS_KEY') AS t FROM '${FILE}'`, 'getenv'],
    ['getvariable', `SELECT getvariable('x') AS t FROM '${FILE}'`, 'getvariable'],
  ])('%s', async (_label, query, part) => {
    expectRefused(await discover(query), [part]);
  });

  it.each([
    ['a query string after a local name', "SELECT * FROM 'x.csv?y'", 'x.csv?y'],
    ['/etc/passwd', "SELECT * FROM '/etc/passwd'", '/etc/passwd'],
    ['a bare local name', "SELECT * FROM 'data.csv'", 'data.csv'],
    ['the staged form of a URL', `SELECT * FROM read_csv('./s3://${BUCKET}/${PREFIX}k.csv')`, `./s3://${BUCKET}/${PREFIX}k.csv`],
    ['a .. segment', `SELECT * FROM read_csv('s3://${BUCKET}/../x.csv')`, `s3://${BUCKET}/../x.csv`],
    ['another bucket', "SELECT * FROM 's3://other-bucket/x.csv'", 'other-bucket'],
    ['another bucket in a list', `SELECT * FROM read_csv(['${FILE}', 's3://other-bucket/x.csv'])`, 'other-bucket'],
    ['a local path in a nested subquery', "SELECT * FROM (SELECT * FROM (SELECT * FROM read_parquet('/proc/self/environ')))", '/proc/self/environ'],
  ])('%s', async (_label, query, part) => {
    // The refusal quotes the query's own text, which may be a staged name.
    expectRefused(await discover(query), [part], { quotesStagedName: part.startsWith('./') });
  });

  it.each([
    ['a statement after a line comment', `SELECT * FROM '${FILE}'; -- x\nDROP TABLE t`],
    ['a block comment first', `/* c */ SELECT * FROM '${FILE}'; CREATE TABLE t (i INT)`],
    ['a comment between the statements', `SELECT * FROM '${FILE}' /* ; */; /* c */ SET VARIABLE x = 1`],
  ])('%s: named as more than one statement, not a refused keyword', async (_label, query) => {
    const result = await discover(query);
    expectRefused(result, ['exactly one SELECT statement']);
    expect(onlyMessage(result, 'TRACE').trace.error.message).not.toContain('is not allowed');
  });
});

describe('filename never shows the staging side', () => {
  const queries: [string, string, (value: unknown) => unknown][] = [
    ['plain', `SELECT filename AS f, a FROM read_csv('${FILE}', filename = true, ignore_errors = true)`, (value) => value],
    ['lower()', `SELECT lower(filename) AS f, a FROM read_csv('${FILE}', filename = true, ignore_errors = true)`, (value) => value],
    ['|| concatenation', `SELECT filename || '' AS f, a FROM read_csv('${FILE}', filename = true, ignore_errors = true)`, (value) => value],
    ['a list', `SELECT [filename] AS f, a FROM read_csv('${FILE}', filename = true, ignore_errors = true)`, (value) => (value as unknown[])[0]],
    ['a struct', `SELECT {'f': filename} AS f, a FROM read_csv('${FILE}', filename = true, ignore_errors = true)`, (value) => (value as Record<string, unknown>).f],
    ['a map', `SELECT MAP {filename: filename} AS f, a FROM read_csv('${FILE}', filename = true, ignore_errors = true)`, (value) => Object.values(value as Record<string, unknown>)[0]],
    ['to_json of a row', `SELECT to_json(t) AS f, a FROM read_csv('${FILE}', filename = true, ignore_errors = true) AS t`, (value) => (typeof value === 'string' ? JSON.parse(value) : (value as Record<string, unknown>)).filename],
    ['COLUMNS()', `SELECT COLUMNS('file.*'), a FROM read_csv('${FILE}', filename = true, ignore_errors = true)`, (value) => value],
    ['a subquery alias renaming the column', `SELECT f, a FROM (SELECT filename, a FROM read_csv('${FILE}', filename = true, ignore_errors = true)) AS s(f, a)`, (value) => value],
  ];
  it.each(queries)('%s: the value is the s3:// URL', async (_label, query, pick) => {
    const config = configWith([{ name: 'named', query }]);
    const discovered = await runCli(['discover', '--config', writeTempFile('config.json', config)], { env: ENV });
    expect(discovered.code, discovered.stdout + discovered.stderr).toBe(0);
    expectNoLocalSide(discovered);
    const catalog = configuredCatalog(onlyMessage(discovered, 'CATALOG').catalog.streams, { sync_mode: 'full_refresh' });
    const result = await read(config, catalog, undefined, ENV);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expectNoLocalSide(result);
    expect(result.records).toHaveLength(2);
    for (const record of result.records) {
      const value = record.data.f ?? record.data.filename;
      expect(pick(value)).toBe(FILE);
    }
  });

  it('is the s3:// URL inside the query too: comparisons, lengths, hashes and parts of it are right', async () => {
    const query = `SELECT filename = '${FILE}' AS eq, starts_with(filename, 's3://') AS url, length(filename) = ${FILE.length} AS len,
      md5(filename) = md5('${FILE}') AS hash, split_part(filename, '/', 3) = '${BUCKET}' AS bucket, list_transform([1], filename -> filename + 1)[1] = 2 AS lambda
      FROM read_csv('${FILE}', filename = true, ignore_errors = true) WHERE filename LIKE 's3://%'`;
    const config = configWith([{ name: 'named', query }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    const result = await read(config, catalog, undefined, ENV);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.records.map((record) => record.data)).toEqual(Array(2).fill({ eq: true, url: true, len: true, hash: true, bucket: true, lambda: true }));
  });

  it('error(upper(filename)): the failure names no local path', async () => {
    const config = configWith([{ name: 'evil', query: `SELECT error(upper(filename)) AS f FROM read_csv('${FILE}', filename = true, ignore_errors = true)` }]);
    const result = await read(config, { streams: [{ stream: { name: 'evil', json_schema: { type: 'object', properties: {} }, supported_sync_modes: ['full_refresh'] }, sync_mode: 'full_refresh', destination_sync_mode: 'overwrite' }] }, undefined, ENV);
    expect(result.code).toBe(1);
    expect(result.messages.find((message) => message.type === 'TRACE' && message.trace.type === 'ERROR')!.trace.error.stream_descriptor).toEqual({ name: 'evil' });
    expectNoLocalSide(result);
  });
});

describe('found by the outside review', () => {
  const discover = (query: string) => runCli(['discover', '--config', writeTempFile('config.json', configWith([{ name: 'evil', query }]))], { env: ENV });

  it('a CTE named with a Kelvin sign (U+212A) does not hide the catalog view duckdb_databases', async () => {
    // JavaScript lower-cases U+212A to k; DuckDB folds ASCII only, so its CTE would not match and the view would be read.
    expectRefused(await discover(`WITH "duc\u212Adb_databases" AS (SELECT 1) SELECT database_name FROM duckdb_databases, '${FILE}'`), ['reads table "duckdb_databases"']);
  });

  it('an output column whose name holds a NUL (a JSON key can) is a config_error naming it, not an internal error', async () => {
    await putObject(client, `${PREFIX}nul-key.jsonl`, '{"a\\u0000b": 1, "c": 2}\n');
    expectRefused(await discover(`SELECT * FROM 's3://${BUCKET}/${PREFIX}nul-key.jsonl'`), ['has an output column whose name holds a NUL character ("a\\u0000b")']);
  });

  it('a data column called filename that is not text still reads (the URL rewrite does not bind, the query runs as written)', async () => {
    await putObject(client, `${PREFIX}numbered.csv`, 'filename,x\n1,a\n2,b\n');
    const query = `SELECT filename, x, {'filename': 42}.filename AS field FROM 's3://${BUCKET}/${PREFIX}numbered.csv' WHERE filename > 1`;
    const config = configWith([{ name: 'numbers', query }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    const result = await read(config, catalog, undefined, ENV);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.records.map((record) => record.data)).toEqual([{ filename: 2, x: 'b', field: 42 }]);
  });

  it('filename inside a subquery given to a table function is the URL too', async () => {
    const query = `SELECT * FROM unnest((SELECT list(filename = '${FILE}') FROM read_csv('${FILE}', filename = true, ignore_errors = true))) AS t(same)`;
    const config = configWith([{ name: 'nested', query }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    const result = await read(config, catalog, undefined, ENV);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.records.map((record) => record.data)).toEqual([{ same: true }, { same: true }]);
  });

  it('output names that differ only in case are refused (DuckDB would read both as one)', async () => {
    expectRefused(await discover(`SELECT 1 AS a, 2 AS A FROM '${FILE}'`), ['more than one output column named "A"']);
  });

  it("a column named like the connector's lambda variables does not replace a map's entries", async () => {
    const query = `SELECT {'key': 'INJECTED', 'value': 'INJECTED'} AS lambda_0, {'key': 'INJECTED', 'value': 'INJECTED'} AS e0, {'key': 'x', 'value': 'y'} AS m0,
      MAP {'k': TIMESTAMP '1999-01-01 00:00:00'} AS m, MAP {'realkey': filename} AS n FROM read_csv('${FILE}', filename = true, ignore_errors = true) LIMIT 1`;
    const config = configWith([{ name: 'maps', query }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    const result = await read(config, catalog, undefined, ENV);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.records.map((record) => [record.data.m, record.data.n])).toEqual([[{ k: '1999-01-01T00:00:00.000000' }, { realkey: FILE }]]);
  });

  it('a glob built to make a backtracking matcher run for minutes is matched at once (and the command stays stoppable)', async () => {
    await putObject(client, `${PREFIX}${'a'.repeat(60)}.csv`, 'a\n1\n');
    const glob = `s3://${BUCKET}/${PREFIX}${'*a'.repeat(14)}*b.csv`;
    const result = await discover(`SELECT * FROM '${glob}'`);
    expectRefused(result, [`reads "${glob}", which matches no objects`]);
  });
});

describe('isolation by construction', () => {
  it("a query stream sees nothing an earlier one tried to leave, and not the engine's settings", async () => {
    // Each attempt is refused; the stream after them reads as it does alone.
    const attempts = [
      `SELECT "1 AS a; SET VARIABLE leaked = 42; SELECT t".* FROM '${FILE}' AS t`,
      `SELECT "1 AS a; CREATE TABLE leaked AS SELECT 42 AS i; SELECT t".* FROM '${FILE}' AS t`,
      `SELECT "1 AS a; SET threads = 1; SELECT t".* FROM '${FILE}' AS t`,
      `SELECT * FROM read_csv('${FILE}', store_rejects := true, ignore_errors := true)`,
    ];
    const observer = { name: 'observer', query: `SELECT a, b FROM read_csv('${FILE}', ignore_errors = true) ORDER BY a` };
    const alone = configWith([observer]);
    const catalog = configuredCatalog(await discoverStreams(alone), { sync_mode: 'full_refresh' });
    const baseline = await read(alone, catalog);
    expect(baseline.records.map((record) => record.data)).toEqual([{ a: 1, b: 'x' }, { a: 2, b: 'y' }]);

    // What the earlier streams tried to leave is not there to be read by a later one: each probe is refused or finds nothing.
    const probes = [`SELECT getvariable('leaked') AS v, a FROM '${FILE}'`, `SELECT i FROM leaked, '${FILE}'`, `SELECT * FROM duckdb_variables(), '${FILE}'`];
    const blind = (name: string) => ({
      stream: { name, json_schema: { type: 'object', properties: {} }, supported_sync_modes: ['full_refresh'] },
      sync_mode: 'full_refresh',
      destination_sync_mode: 'overwrite',
    });
    const evil = attempts.map((query, index) => ({ name: `evil_${index}`, query }));
    const probing = probes.map((query, index) => ({ name: `probe_${index}`, query }));
    const result = await read(configWith([...evil, observer, ...probing]), {
      streams: [...evil.map((stream) => blind(stream.name)), ...catalog.streams, ...probing.map((stream) => blind(stream.name))],
    });
    const failed = result.messages.filter((message) => message.type === 'TRACE' && message.trace.type === 'ERROR').map((message) => message.trace.error.stream_descriptor.name);
    expect(failed).toEqual([...evil, ...probing].map((stream) => stream.name));
    expect(result.records.filter((record) => record.stream !== 'observer')).toEqual([]);
    expect(result.records.map((record) => record.data)).toEqual(baseline.records.map((record) => record.data));
  });
});
