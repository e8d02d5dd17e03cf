import { describe, expect, it } from 'vitest';
import { check, localConfig, onlyMessage, runCli, writeTempFile } from '../support/cli.js';
import { FIXTURES } from '../support/fixtures.js';
import { useFaultProxy } from '../support/proxy-hooks.js';
import { configuredCatalog, configWith, discoverStreams, read } from '../support/read.js';

// The model-query findings of issue 11, through the real CLI: each refused as a config_error that
// names the stream and the offending part, before a single request reaches the bucket.
const BUCKET_URL = 's3://source-s3-test';
const PEOPLE = `${BUCKET_URL}/${FIXTURES.peopleCsv}`;
const queryStream = (name: string, query: string) => ({ name, query });

describe('model-query rules through the CLI', () => {
  const proxied = useFaultProxy();

  it.each([
    [
      'a statement smuggled in a quoted star qualifier',
      `SELECT "1 AS a; CREATE MACRO isfinite(x) AS false; SELECT t".* FROM '${PEOPLE}' AS t`,
      'cannot be run as checked: DuckDB writes it back as 3 statements: the quoted qualifier "1 AS a; CREATE MACRO isfinite(x) AS false; SELECT t".* is written back without quotes',
    ],
    [
      'a statement smuggled in a nested subquery\'s qualifier',
      `SELECT * FROM (SELECT "t; CREATE TABLE pwn AS SELECT 1; SELECT u".* FROM '${PEOPLE}' AS "t; CREATE TABLE pwn AS SELECT 1; SELECT u")`,
      'cannot be run as checked: DuckDB writes it back as SQL that does not parse',
    ],
    ['store_rejects written :=', `SELECT * FROM read_csv('${PEOPLE}', store_rejects := true)`, 'sets read_csv(store_rejects) (at line 1, column 15), which is not allowed'],
    ['rejects_table written =>', `SELECT * FROM read_csv('${PEOPLE}', rejects_table => 'r')`, 'sets read_csv(rejects_table) (at line 1, column 15), which is not allowed'],
    ['rejects_scan quoted in upper case', `SELECT * FROM read_csv('${PEOPLE}', "REJECTS_SCAN" = 's')`, 'sets read_csv(rejects_scan) (at line 1, column 15), which is not allowed'],
    ['pg_settings', `SELECT name, setting FROM pg_settings, '${PEOPLE}'`, 'reads table "pg_settings" (at line 1, column 27), which is neither an s3:// URL nor a name defined by WITH'],
    ['pg_catalog.pg_settings', `SELECT * FROM '${PEOPLE}' WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_settings)`, 'reads table "pg_catalog.pg_settings"'],
    ['duckdb_databases', `SELECT path FROM duckdb_databases`, 'reads table "duckdb_databases"'],
    ['a CTE reading the catalog under its own name', `WITH pg_settings AS (SELECT * FROM pg_settings) SELECT * FROM pg_settings, '${PEOPLE}'`, 'reads table "pg_settings" (at line 1, column 36)'],
    ['pragma_database_list()', 'SELECT * FROM pragma_database_list()', 'uses table function pragma_database_list() (at line 1, column 15), which is not allowed'],
    ['a local path with a query string', "SELECT * FROM 'x.csv?y'", 'reads table "x.csv?y" (at line 1, column 15)'],
    ['current_query()', `SELECT current_query() AS q FROM '${PEOPLE}'`, 'uses function current_query() (at line 1, column 8), which is not allowed'],
    ['a second statement after a comment', `SELECT * FROM '${PEOPLE}'; -- tidy up\nDROP TABLE t`, 'must be exactly one SELECT statement (found 2)'],
    ['a statement after a leading comment', '-- make a table\nCREATE TABLE t (a INT)', 'must be one SELECT statement; CREATE is not allowed'],
    ['a PIVOT without an IN list (two statements to DuckDB)', `-- by year\nPIVOT (SELECT id, name FROM '${PEOPLE}') ON name USING count(*)`, 'must be exactly one SELECT statement (found 2; a PIVOT needs its values listed, e.g. ON year IN (2024, 2025))'],
  ])('%s', async (_label, query, expected) => {
    const proxy = proxied.proxy();
    proxy.requests = 0;
    const result = await runCli(['discover', '--config', writeTempFile('config.json', localConfig({ endpoint: proxied.endpoint(), streams: [queryStream('attacker', query)] }))]);
    expect(result.code).toBe(1);
    const error = onlyMessage(result, 'TRACE').trace.error;
    expect(error.failure_type).toBe('config_error');
    expect(error.stream_descriptor).toEqual({ name: 'attacker' });
    expect(error.message).toContain(`Stream "attacker": the model query ${expected}`);
    expect(proxy.requests).toBe(0);
  });

  it('refuses output columns of one name at check, instead of collapsing them in discover and failing the read', async () => {
    // A record is a JSON object: SELECT * over a join gives both sides' "id".
    const config = localConfig({ streams: [queryStream('joined', `SELECT * FROM (VALUES (1, 'x')) v(id, label) JOIN '${PEOPLE}' p ON p.id = v.id`)] });
    const { status, message } = await check(config);
    expect(status).toBe('FAILED');
    expect(message).toContain('Stream "joined": the model query has more than one output column named "id" (names are compared ignoring case; a join\'s SELECT * repeats its keys); give each a distinct name with AS, or list the columns.');
  });

  it('check fails on a smuggled statement instead of running it', async () => {
    const config = localConfig({
      streams: [
        { name: 'people', globs: [FIXTURES.peopleCsv], format: { filetype: 'csv' } },
        queryStream('attacker', `SELECT "1 AS a; CREATE TABLE pwn AS SELECT 1; SELECT t".* FROM '${PEOPLE}' AS t`),
      ],
    });
    const { status, message } = await check(config);
    expect(status).toBe('FAILED');
    expect(message).toContain('Stream "attacker": the model query cannot be run as checked: DuckDB writes it back as 3 statements');
  });

  it('runs queries DuckDB writes back wrapped or retyped as exactly what was written: VALUES, double literals', async () => {
    const config = configWith([
      queryStream('q', `SELECT v.label, 1e3 AS thousand, typeof(1e3) AS t FROM (VALUES (1, 'one')) v(n, label), '${PEOPLE}' LIMIT 1`),
    ]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    const result = await read(config, catalog);
    expect(result.code, result.stdout.slice(-800)).toBe(0);
    expect(result.records.map((record) => record.data)).toEqual([{ label: 'one', thousand: 1000, t: 'DOUBLE' }]);
  });
});
