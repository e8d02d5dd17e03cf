import { DuckDBInstance } from '@duckdb/node-api';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import stringWidth from 'string-width';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cleanEnv, localConfig, writeTempFile } from '../support/cli.js';
import { ALL_SECRETS } from '../support/constants.js';
import { configuredCatalog, configWith, discoverStreams, read } from '../support/read.js';
import { putObject, testClient } from '../support/s3-client.js';

const client = testClient();
const work = mkdtempSync(join(tmpdir(), 'source-s3-preview-'));
const BUCKET_URL = 's3://source-s3-test';

const ATTACK = '\u001b]0;pwned\u0007\u001b[2J';

beforeAll(async () => {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const path = join(work, 'typed.parquet');
  // Every type Parquet carries, and a row of nulls.
  await connection.run(`COPY (
    SELECT i AS id,
      9007199254740993 + i AS big,
      (1234567890123456789012345678.0123456789 + i)::DECIMAL(38,10) AS dec,
      (0.1 + i)::DOUBLE AS dbl,
      i % 2 = 0 AS flag,
      DATE '2024-02-29' + i::INTEGER AS day,
      TIME '12:34:56.789' AS clock,
      TIMESTAMP '2024-01-02 03:04:05.123456' + INTERVAL (i) HOUR AS stamp,
      TIMESTAMPTZ '2024-01-02 03:04:05+02:00' AS stamp_tz,
      '\\x00\\xFF\\x10'::BLOB AS payload,
      uuid '123e4567-e89b-12d3-a456-426614174000' AS uid,
      [i, NULL, 3] AS tags,
      {'name': 'n' || i, 'when': TIMESTAMP '2024-05-06 07:08:09'} AS info,
      MAP {'a': i, 'b': NULL} AS attrs,
      CASE WHEN i = 0 THEN 'NULL' ELSE ${sqlLiteral(ATTACK)} END AS note
    FROM range(2) t(i)
    UNION ALL
    SELECT 9, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  ) TO '${path}' (FORMAT parquet)`);
  connection.closeSync();
  instance.closeSync();
  await putObject(client, 'preview/typed.parquet', readFileSync(path));

  // As a spreadsheet exports it: a BOM, CRLF line ends, quoted cells holding newlines and tabs.
  const rows = [
    ['1', ATTACK],
    ['2', 'line one\nline two\tTabbed'],
    ['3', 'carriage\rreturn'],
    ['4', 'back\b\b\bspace'],
    ['5', '\u202eexe.txt'],
    ['6', 'NULL'],
    ['7', ''],
    ['8', '日本語のテキスト'],
    ['9', '👨‍👩‍👧 family 🇯🇵'],
    ['10', 'csi\u009b31m'],
    ['11', "'quoted'"],
  ];
  const csv = `\uFEFFid,label\r\n${rows.map(([id, label]) => `${id},${label === '' ? '' : `"${label!.replace(/"/g, '""')}"`}`).join('\r\n')}\r\n`;
  await putObject(client, 'preview/messy.csv', csv);
  await putObject(client, 'preview/wide.csv', 'name,n\n日本,1\nab,2\n👍🏽x,3\ne\u0301,4\n' + `${'漢'.repeat(30)},5\n`);
});
afterAll(() => {
  client.destroy();
  rmSync(work, { recursive: true, force: true });
});

function sqlLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

function preview(sql: string, extra: string[] = []) {
  const result = spawnSync(process.execPath, [CLI, 'query', '--config', writeTempFile('config.json', localConfig()), '--sql', sql, ...extra], { env: cleanEnv(), encoding: 'utf8' });
  for (const secret of ALL_SECRETS) expect(result.stdout + result.stderr).not.toContain(secret);
  return result;
}

/** The `data` object's exact text in a RECORD line, as the connector printed it. */
function dataText(line: string, stream: string): string {
  const prefix = `{"type":"RECORD","record":{"stream":${JSON.stringify(stream)},"data":`;
  expect(line.startsWith(prefix), line.slice(0, 200)).toBe(true);
  const end = line.lastIndexOf(',"emitted_at":');
  expect(end).toBeGreaterThan(prefix.length);
  return line.slice(prefix.length, end);
}

// Terminal controls a cell could smuggle in: C0 (newline aside), DEL, C1, bidi controls.
const CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** The table's lines: header, rule, one per row; each row split into cells at the separators. */
function tableRows(stdout: string, rowCount: number): { rule: string[]; lines: string[][] } {
  const lines = stdout.split('\n');
  const rule = lines[1]!.split('-+-');
  return { rule, lines: [lines[0]!, ...lines.slice(2, 2 + rowCount)].map((line) => line.split(' | ')) };
}

describe('query --format json', () => {
  const typedSql = `SELECT id, big, big::HUGEINT * 100000000000000000000 AS huge, dec, dbl, flag, day, clock, stamp, stamp_tz, payload, uid, tags, info, attrs,
      CASE WHEN id < 9 THEN json_object('k', id, 'exact', big, 'list', [1.5, 2]) END AS doc, note
    FROM '${BUCKET_URL}/preview/typed.parquet' ORDER BY id`;

  it('prints each row as the exact data object read emits for the same query', async () => {
    const shown = preview(typedSql, ['--format', 'json']);
    expect(shown.status, shown.stderr).toBe(0);
    const previewLines = shown.stdout.split('\n');
    expect(previewLines.pop()).toBe('');
    expect(previewLines).toHaveLength(3);
    expect(shown.stderr).toContain('3 rows; columns: id BIGINT, big BIGINT, huge HUGEINT, dec DECIMAL(38,10), dbl DOUBLE');

    const config = configWith([{ name: 'q', query: typedSql }]);
    const synced = await read(config, configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' }));
    expect(synced.code, synced.stderr).toBe(0);
    const recordLines = synced.stdout.split('\n').filter((line) => line.startsWith('{"type":"RECORD"'));
    expect(recordLines).toHaveLength(3);
    // Byte for byte: every value, its digits, escapes and key order.
    expect(previewLines).toEqual(recordLines.map((line) => dataText(line, 'q')));

    // And those values are the right ones (not equally wrong in both).
    const [first, , nulls] = previewLines as [string, string, string];
    for (const member of [
      '"big":9007199254740993,',
      '"huge":900719925474099300000000000000000000,',
      '"dec":1234567890123456789012345678.0123456789,',
      '"dbl":0.1,',
      '"flag":true,',
      '"day":"2024-02-29",',
      '"clock":"12:34:56.789",',
      '"stamp":"2024-01-02T03:04:05.123456",',
      '"stamp_tz":"2024-01-02T01:04:05.000000Z",',
      '"payload":"AP8Q",',
      '"uid":"123e4567-e89b-12d3-a456-426614174000",',
      '"tags":[0,null,3],',
      '"info":{"name":"n0","when":"2024-05-06T07:08:09.000000"},',
      '"attrs":{"a":0,"b":null},',
      '"doc":{"k":0,"exact":9007199254740993,"list":[1.5,2.0]},',
      '"note":"NULL"}',
    ]) {
      expect(first).toContain(member);
    }
    expect(nulls).toBe(
      '{"id":9,"big":null,"huge":null,"dec":null,"dbl":null,"flag":null,"day":null,"clock":null,"stamp":null,"stamp_tz":null,"payload":null,"uid":null,"tags":null,"info":null,"attrs":null,"doc":null,"note":null}',
    );
  });
});

describe('query --format json on a terminal', () => {
  it('escapes bidi and C1 controls inside strings, keeping every value', () => {
    const sql = `SELECT id, label FROM read_csv('${BUCKET_URL}/preview/messy.csv', header = true) ORDER BY id`;
    const piped = preview(sql, ['--format', 'json']);
    expect(piped.status, piped.stderr).toBe(0);
    // Piped: the bytes read would print, controls and all.
    expect(piped.stdout).toContain('\u202eexe.txt');
    // A real terminal (a pty from script(1)); stdout and stderr both arrive on it.
    const env = cleanEnv({ PREVIEW_NODE: process.execPath, PREVIEW_CLI: CLI, PREVIEW_CONFIG: writeTempFile('config.json', localConfig()), PREVIEW_SQL: sql });
    const onTerminal = spawnSync('script', ['-qec', 'exec "$PREVIEW_NODE" "$PREVIEW_CLI" query --config "$PREVIEW_CONFIG" --sql "$PREVIEW_SQL" --format json', '/dev/null'], {
      env,
      encoding: 'utf8',
    });
    expect(onTerminal.status, onTerminal.stdout).toBe(0);
    const jsonLines = onTerminal.stdout.split(/\r?\n/).filter((line) => line.startsWith('{'));
    expect(jsonLines).toHaveLength(11);
    expect(jsonLines.join('\n')).not.toMatch(CONTROLS);
    expect(jsonLines[4]).toBe('{"id":5,"label":"\\u202eexe.txt"}');
    expect(jsonLines.map((line) => JSON.parse(line))).toEqual(piped.stdout.trimEnd().split('\n').map((line) => JSON.parse(line)));
  });
});

describe('query as a table', () => {
  it('shows control characters as visible stand-ins and keeps every row on its line', () => {
    // The alias is an attacker's too: headers and the columns line are cells as well.
    const shown = preview(`SELECT id, label, label AS "x${ATTACK}y" FROM read_csv('${BUCKET_URL}/preview/messy.csv', header = true) ORDER BY id`);
    expect(shown.status, shown.stderr).toBe(0);
    expect(shown.stdout).not.toMatch(CONTROLS);
    expect(shown.stderr).not.toMatch(CONTROLS);
    const lines = shown.stdout.split('\n');
    // Header, rule, 11 rows, then the row count, the columns and what was fetched.
    expect(lines).toHaveLength(2 + 11 + 3 + 1);
    expect(lines[13]).toBe('(11 rows)');
    expect(lines[14]).toBe('columns: id BIGINT, label VARCHAR, x␛]0;pwned␇␛[2Jy VARCHAR');
    expect(lines[0]).toMatch(/^id +\| label +\| x␛\]0;pwned␇␛\[2Jy$/);
    const label = (row: number) => lines[2 + row - 1]!.split(' | ')[1]!.trimEnd();
    expect(label(1)).toBe('␛]0;pwned␇␛[2J');
    expect(label(2)).toBe('line one␊line two␉Tabbed');
    expect(label(3)).toBe('carriage␍return');
    expect(label(4)).toBe('back␈␈␈space');
    expect(label(5)).toBe('<U+202E>exe.txt');
    expect(label(10)).toBe('csi<U+009B>31m');
    // SQL NULL and the text 'NULL' never look alike; nor does text already in quotes.
    expect(label(6)).toBe("'NULL'");
    expect(label(7)).toBe('NULL');
    expect(label(11)).toBe("'''quoted'''");
  });

  it('keeps an error that quotes a cell safe for the terminal too', () => {
    const failed = preview(`SELECT CAST(label AS INTEGER) AS n FROM read_csv('${BUCKET_URL}/preview/messy.csv', header = true) WHERE id = 1`);
    expect(failed.status).toBe(1);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toContain('source-s3 query: The query failed');
    expect(failed.stderr).toContain('␛]0;pwned␇');
    expect(failed.stderr).not.toMatch(CONTROLS);
  });

  it('refuses rows too large to read into the connector for a preview, naming --limit', () => {
    // 20 rows (5 names x 4) of 4 MB: fine for the worker's DuckDB, too much to hold in the connector's own process.
    const large = preview(`SELECT name, repeat('x', 4000000) AS big FROM '${BUCKET_URL}/preview/wide.csv', range(4)`, ['--limit', '20']);
    expect(large.status).toBe(1);
    expect(large.stdout).toBe('');
    expect(large.stderr).toMatch(/^source-s3 query: The query's first 20 rows take [\d.]+ MiB as JSON, more than the 64\.0 MiB a preview shows; lower --limit or select fewer or smaller columns\.\n$/);
  });

  it('lines up columns by display width for CJK and emoji', () => {
    const shown = preview(`SELECT label, id FROM read_csv('${BUCKET_URL}/preview/messy.csv', header = true) ORDER BY id`);
    expect(shown.status, shown.stderr).toBe(0);
    const { rule, lines } = tableRows(shown.stdout, 11);
    expect(lines.map((cells) => cells.length)).toEqual(new Array(12).fill(2));
    // Measured by string-width: every cell of the first column fills exactly the rule's width.
    for (const cells of lines) expect(stringWidth(cells[0]!), cells[0]).toBe(rule[0]!.length);
    expect(lines.find((cells) => cells[0]!.startsWith('日本語'))![0]).toBe(`日本語のテキスト${' '.repeat(rule[0]!.length - 16)}`);
  });

  it('pads and truncates by known display widths', () => {
    const shown = preview(`SELECT name, n FROM '${BUCKET_URL}/preview/wide.csv' ORDER BY n`);
    expect(shown.status, shown.stderr).toBe(0);
    // Widths known by hand: 日 and 漢 take 2 columns, 👍🏽 (one emoji with its skin tone) 2, e + combining acute 1;
    // a cell is cut to 40 columns, so 19 漢 and the ellipsis.
    const long = `${'漢'.repeat(19)}…`;
    expect(shown.stdout.split('\n').slice(0, 7)).toEqual([
      `name${' '.repeat(35)} | n`,
      `${'-'.repeat(39)}-+--`,
      `日本${' '.repeat(35)} | 1`,
      `ab${' '.repeat(37)} | 2`,
      `👍🏽x${' '.repeat(36)} | 3`,
      `e\u0301${' '.repeat(38)} | 4`,
      `${long} | 5`,
    ]);
  });
});
