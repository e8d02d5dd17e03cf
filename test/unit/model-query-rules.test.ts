import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useSandboxedEngine } from '../support/sandboxed-engine.js';
import { parseModelQuery, QueryRuleError, renderCheckedQuery, type ParsedQuery } from '../../src/engine/model-query.js';
import { sqlIdentifier, sqlString } from '../../src/engine/sql.js';
import { CATALOG_READING_MACROS } from '../../src/engine/model-query-rules.js';

// Everything here runs on a real DuckDB: the project's sandboxed Engine over a temp folder.
const sandbox = useSandboxedEngine('source-s3-rules-');

/** Stands a local path in for every reference, the way the stream layer does after staging (globs: two files). */
function stage(parsed: ParsedQuery): void {
  for (const reference of parsed.references) {
    const local = `./${reference.url}`;
    reference.replace(/[*?[]/.test(reference.url) ? [local.replace(/[*?[\]]+/g, 'one'), local.replace(/[*?[\]]+/g, 'two')] : [local]);
  }
}

async function render(sql: string): Promise<string> {
  const parsed = await parseModelQuery(sandbox.engine, sql);
  stage(parsed);
  return renderCheckedQuery(sandbox.engine, parsed);
}

/** The QueryRuleError message a query is refused with, at parsing or at rendering. */
async function refusal(sql: string): Promise<string> {
  try {
    await render(sql);
  } catch (error) {
    if (error instanceof QueryRuleError) return error.message;
    throw error;
  }
  throw new Error(`accepted: ${sql}`);
}

const URL = 's3://bucket/data/k.csv';

describe('statement smuggling through the SQL writer', () => {
  it('refuses the quoted star qualifier that DuckDB writes back as three statements, before anything runs', async () => {
    const message = await refusal(`SELECT "1 AS a; CREATE MACRO isfinite(x) AS false; SELECT t".* FROM '${URL}' AS t`);
    expect(message).toMatch(/^cannot be run as checked: DuckDB writes it back as 3 statements: the quoted qualifier "1 AS a; CREATE MACRO isfinite\(x\) AS false; SELECT t"\.\* is written back without quotes/);
    expect(await sandbox.engine.all('SELECT isfinite(1.5) AS ok')).toEqual([{ ok: true }]);
  });

  // Payloads an attacker would hide in a quoted name or a string, in every place a name or text can go.
  const payloads = [
    '1 AS a; CREATE MACRO isfinite(x) AS false; SELECT t',
    'x"; CREATE TABLE pwn(a INT); --',
    "x'; CREATE TABLE pwn(a INT); --",
    'x\n; CREATE TABLE pwn(a INT)\n--',
    'x /* ; CREATE TABLE pwn(a INT); */ y',
    'x -- ;\nCREATE TABLE pwn(a INT)',
    'x $$; CREATE TABLE pwn(a INT); $$ y',
    'x\\; CREATE TABLE pwn(a INT); --',
    'ü; CREATE VIEW pwn AS SELECT 1; SELECT "',
  ];
  const places: [string, (id: string, text: string) => string][] = [
    ['star qualifier', (id) => `SELECT ${id}.* FROM '${URL}' AS ${id}`],
    ['star qualifier in a nested subquery', (id) => `SELECT * FROM (SELECT * FROM (SELECT ${id}.* FROM '${URL}' AS ${id}) AS s)`],
    ['star qualifier in a scalar subquery', (id) => `SELECT (SELECT ${id}.* FROM '${URL}' AS ${id} LIMIT 1) AS v`],
    ['COLUMNS(qualifier.*)', (id) => `SELECT COLUMNS(${id}.*) FROM '${URL}' AS ${id}`],
    ['column qualifier', (id) => `SELECT ${id}.a FROM '${URL}' AS ${id}`],
    ['CTE name', (id) => `WITH ${id} AS (SELECT 1 AS v) SELECT * FROM ${id}, '${URL}'`],
    ['CTE column alias', (id) => `WITH c(${id}) AS (SELECT 1) SELECT * FROM c, '${URL}'`],
    ['column alias', (id) => `SELECT 1 AS ${id} FROM '${URL}'`],
    ['table column aliases', (id) => `SELECT * FROM '${URL}' AS t(${id})`],
    ['struct field name', (_id, text) => `SELECT {${text}: 1} AS s FROM '${URL}'`],
    ['struct field access', (id) => `SELECT s.${id} FROM '${URL}' AS s`],
    ['lambda parameter', (id) => `SELECT list_transform([1], ${id} -> ${id} + 1) AS l FROM '${URL}'`],
    ['EXCLUDE list', (id) => `SELECT * EXCLUDE (${id}) FROM '${URL}'`],
    ['REPLACE list', (id) => `SELECT * REPLACE (1 AS ${id}) FROM '${URL}'`],
    ['COLUMNS pattern', (_id, text) => `SELECT COLUMNS(${text}) FROM '${URL}'`],
    ['string literal', (_id, text) => `SELECT ${text} AS v FROM '${URL}'`],
    ['E-string', (_id, text) => `SELECT E'${text.slice(1, -1).replace(/''/g, "\\'").replace(/\\(?!')/g, '\\\\')}' AS v FROM '${URL}'`],
    ['reader option name', (id) => `SELECT * FROM read_csv('${URL}', ${id} := 1)`],
    ['reader option value', (_id, text) => `SELECT * FROM read_csv('${URL}', names = [${text}])`],
    ['window name', (id) => `SELECT sum(1) OVER ${id} AS v FROM '${URL}' WINDOW ${id} AS (ORDER BY 1)`],
    ['struct type field', (id) => `SELECT CAST(NULL AS STRUCT(${id} INT)) AS v FROM '${URL}'`],
    ['ORDER BY name', (id) => `SELECT * FROM '${URL}' ORDER BY ${id}`],
    ['PIVOT column and value', (id, text) => `SELECT * FROM '${URL}' PIVOT (count(*) FOR ${id} IN (${text}))`],
    ['function name', (id) => `SELECT ${id}(1) AS v FROM '${URL}'`],
    ['subquery alias in WHERE', (id) => `SELECT * FROM '${URL}' WHERE EXISTS (SELECT ${id}.* FROM '${URL}' AS ${id})`],
  ];
  const cases = places.flatMap(([place, build]) => payloads.map((payload) => [place, payload, build(sqlIdentifier(payload), sqlString(payload))] as const));

  it(`each of ${cases.length} payload placements is refused or runs as exactly the one SELECT that was checked, changing nothing`, async () => {
    // Real files in the sandbox stand in for the staged object, so accepted queries really run.
    const staged = join(sandbox.dir, 'smuggle', 'k.csv');
    mkdirSync(join(sandbox.dir, 'smuggle'), { recursive: true });
    writeFileSync(staged, 'a,b\n1,2\n');
    let refused = 0;
    let ran = 0;
    for (const [place, payload, sql] of cases) {
      let text: string;
      try {
        const parsed = await parseModelQuery(sandbox.engine, sql);
        for (const reference of parsed.references) reference.replace([staged]);
        text = await renderCheckedQuery(sandbox.engine, parsed);
      } catch (error) {
        if (!(error instanceof QueryRuleError)) throw new Error(`${place} / ${JSON.stringify(payload)}: ${String(error)}`);
        refused++;
        continue;
      }
      expect(await sandbox.engine.statementCount(text), `${place}: ${text}`).toBe(1);
      // Binder errors are fine (a name that is no column); a second statement never is.
      await sandbox.engine.all(text).then(
        () => ran++,
        () => ran++,
      );
    }
    expect(refused + ran).toBe(cases.length);
    // The star-qualifier placements cannot round-trip; most of the others can.
    expect(refused).toBeGreaterThanOrEqual(payloads.length);
    expect(ran).toBeGreaterThan(cases.length / 2);
    expect(await sandbox.engine.all('SELECT count(*)::INT AS n FROM duckdb_tables()')).toEqual([{ n: 0 }]);
    expect(await sandbox.engine.all('SELECT count(*)::INT AS n FROM duckdb_views() WHERE NOT internal')).toEqual([{ n: 0 }]);
    expect(await sandbox.engine.all("SELECT count(*)::INT AS n FROM duckdb_functions() WHERE NOT internal AND function_type LIKE '%macro%'")).toEqual([{ n: 0 }]);
    expect(await sandbox.engine.all('SELECT isfinite(1.5) AS ok')).toEqual([{ ok: true }]);
  });

  it('refuses a tree whose rendered SQL reads a file that was not staged', async () => {
    const parsed = await parseModelQuery(sandbox.engine, `SELECT * FROM '${URL}'`);
    stage(parsed);
    const from = (parsed.ast.statements as { node: { from_table: Record<string, unknown> } }[])[0]!.node.from_table;
    from.table_name = '/etc/passwd';
    await expect(renderCheckedQuery(sandbox.engine, parsed)).rejects.toThrow(/^cannot be run as checked: as DuckDB writes it back, it reads "\/etc\/passwd" \(at line 1, column 15\), which is not one of its staged files$/);
  });

  it('refuses to render a reference that was never replaced, or replace one twice', async () => {
    const parsed = await parseModelQuery(sandbox.engine, `SELECT * FROM '${URL}'`);
    await expect(renderCheckedQuery(sandbox.engine, parsed)).rejects.toThrow(`${URL} was not replaced by local files before rendering`);
    parsed.references[0]!.replace(['./a.csv']);
    expect(() => parsed.references[0]!.replace(['./b.csv'])).toThrow('was replaced already');
  });
});

describe('built-in macros that read the catalog', () => {
  it('are all refused: the list matches what this DuckDB defines', async () => {
    // Scalar macros whose body reads a table (duckdb_*(), pragma_*() ...): a DuckDB upgrade adding one fails here.
    const rows = await sandbox.engine.all("SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type = 'macro' AND macro_definition ILIKE '%FROM %' ORDER BY 1");
    expect(rows.map((row) => row.function_name)).toEqual([...CATALOG_READING_MACROS].sort());
    for (const name of CATALOG_READING_MACROS) {
      expect(await refusal(`SELECT ${name}('x') AS v FROM '${URL}'`)).toContain(`uses function ${name}()`);
    }
  });
});

describe('statements', () => {
  it.each([
    ['SELECT 1; -- x\nDROP TABLE t', 'must be exactly one SELECT statement (found 2)'],
    ['/* c */ SELECT 1; CREATE TABLE x(a INT)', 'must be exactly one SELECT statement (found 2)'],
    [`SELECT * FROM '${URL}'; SELECT 2`, 'must be exactly one SELECT statement (found 2)'],
    [`SELECT 1 FROM '${URL}'; /* ; */ ATTACH 'x.db'; -- ;`, 'must be exactly one SELECT statement (found 2)'],
    ['-- x\nCREATE TABLE t (a INT)', 'must be one SELECT statement; CREATE is not allowed'],
    ['/* a /* nested */ b */\n  COPY (SELECT 1) TO \'x.csv\'', 'must be one SELECT statement; COPY is not allowed'],
    [';; DROP TABLE t', 'must be one SELECT statement; DROP is not allowed'],
    ['SET VARIABLE x = 1', 'must be one SELECT statement; SET is not allowed'],
    ['CREATE MACRO isfinite(x) AS false', 'must be one SELECT statement; CREATE is not allowed'],
    ['CALL pragma_database_list()', 'must be one SELECT statement; CALL is not allowed'],
    ['PRAGMA database_list', 'must be one SELECT statement; PRAGMA is not allowed'],
    ['WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a', 'must be one SELECT statement; a WITH statement that is not a SELECT is not allowed'],
    ['', 'must be exactly one SELECT statement (found 0)'],
    ['-- nothing\n/* at all */', 'must be exactly one SELECT statement (found 0)'],
    ['SELEC 1', 'has a SQL syntax error at line 1, column 1: syntax error at or near "SELEC"'],
    [`SELECT 1e999 FROM '${URL}'`, 'has a number too large for DuckDB to describe exactly'],
  ])('%j', async (sql, expected) => {
    expect(await refusal(sql)).toContain(expected);
  });

  it('counts a semicolon inside a string, a quoted name or a comment as text', async () => {
    const sql = await render(`SELECT 'a; DROP TABLE t' AS "b; DROP TABLE u" /* ; */ FROM '${URL}' -- ;`);
    expect(await sandbox.engine.statementCount(sql)).toBe(1);
    expect(sql).toContain("'a; DROP TABLE t'");
  });
});

describe('reader options that leave tables behind', () => {
  const options = ['store_rejects', 'rejects_table', 'rejects_scan', 'rejects_limit'];
  const syntaxes: [string, (name: string) => string][] = [
    ['=', (name) => `${name} = true`],
    [':=', (name) => `${name} := true`],
    ['=>', (name) => `${name} => true`],
    ['==', (name) => `${name} == true`],
    ['parentheses', (name) => `((${name}) = true)`],
    ['quoted, upper case', (name) => `"${name.toUpperCase()}" := true`],
    ['mixed case', (name) => `${name[0]!.toUpperCase()}${name.slice(1)} => 'x'`],
  ];
  const cases = options.flatMap((option) => syntaxes.map(([syntax, write]) => [option, syntax, write(option)] as const));
  it.each(cases)('%s written with %s is refused, naming it', async (option, _syntax, argument) => {
    expect(await refusal(`SELECT * FROM read_csv('${URL}', header = true, ${argument})`)).toBe(
      `sets read_csv(${option}) (at line 1, column 15), which is not allowed (to skip bad rows use ignore_errors = true)`,
    );
  });

  it('refuses them in a reader inside a CTE, a subquery and a join too', async () => {
    expect(await refusal(`WITH c AS (SELECT * FROM read_csv('${URL}', store_rejects := true)) SELECT * FROM c`)).toMatch(/^sets read_csv\(store_rejects\)/);
    expect(await refusal(`SELECT * FROM '${URL}' WHERE 1 IN (SELECT 1 FROM read_csv_auto('${URL}', rejects_table => 'r'))`)).toMatch(/^sets read_csv_auto\(rejects_table\)/);
    expect(await refusal(`SELECT * FROM '${URL}' a JOIN read_csv('${URL}', rejects_scan = 's') b ON true`)).toMatch(/^sets read_csv\(rejects_scan\)/);
  });

  it('keeps every other option, in every syntax (filename shows staged paths the stream layer maps back)', async () => {
    const sql = await render(`SELECT * FROM read_csv('${URL}', header = true, filename := 'source', ignore_errors => true, delim = ';', types = {'a': 'BIGINT'})`);
    expect(sql).toBe(`SELECT * FROM read_csv('./${URL}', ("header" = CAST('t' AS BOOLEAN)), filename := 'source', ignore_errors := CAST('t' AS BOOLEAN), (delim = ';'), ("types" = main.struct_pack(a := 'BIGINT')))`);
  });

  it('requires the file as the first, unnamed argument', async () => {
    expect(await refusal(`SELECT * FROM read_csv(header = true, '${URL}')`)).toMatch(/must give read_csv\(\) \(at line 1, column 15\) an s3:\/\/ URL or a list of them, written out as text, as its first argument|syntax error/);
    expect(await refusal(`SELECT * FROM read_csv(x := '${URL}')`)).toContain('must give read_csv() (at line 1, column 15) an s3:// URL');
    expect(await refusal(`SELECT * FROM read_csv('${URL}' || '')`)).toContain('must give read_csv()');
  });
});

describe('the local side: catalog tables, table functions and settings', () => {
  it.each([
    ['SELECT * FROM pg_settings', 'reads table "pg_settings" (at line 1, column 15), which is neither an s3:// URL nor a name defined by WITH in scope there'],
    ['SELECT * FROM pg_catalog.pg_settings', 'reads table "pg_catalog.pg_settings" (at line 1, column 15)'],
    ['SELECT * FROM "PG_SETTINGS"', 'reads table "PG_SETTINGS"'],
    ['SELECT * FROM duckdb_databases', 'reads table "duckdb_databases"'],
    ['SELECT * FROM information_schema.tables', 'reads table "information_schema.tables"'],
    ['SELECT * FROM sqlite_master', 'reads table "sqlite_master"'],
    ['SELECT * FROM memory.main.t', 'reads table "memory.main.t"'],
    ['TABLE pg_settings', 'reads table "pg_settings"'],
    ["SELECT * FROM 'x.csv?y'", 'reads table "x.csv?y"'],
    ["SELECT * FROM 'data'", 'reads table "data"'],
    ["SELECT * FROM '/etc/passwd'", 'reads "/etc/passwd" (at line 1, column 15), a local path'],
    ["SELECT * FROM '../x.csv'", 'reads "../x.csv" (at line 1, column 15), a local path'],
    ["SELECT * FROM 'http://example.com/x.csv'", 'reads "http://example.com/x.csv" (at line 1, column 15), which is not an s3:// URL'],
    [`SELECT * FROM main."${URL}"`, `reads table "main.${URL}"`],
    [`SELECT *, (SELECT setting FROM pg_settings LIMIT 1) AS s FROM '${URL}'`, 'reads table "pg_settings" (at line 1, column 32)'],
    [`SELECT * FROM '${URL}' WHERE a IN (SELECT name FROM duckdb_settings)`, 'reads table "duckdb_settings"'],
    [`SELECT * FROM '${URL}', LATERAL (SELECT * FROM pg_settings) s`, 'reads table "pg_settings"'],
    [`SELECT * FROM read_csv('${URL}', names = (SELECT list(name) FROM pg_settings))`, 'reads table "pg_settings"'],
    [`SELECT list_transform([1], x -> (SELECT count(*) FROM duckdb_databases)) FROM '${URL}'`, 'reads table "duckdb_databases"'],
    ["SELECT * FROM read_csv('x.csv?y')", "reads 'x.csv?y' with read_csv() (at line 1, column 15): local paths and other schemes are not allowed"],
    ["SELECT * FROM read_parquet(['s3://bucket/a.parquet', '/etc/x.parquet'])", "reads '/etc/x.parquet' with read_parquet()"],
    ['SELECT * FROM pragma_database_list()', 'uses table function pragma_database_list() (at line 1, column 15), which is not allowed'],
    ['SELECT * FROM duckdb_settings()', 'uses table function duckdb_settings()'],
    ["SELECT * FROM glob('*')", 'uses table function glob()'],
    ["SELECT * FROM query('SELECT 1')", 'uses table function query()'],
    ["SELECT * FROM query_table('t')", 'uses table function query_table()'],
    ["SELECT * FROM read_text('s3://bucket/x')", 'uses table function read_text()'],
    ["SELECT * FROM read_blob('s3://bucket/x')", 'uses table function read_blob()'],
    ["SELECT * FROM sniff_csv('s3://bucket/x.csv')", 'uses table function sniff_csv()'],
    ["SELECT * FROM read_json_objects('s3://bucket/x.json')", 'uses table function read_json_objects()'],
    ["SELECT * FROM json_execute_serialized_sql('{}')", 'uses table function json_execute_serialized_sql()'],
    ['SELECT * FROM duckdb_functions()', 'uses table function duckdb_functions()'],
    ['DESCRIBE SELECT 1', 'uses DESCRIBE, which is not allowed'],
    ['SUMMARIZE SELECT 1', 'uses SUMMARIZE, which is not allowed'],
    ['SHOW TABLES', 'uses SHOW, which is not allowed'],
    [`SELECT current_setting('allowed_directories') FROM '${URL}'`, 'uses function current_setting() (at line 1, column 8), which is not allowed'],
    [`SELECT pg_catalog.current_setting('temp_directory') FROM '${URL}'`, 'uses function current_setting()'],
    [`SELECT getvariable('x') FROM '${URL}'`, 'uses function getvariable()'],
    [`SELECT write_log('x') FROM '${URL}'`, 'uses function write_log()'],
    [`SELECT current_query() FROM '${URL}'`, 'uses function current_query()'],
    [`SELECT list_transform(['a'], x -> CURRENT_SETTING(x)) FROM '${URL}'`, 'uses function current_setting() (at line 1, column 35)'],
    [`SELECT $1 FROM '${URL}'`, 'has a prepared-statement parameter'],
  ])('%j', async (sql, expected) => {
    expect(await refusal(sql)).toContain(expected);
  });
});

describe('WITH names: in scope exactly where DuckDB binds them to the CTE', () => {
  // The same queries run in a plain DuckDB whose catalog holds a table of each name, holding
  // 'catalog': an accepted query must read only its CTEs, a refused one would have read the catalog.
  let trap: DuckDBInstance;
  let connection: DuckDBConnection;
  beforeAll(async () => {
    trap = await DuckDBInstance.create(':memory:');
    connection = await trap.connect();
    for (const name of ['a', 'b', 'r', 'x', 'pg_settings']) await connection.run(`CREATE TABLE ${name} AS SELECT 'catalog' AS v`);
  });
  afterAll(() => {
    connection.closeSync();
    trap.closeSync();
  });
  const values = async (sql: string) => (await connection.runAndReadAll(sql)).getRowObjectsJson().map((row) => String(Object.values(row)[0]));

  it.each([
    "WITH a AS (SELECT 'cte' AS v) SELECT v FROM a",
    "WITH A AS (SELECT 'cte' AS v) SELECT v FROM \"a\"",
    "WITH a AS (SELECT 'cte' AS v), b AS (SELECT v FROM a) SELECT v FROM b",
    "WITH a AS (SELECT 'cte' AS v) SELECT v FROM a UNION ALL SELECT v FROM a",
    "WITH a AS (SELECT 'cte' AS v) SELECT v FROM (SELECT v FROM (SELECT v FROM a))",
    "WITH a AS (SELECT 'cte' AS v) SELECT v FROM a WHERE v IN (SELECT v FROM a)",
    "WITH a AS (SELECT 'cte' AS v) SELECT (SELECT v FROM a) AS v",
    "WITH a AS (SELECT 'cte' AS v) SELECT v FROM (WITH b AS (SELECT v FROM a) SELECT v FROM b)",
    "WITH RECURSIVE r(v) AS (SELECT 'cte' UNION SELECT v FROM r) SELECT v FROM r",
    "WITH pg_settings AS MATERIALIZED (SELECT 'cte' AS v) SELECT v FROM pg_settings",
  ])('accepts %j, which reads only its CTEs', async (sql) => {
    await render(sql);
    expect(new Set(await values(sql))).toEqual(new Set(['cte']));
  });

  it.each([
    ["WITH pg_settings AS (SELECT * FROM pg_settings) SELECT * FROM pg_settings", 'reads table "pg_settings" (at line 1, column 36)'],
    ["WITH RECURSIVE pg_settings AS (SELECT v FROM pg_settings) SELECT * FROM pg_settings", 'reads table "pg_settings" (at line 1, column 46)'],
    ["WITH RECURSIVE r(v) AS (SELECT v FROM r UNION SELECT v FROM r) SELECT v FROM r", 'reads table "r" (at line 1, column 39)'],
    ['WITH a AS (SELECT v FROM b), b AS (SELECT 1 AS v) SELECT v FROM a', 'reads table "b" (at line 1, column 26)'],
    ["SELECT * FROM (WITH a AS (SELECT 'cte' AS v) SELECT v FROM a), a", 'reads table "a" (at line 1, column 64)'],
    ["SELECT (WITH a AS (SELECT 'cte' AS v) SELECT v FROM a) AS v FROM a", 'reads table "a" (at line 1, column 66)'],
    ["WITH x AS (SELECT 'cte' AS v) SELECT v FROM (WITH x AS (SELECT v FROM x) SELECT v FROM x)", 'reads table "x" (at line 1, column 71)'],
    ["WITH a AS (SELECT 'cte' AS v) SELECT v FROM main.a", 'reads table "main.a"'],
  ])('refuses %j', async (sql, expected) => {
    expect(await refusal(sql)).toContain(expected);
  });

  it('shows where DuckDB binds the refused ones: the catalog', async () => {
    expect(await values('WITH pg_settings AS (SELECT * FROM pg_settings) SELECT * FROM pg_settings')).toEqual(['catalog']);
    expect(await values("WITH RECURSIVE r(v) AS (SELECT v FROM r UNION SELECT 'cte') SELECT v FROM r")).toContain('catalog');
  });

  it('refuses a WITH name that could pass for a staged path', async () => {
    expect(await refusal(`WITH "./${URL}" AS (SELECT 1) SELECT * FROM '${URL}'`)).toContain(`defines a WITH name "./${URL}" holding "/"`);
  });
});

describe('replacing references with staged files', () => {
  let files: string;
  beforeAll(async () => {
    files = join(sandbox.dir, 'replace');
    mkdirSync(files, { recursive: true });
    await sandbox.engine.run(`COPY (SELECT 1 AS id, 'one' AS name) TO ${sqlString(join(files, 'a.parquet'))} (FORMAT parquet)`);
    await sandbox.engine.run(`COPY (SELECT 2 AS id, 'two' AS name) TO ${sqlString(join(files, 'b.parquet'))} (FORMAT parquet)`);
    writeFileSync(join(files, 'a.csv'), 'id,name\n1,one\n');
    writeFileSync(join(files, 'b.csv'), 'id,name\n2,two\n');
    writeFileSync(join(files, 'a.jsonl'), '{"id":1,"name":"one"}\n');
    writeFileSync(join(files, 'b.jsonl'), '{"id":2,"name":"two"}\n');
  });

  async function run(sql: string, paths: (extension: string) => string[]): Promise<{ sql: string; rows: unknown[] }> {
    const parsed = await parseModelQuery(sandbox.engine, sql);
    for (const reference of parsed.references) reference.replace(paths(/\.(\w+)$/.exec(reference.url)![1]!));
    const text = await renderCheckedQuery(sandbox.engine, parsed);
    return { sql: text, rows: await sandbox.engine.all(text) };
  }
  const both = (extension: string) => [join(sandbox.dir, 'replace', `a.${extension}`), join(sandbox.dir, 'replace', `b.${extension}`)];

  it.each([
    ['parquet', 'read_parquet'],
    ['csv', 'read_csv_auto'],
    ['jsonl', 'read_json_auto'],
  ])('a FROM glob of .%s files becomes %s over the list, keeping alias, column aliases and sample', async (extension, reader) => {
    const { sql, rows } = await run(`SELECT t.k, t.label FROM 's3://bucket/p/*.${extension}' AS t(k, label) TABLESAMPLE 100% ORDER BY 1`, both);
    expect(sql).toContain(`${reader}(main.list_value(`);
    expect(sql).toContain('AS t(k, "label") TABLESAMPLE');
    expect(rows).toEqual([
      { k: extension === 'csv' || extension === 'jsonl' ? '1' : 1, label: 'one' },
      { k: extension === 'csv' || extension === 'jsonl' ? '2' : 2, label: 'two' },
    ]);
  });

  it('a FROM glob matching one file stays a table name; a compressed glob picks its reader by the name under .gz/.zst', async () => {
    const { sql, rows } = await run("SELECT name FROM 's3://bucket/p/*.parquet'", (extension) => [join(sandbox.dir, 'replace', `a.${extension}`)]);
    expect(sql).toBe(`SELECT "name" FROM ${sqlIdentifier(join(sandbox.dir, 'replace', 'a.parquet'))}`);
    expect(rows).toEqual([{ name: 'one' }]);
    const parsed = await parseModelQuery(sandbox.engine, "SELECT * FROM 's3://bucket/p/*.csv.gz'");
    parsed.references[0]!.replace(['./x.csv.gz', './y.csv.gz']);
    expect(await renderCheckedQuery(sandbox.engine, parsed)).toBe("SELECT * FROM read_csv_auto(main.list_value('./x.csv.gz', './y.csv.gz'))");
  });

  it('a reader keeps one file as text, takes a list for several, and splices a glob inside a list in place', async () => {
    expect((await run("SELECT name FROM read_parquet('s3://bucket/p/a.parquet')", (extension) => [join(files, `a.${extension}`)])).sql).toBe(
      `SELECT "name" FROM read_parquet(${sqlString(join(files, 'a.parquet'))})`,
    );
    const { rows } = await run("SELECT name FROM read_csv('s3://bucket/p/*.csv', header = true) ORDER BY 1", both);
    expect(rows).toEqual([{ name: 'one' }, { name: 'two' }]);
    const parsed = await parseModelQuery(sandbox.engine, "SELECT * FROM read_csv(['s3://bucket/first.csv', 's3://bucket/p/*.csv', 's3://bucket/last.csv'])");
    parsed.references.forEach((reference, index) => reference.replace(index === 1 ? ['./p/a.csv', './p/b.csv'] : [`./${index}.csv`]));
    expect(await renderCheckedQuery(sandbox.engine, parsed)).toBe("SELECT * FROM read_csv(main.list_value('./0.csv', './p/a.csv', './p/b.csv', './2.csv'))");
  });

  it.each([
    ["SELECT * FROM 's3://bucket/p/**'", 'reads "s3://bucket/p/**" (at line 1, column 15) with FROM, which needs a file extension to pick a reader'],
    ["SELECT * FROM 's3://bucket/p/*.txt'", 'reads "s3://bucket/p/*.txt" (at line 1, column 15) with FROM, which needs a file extension'],
    ["SELECT * FROM 's3://bucket/p/*.csv' AT (VERSION => 1)", 'with an AT clause'],
  ])('refuses %j before anything is staged', async (sql, expected) => {
    expect(await refusal(sql)).toContain(expected);
  });
});

describe('what DuckDB writes back is what was written', () => {
  it('keeps a double literal a DOUBLE, exactly, and big integers exact', async () => {
    const sql = await render('SELECT 1e3 AS d, typeof(1e3) AS t, 0.1e0 = 0.1::DOUBLE AS exact, 9007199254740993 AS big, -1.7976931348623157e308 AS low');
    expect(sql).toContain("CAST('1000.0' AS DOUBLE) AS d");
    expect(await sandbox.engine.all(`SELECT t, exact, big::VARCHAR AS big FROM (${sql})`)).toEqual([{ t: 'DOUBLE', exact: true, big: '9007199254740993' }]);
  });

  it('round-trips VALUES lists, which DuckDB writes back wrapped', async () => {
    const sql = await render("SELECT * FROM (VALUES (1, 'a'), (2, 'b')) v(id, name) ORDER BY id");
    expect(await sandbox.engine.all(sql)).toEqual([
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
    ]);
    expect(await sandbox.engine.all(await render('VALUES (1), (2)'))).toEqual([{ col0: 1 }, { col0: 2 }]);
  });

  // Queries people write, over s3 references: every one renders, re-parses as the same tree, and is one statement.
  const corpus = [
    "SELECT id, upper(name) AS name FROM 's3://b/p/*.parquet' WHERE id > 10",
    "SELECT c.id, c.name, sum(o.amount) AS revenue FROM read_csv('s3://b/crm/customers.csv', header = true) AS c JOIN 's3://b/orders/*.parquet' AS o ON o.customer_id = c.id GROUP BY ALL",
    `WITH priced AS (SELECT "Order ID" AS "order id", "Unit Price" AS "unit price" FROM 's3://b/q.csv') SELECT "order id" * "unit price" AS total FROM priced WHERE "order id" IN (SELECT "Order ID" FROM 's3://b/q.csv') ORDER BY 1`,
    "SELECT id, row_number() OVER (PARTITION BY cat ORDER BY ts DESC) AS rn, lag(v, 1, 0) OVER w FROM 's3://b/e.parquet' WINDOW w AS (ORDER BY ts) QUALIFY rn = 1",
    "SELECT * FROM 's3://b/a.csv' UNION ALL SELECT * FROM 's3://b/b.csv' EXCEPT SELECT * FROM 's3://b/c.csv'",
    "SELECT * FROM 's3://b/a.csv.gz' UNION BY NAME SELECT * FROM 's3://b/*.csv.zst'",
    "SELECT list_transform(tags, y -> y || '!') AS t, list_filter([1, 2, 3], x -> x > 1) AS f FROM 's3://b/t.json'",
    "SELECT {'a': 1, 'b': [1, 2]} AS s, [1, 2, 3][2] AS e, MAP {'k': 'v'} AS m FROM 's3://b/t.json'",
    `SELECT "weird ""col"" name", "ünïcödé", "has space", "select" FROM 's3://b/w.csv'`,
    "SELECT E'a\\nb' AS e, 'it''s' AS q, $$dollar 'quoted'$$ AS d, '🦆' AS duck FROM 's3://b/w.csv'",
    "SELECT COLUMNS('^a'), COLUMNS(c -> c LIKE 'b%') FROM 's3://b/w.csv'",
    "SELECT * EXCLUDE (secret) REPLACE (upper(name) AS name) FROM 's3://b/w.csv'",
    "SELECT cat, count(*) FROM 's3://b/w.csv' GROUP BY ALL ORDER BY ALL LIMIT 10 OFFSET 5",
    "SELECT * FROM 's3://b/w.csv' USING SAMPLE 10 ROWS",
    "SELECT * FROM 's3://b/t.parquet' t ASOF JOIN 's3://b/q.parquet' q ON t.sym = q.sym AND t.ts >= q.ts",
    "SELECT * FROM 's3://b/a.csv' POSITIONAL JOIN 's3://b/b.csv'",
    "SELECT * FROM 's3://b/a.parquet' a, LATERAL (SELECT a.x + 1 AS y) l",
    "SELECT * FROM (VALUES (1, 'a'), (2, 'b')) v(id, name) JOIN 's3://b/a.csv' USING (id)",
    "SELECT * FROM (PIVOT 's3://b/s.parquet' ON year IN (2023, 2024) USING sum(amount) GROUP BY region)",
    "SELECT * FROM (UNPIVOT 's3://b/s.parquet' ON jan, feb INTO NAME month VALUE amount)",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT r.n, w.* FROM r, 's3://b/w.csv' w",
    "SELECT CASE WHEN x > 1 THEN 'a' WHEN x IS NULL THEN NULL ELSE 'b' END, CAST(x AS DECIMAL(18, 3)), x::BIGINT, TRY_CAST(y AS DATE) FROM 's3://b/w.csv'",
    "SELECT 9007199254740993 AS big, 1e3 AS thousand, 0.1 + 0.2 AS f, -12345678901234567890123 AS huge FROM 's3://b/w.csv'",
    "SELECT date_trunc('month', ts) AS m, strftime(ts, '%Y-%m') AS s, ts AT TIME ZONE 'UTC', INTERVAL 1 DAY + DATE '2024-01-01' FROM 's3://b/w.csv'",
    "SELECT string_agg(name, ',' ORDER BY name) FILTER (WHERE name IS NOT NULL), count(DISTINCT id), arg_max(a, b) FROM 's3://b/w.csv'",
    "SELECT * FROM read_parquet('s3://b/y=*/m=*/*.parquet', hive_partitioning = true, union_by_name = true, filename = true)",
    "SELECT * FROM read_json('s3://b/x.jsonl', format = 'newline_delimited', columns = {'a': 'INTEGER', 'b': 'VARCHAR'})",
    "SELECT * FROM read_csv('s3://b/x.csv', delim = ';', quote = '\"', escape = '\\', types = {'id': 'BIGINT'}, nullstr = ['NA', ''], ignore_errors = true)",
    "SELECT x FROM 's3://b/a.csv' WHERE x LIKE 'a%' ESCAPE '\\' AND y SIMILAR TO 'b.*' AND z BETWEEN 1 AND 3 AND NOT EXISTS (SELECT 1 FROM 's3://b/b.csv' b WHERE b.x = x)",
    "SELECT DISTINCT ON (id) id, v FROM 's3://b/a.csv' ORDER BY id, v DESC NULLS LAST",
    "FROM 's3://b/a.csv' SELECT id WHERE id > 1",
    "FROM 's3://b/a.csv'",
    `SELECT * FROM 's3://b/a.csv' AS "my table" WHERE "my table".id = 1`,
    "SELECT t.* FROM 's3://b/a.csv' AS t",
    "SELECT unnest([1, 2, 3]) AS u, r.range FROM range(3) r, 's3://b/a.csv'",
    "SELECT * FROM generate_series(1, 3) g, unnest([1, 2]) u, 's3://b/a.csv'",
    "SELECT struct_pack(a := 1, b := 'x') AS s FROM 's3://b/a.csv'",
    "SELECT id FROM 's3://b/a.csv' GROUP BY GROUPING SETS ((id), ()) HAVING count(*) > 1",
    "SELECT a.* EXCLUDE (id), b.* FROM 's3://b/a.csv' a NATURAL JOIN 's3://b/b.csv' b",
    "SELECT * FROM 's3://b/a.csv' a ANTI JOIN 's3://b/b.csv' b ON a.id = b.id",
    "SELECT x -> 'a' AS j, x ->> '$.b' AS k FROM 's3://b/a.json'",
    "SELECT regexp_extract(s, '(\\d+);--', 1) FROM 's3://b/a.csv'",
    "WITH a AS (SELECT * FROM 's3://b/a.csv'), b AS MATERIALIZED (SELECT * FROM a) SELECT * FROM b",
    "SELECT * FROM 's3://b/a.csv' WHERE ts >= '2024-01-01'::TIMESTAMP - INTERVAL '7 days' ORDER BY ts LIMIT 100",
  ];
  it(`renders and verifies all ${corpus.length} queries of a realistic corpus`, async () => {
    const failures: string[] = [];
    for (const sql of corpus) {
      try {
        const text = await render(sql);
        if ((await sandbox.engine.statementCount(text)) !== 1) failures.push(`${sql}: not one statement`);
      } catch (error) {
        failures.push(`${sql}: ${String(error)}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
