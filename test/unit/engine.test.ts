import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useSandboxedEngine } from '../support/sandboxed-engine.js';
import { Engine } from '../../src/engine/engine.js';
import { readerSql } from '../../src/engine/readers.js';
import { sqlString } from '../../src/engine/sql.js';

const sandbox = useSandboxedEngine('source-s3-engine-');

describe('the sandboxed engine', () => {
  it('reads files inside the staging directory', async () => {
    writeFileSync(join(sandbox.dir, 'ok.csv'), 'a,b\n1,x\n');
    expect(await sandbox.engine.all(`SELECT * FROM ${readerSql(join(sandbox.dir, 'ok.csv'), { filetype: 'csv', encoding: 'utf-8', header: true, skipRows: 0 })}`)).toEqual([
      { a: '1', b: 'x' },
    ]);
  });

  it.each([
    ["SELECT * FROM read_csv('/etc/passwd')"],
    ["SELECT * FROM read_text('/etc/hostname')"],
    ["SELECT * FROM glob('/tmp/*')"],
    [`SELECT * FROM read_csv('${sandbox.dir}/../../etc/passwd')`],
    ["ATTACH '/tmp/source-s3-attack.db'"],
    ['INSTALL httpfs'],
    ['LOAD httpfs'],
    ['SET enable_external_access = true'],
    ["SET allowed_directories = ['/']"],
    ["COPY (SELECT 1) TO '/tmp/source-s3-escape.csv'"],
  ])('refuses %s', async (sql) => {
    await expect(sandbox.engine.all(sql)).rejects.toThrow(/Permission Error|locked|disabled|not allowed|Catalog Error|IO Error/);
  });

  it('runs with the configured limits and a locked configuration', async () => {
    expect(await sandbox.engine.setting('enable_external_access')).toBe(false);
    expect(await sandbox.engine.setting('lock_configuration')).toBe(true);
    expect(await sandbox.engine.setting('autoinstall_known_extensions')).toBe(false);
    // File streams read with one thread (flat memory); model queries get two (see settings.ts).
    expect(await sandbox.engine.setting('threads')).toBe('1');
    expect(String(await sandbox.engine.setting('max_temp_directory_size'))).toMatch(/^(10\.0 GB|9\.3 GiB)$/);
  });

  it("gives a model query's engine SOURCE_S3_DUCKDB_THREADS (2), sandboxed the same", async () => {
    const query = await Engine.create(sandbox.dir, 'query');
    try {
      expect(await query.setting('threads')).toBe('2');
      expect(await query.setting('enable_external_access')).toBe(false);
      expect(await query.setting('lock_configuration')).toBe(true);
    } finally {
      await query.close();
    }
  });

  it('reads a file whose name holds quotes, through quoted SQL', async () => {
    const path = join(sandbox.dir, `it's "odd"'); DROP TABLE x; --.csv`);
    writeFileSync(path, 'v\n42\n');
    expect(await sandbox.engine.all(`SELECT * FROM ${readerSql(path, { filetype: 'csv', encoding: 'utf-8', header: true, skipRows: 0 })}`)).toEqual([{ v: '42' }]);
  });

  it('closes only after the query in flight ends, and refuses queries after that', async () => {
    const other = await Engine.create(sandbox.dir);
    const running = other.all('SELECT count(*) AS n FROM range(300000000)');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closing = other.close();
    expect(await running).toEqual([{ n: '300000000' }]);
    await closing;
    await expect(other.all('SELECT 1')).rejects.toThrow('the engine is closed');
  });

  it('quotes CSV options safely', () => {
    const sql = readerSql('/x.csv', { filetype: 'csv', encoding: 'latin-1', header: false, skipRows: 1, quoteChar: "'", nullValues: ["N'A"], columnNames: ['a"b'] });
    expect(sql).toBe(`read_csv('/x.csv', header = false, quote = '''', encoding = 'latin-1', skip = 1, nullstr = ['N''A'], names = ['a"b'])`);
    expect(() => sqlString('a\u0000b')).toThrow();
  });
});
