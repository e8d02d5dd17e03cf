import { DuckDBInstance } from '@duckdb/node-api';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check, cleanEnv, CLI, runCli, writeTempFile } from '../support/cli.js';
import { BUCKET } from '../support/constants.js';
import { configuredCatalog, configWith, discoverStreams, read, rememberedKeys, type ReadResult, type Schema } from '../support/read.js';
import { deleteObject, putObject, testClient } from '../support/s3-client.js';

// Files as uploads and tools leave them: cut off, corrupt, concatenated, empty.
const PREFIX = 'damaged/';
const client = testClient();
const work = mkdtempSync(join(tmpdir(), 'source-s3-damaged-'));

/** id,v with v = id²: a wrong or cut last value shows. */
const squares = (from: number, to: number, header = true) =>
  (header ? 'id,v\n' : '') + Array.from({ length: to - from }, (_, index) => `${from + index},${(from + index) ** 2}\n`).join('');
const BIG_ROWS = 200_000;
const bigGzip = gzipSync(squares(0, BIG_ROWS));
const smallGzip = gzipSync(squares(0, 2_000));
const cut = (bytes: Buffer, fraction: number) => bytes.subarray(0, Math.floor(bytes.length * fraction));
const corrupt = (bytes: Buffer) => {
  const copy = Buffer.from(bytes);
  copy[copy.length >> 1] ^= 0xff;
  return copy;
};

/** zstd as DuckDB writes it (Node 20 has no zstd compressor). */
async function zstdCsv(from: number, to: number, header = true): Promise<Buffer> {
  const connection = await (await DuckDBInstance.create(':memory:')).connect();
  const path = join(work, `squares-${from}-${to}.csv.zst`);
  await connection.run(`COPY (SELECT i AS id, i * i AS v FROM range(${from}, ${to}) t(i)) TO '${path}' (FORMAT csv, HEADER ${header}, COMPRESSION zstd)`);
  connection.closeSync();
  return readFileSync(path);
}

const FILES: Record<string, Buffer | string> = {};
/** Uploaded in order, so last-modified follows it (newest last); a pause makes the second tick. */
const ORDERED: [string, Buffer | string][] = [];

beforeAll(async () => {
  const bigZstd = await zstdCsv(0, BIG_ROWS);
  const smallZstd = await zstdCsv(0, 2_000);
  Object.assign(FILES, {
    // An intact older file, then an upload cut off: read emits the first and fails on the second.
    'cut-gz/1-good.csv': squares(0, 10),
    'cut-gz/2-cut.csv.gz': cut(bigGzip, 0.3),
    'cut-zst/1-good.csv': squares(0, 10),
    'cut-zst/2-cut.csv.zst': cut(bigZstd, 0.5),
    // Cut files smaller than the sample: check reads them whole and must see the cut.
    'cut-small-gz/data.csv.gz': cut(smallGzip, 0.6),
    'cut-small-zst/data.csv.zst': cut(smallZstd, 0.6),
    'cut-jsonl/data.jsonl.gz': cut(gzipSync(Array.from({ length: 50_000 }, (_, i) => `{"id": ${i}, "v": ${i * i}}\n`).join('')), 0.5),
    'corrupt-gz/data.csv.gz': corrupt(bigGzip),
    // `cat a.csv.gz b.csv.gz > both.csv.gz`: every member is read.
    'members/both.csv.gz': Buffer.concat([gzipSync(squares(0, 1_000)), gzipSync(squares(1_000, 3_000, false))]),
    // Enough record lines to fill a pipe many times over.
    'pipe/data.csv': squares(0, 100_000),
    'members-zst/both.csv.zst': Buffer.concat([smallZstd, await zstdCsv(2_000, 2_005, false)]),
  });
  for (const [key, body] of Object.entries(FILES)) await putObject(client, PREFIX + key, body);
}, 120_000);

afterAll(async () => {
  for (const key of Object.keys(FILES)) await deleteObject(client, PREFIX + key);
  for (const [key] of ORDERED) await deleteObject(client, PREFIX + key);
  rmSync(work, { recursive: true, force: true });
});

const csvStream = (name: string, folder: string, filetype = 'csv') => ({ name, globs: [`${PREFIX}${folder}/*`], format: { filetype } });
const errorOf = (result: ReadResult) => result.messages.find((message) => message.type === 'TRACE' && message.trace.type === 'ERROR')?.trace.error;
const lastState = (result: ReadResult) => result.states.at(-1);

async function fullRead(streams: unknown[]): Promise<ReadResult> {
  const config = configWith(streams);
  const schemas = await discoverStreams(config);
  return read(config, configuredCatalog(schemas, { sync_mode: 'incremental', cursor_field: ['_ab_source_file_last_modified'] }));
}

/** A read of a stream whose discover is expected to work from an intact file: catalog from that file. */
async function readWithCatalogOf(stream: ReturnType<typeof csvStream>, catalogGlob: string): Promise<ReadResult> {
  const schemas = await discoverStreams(configWith([{ ...stream, globs: [PREFIX + catalogGlob] }]));
  return read(configWith([stream]), configuredCatalog(schemas, { sync_mode: 'incremental', cursor_field: ['_ab_source_file_last_modified'] }));
}

describe('a compressed file cut off mid-upload', () => {
  it.each([
    ['gzip', 'cut-gz', '2-cut.csv.gz'],
    ['zstd', 'cut-zst', '2-cut.csv.zst'],
  ])('%s: read emits the intact file, then fails the stream naming the cut one, which is not recorded as synced', async (compression, folder, cutName) => {
    const result = await readWithCatalogOf(csvStream('cut', folder), `${folder}/1-good.csv`);
    expect(result.code, result.stderr).toBe(1);
    const error = errorOf(result);
    expect(error.failure_type).toBe('config_error');
    expect(error.message).toContain(`s3://${BUCKET}/${PREFIX}${folder}/${cutName} is cut off: its ${compression} data ends early`);
    expect(error.message).toContain('the upload may be incomplete');
    // Only the intact file's ten rows: none of the cut file's, not even its whole first rows.
    expect(result.records.map((record) => record.data.id)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(rememberedKeys(lastState(result)!.stream.stream_state)).toEqual([`${PREFIX}${folder}/1-good.csv`]);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('JSON Lines .gz: read fails naming the file', async () => {
    const config = configWith([csvStream('cutjson', 'cut-jsonl', 'jsonl')]);
    const catalog = configuredCatalog(
      [{ name: 'cutjson', json_schema: { type: 'object', properties: { id: { type: ['null', 'integer'] }, v: { type: ['null', 'integer'] } } }, supported_sync_modes: ['full_refresh'] }],
      { sync_mode: 'full_refresh' },
    );
    const result = await read(config, catalog);
    expect(result.code).toBe(1);
    expect(errorOf(result).message).toContain(`s3://${BUCKET}/${PREFIX}cut-jsonl/data.jsonl.gz is cut off: its gzip data ends early`);
    expect(result.records).toHaveLength(0);
  });

  it.each([
    ['gzip', 'cut-small-gz', 'data.csv.gz'],
    ['zstd', 'cut-small-zst', 'data.csv.zst'],
  ])('%s smaller than the sample: check and discover read it whole and fail on the cut', async (compression, folder, name) => {
    const config = configWith([csvStream('small', folder)]);
    const { status, message } = await check(config);
    expect(status).toBe('FAILED');
    expect(message).toContain(`s3://${BUCKET}/${PREFIX}${folder}/${name} is cut off: its ${compression} data ends early`);
    const discovered = await runCli(['discover', '--config', writeTempFile('config.json', config)]);
    expect(discovered.code).toBe(1);
    expect(discovered.messages.find((m) => m.type === 'TRACE')!.trace.error.message).toContain(`${name} is cut off`);
  });

  it('a corrupt gzip (one byte flipped) fails read as not valid gzip data, with no row of it emitted', async () => {
    const result = await readWithCatalogOf(csvStream('corrupt', 'corrupt-gz'), 'members/*');
    expect(result.code).toBe(1);
    expect(errorOf(result).message).toMatch(new RegExp(`s3://${BUCKET}/${PREFIX}corrupt-gz/data\\.csv\\.gz is not valid gzip data \\(.+\\): the file is corrupt`));
    expect(result.records).toHaveLength(0);
  });

  it('a model query over a cut file fails naming it', async () => {
    const config = configWith([{ name: 'q', query: `SELECT count(*) AS n FROM 's3://${BUCKET}/${PREFIX}cut-gz/2-cut.csv.gz'` }]);
    const catalog = configuredCatalog([{ name: 'q', json_schema: { type: 'object', properties: { n: { type: ['null', 'integer'] } } }, supported_sync_modes: ['full_refresh'] }], {
      sync_mode: 'full_refresh',
    });
    const result = await read(config, catalog);
    expect(result.code).toBe(1);
    expect(errorOf(result).message).toContain(`${PREFIX}cut-gz/2-cut.csv.gz is cut off`);
    expect(result.records).toHaveLength(0);
  });
});

describe('concatenated compressed files', () => {
  it('gzip members (cat a.gz b.gz) are all read', async () => {
    const result = await fullRead([csvStream('members', 'members')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.records).toHaveLength(3_000);
    expect(result.records.at(-1)!.data).toMatchObject({ id: 2_999, v: 2_999 ** 2 });
  });

  it('zstd frames are all read', async () => {
    const result = await fullRead([csvStream('frames', 'members-zst')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.records).toHaveLength(2_005);
    expect(result.records.at(-1)!.data).toMatchObject({ id: 2_004, v: 2_004 ** 2 });
  });
});


describe('empty files among files with rows', () => {
  const utf16 = (text: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
  beforeAll(async () => {
    // Files with rows first, then the empty ones (newer, and first among equal times by key): they are what discover, check and read meet first.
    ORDERED.push(
      ['empty-mixed/9-data.csv', 'id,name\n1,a\n2,b\n3,c\n'],
      ['empty-jsonl/9-data.jsonl', '{"id": 1, "v": 1}\n{"id": 2, "v": 4}\n'],
      ['header-only/9-data.csv', 'id,name\n1,a\n'],
      ['empty-mixed/0-empty.csv', ''],
      ['empty-mixed/1-empty.csv.gz', gzipSync('')],
      ['empty-mixed/2-blank.csv', '\uFEFF\r\n\r\n  \n'],
      ['empty-mixed/3-blank.csv.zst', await zstdCsv(0, 0, false)],
      ['empty-jsonl/0-empty.jsonl', ''],
      ['empty-jsonl/1-blank.jsonl', '\n\n'],
      ['all-empty/0-empty.csv', ''],
      ['all-empty/1-empty.csv.gz', gzipSync('')],
      ['header-only/0-header.csv', 'id,name\n'],
      ['utf16/data.csv', utf16('id,name\r\n1,Zürich\r\n2,São Paulo\r\n')],
      ['utf16-blank/9-data.csv', utf16('id,name\r\n1,a\r\n')],
      ['utf16-blank/0-blank.csv', utf16('\r\n')],
    );
    for (const [key, body] of ORDERED) await putObject(client, PREFIX + key, body);
  }, 60_000);

  it('check, discover and read look past them: the columns come from the file with rows, and every file is synced', async () => {
    const config = configWith([csvStream('mixed', 'empty-mixed')]);
    const { status, message } = await check(config);
    expect(status, message).toBe('SUCCEEDED');
    expect(message).toContain(`${PREFIX}empty-mixed/9-data.csv`);
    const schemas = await discoverStreams(config);
    expect(Object.keys(schemas[0]!.json_schema.properties)).toEqual(['id', 'name', '_ab_source_file_url', '_ab_source_file_last_modified']);
    const result = await read(config, configuredCatalog(schemas, { sync_mode: 'incremental', cursor_field: ['_ab_source_file_last_modified'] }));
    expect(result.code, result.stderr).toBe(0);
    expect(result.records.map((record) => [record.data.id, record.data.name])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ]);
    expect(rememberedKeys(lastState(result)!.stream.stream_state).sort()).toEqual(['0-empty.csv', '1-empty.csv.gz', '2-blank.csv', '3-blank.csv.zst', '9-data.csv'].map((name) => `${PREFIX}empty-mixed/${name}`));
  });

  it('JSON Lines: an empty file adds no column (no stray "json") to the schema or the records', async () => {
    const config = configWith([csvStream('lines', 'empty-jsonl', 'jsonl')]);
    const schemas = await discoverStreams(config);
    expect(Object.keys(schemas[0]!.json_schema.properties).sort()).toEqual(['_ab_source_file_last_modified', '_ab_source_file_url', 'id', 'v']);
    const result = await read(config, configuredCatalog(schemas, { sync_mode: 'full_refresh' }));
    expect(result.code, result.stderr).toBe(0);
    expect(result.records.map((record) => Object.keys(record.data).filter((key) => !key.startsWith('_ab_')))).toEqual([
      ['id', 'v'],
      ['id', 'v'],
    ]);
  });

  it('JSON Lines with lines that are not objects: check, discover and read fail naming the file, never one "json" column', async () => {
    const key = `${PREFIX}non-objects/mixed.jsonl`;
    await putObject(client, key, '{"id":1,"v":"a"}\n42\n{"id":2,"v":"b"}\n"str"\nnull\n[1,2]\n');
    try {
      const config = configWith([csvStream('lines', 'non-objects', 'jsonl')]);
      const checked = await check(config);
      expect(checked.status).toBe('FAILED');
      expect(checked.message).toContain(`s3://${BUCKET}/${key}`);
      expect(checked.message).toContain('not a JSON object');
      const discovered = await runCli(['discover', '--config', writeTempFile('config.json', config)]);
      expect(discovered.code).toBe(1);
      expect(discovered.messages.some((message) => message.type === 'CATALOG')).toBe(false);
      const error = discovered.messages.find((message) => message.type === 'TRACE' && message.trace.type === 'ERROR')?.trace.error;
      expect(error).toMatchObject({ failure_type: 'config_error' });
      expect(error.message).toContain('not a JSON object');
      // Read with a catalog from a file of objects only: the line is named.
      const catalog = configuredCatalog(
        [{ name: 'lines', json_schema: { type: 'object', properties: { id: { type: ['null', 'integer'] }, v: { type: ['null', 'string'] } } }, supported_sync_modes: ['full_refresh'] }],
        { sync_mode: 'full_refresh' },
      );
      const result = await read(config, catalog);
      expect(result.code).toBe(1);
      const readError = result.messages.find((message) => message.type === 'TRACE' && message.trace.type === 'ERROR')?.trace.error;
      expect(readError.message).toContain(`s3://${BUCKET}/${key}`);
      expect(readError.message).toMatch(/line 2/);
    } finally {
      await deleteObject(client, key);
    }
  });

  it('a stream of empty files only: check says so, discover warns, read emits nothing and syncs them', async () => {
    const config = configWith([csvStream('nothing', 'all-empty')]);
    const { status, message } = await check(config);
    expect(status).toBe('FAILED');
    expect(message).toContain('Stream "nothing": all 2 matching files are empty (zero bytes, or only white space)');
    const discovered = await runCli(['discover', '--config', writeTempFile('config.json', config)]);
    expect(discovered.code).toBe(0);
    const warning = discovered.messages.find((m) => m.type === 'LOG' && m.log.level === 'WARN');
    expect(warning?.log.message).toContain('Stream "nothing" matches 2 files, all empty (no rows)');
    const schemas = discovered.messages.find((m) => m.type === 'CATALOG')!.catalog.streams as Schema[];
    const result = await read(config, configuredCatalog(schemas, { sync_mode: 'incremental', cursor_field: ['_ab_source_file_last_modified'] }));
    expect(result.code, result.stderr).toBe(0);
    expect(result.records).toHaveLength(0);
    expect(rememberedKeys(lastState(result)!.stream.stream_state)).toHaveLength(2);
  });

  it('a header-only CSV has no rows but gives its columns', async () => {
    const config = configWith([csvStream('hdr', 'header-only')]);
    const { status, message } = await check(config);
    expect(status, message).toBe('SUCCEEDED');
    const schemas = await discoverStreams(config);
    expect(Object.keys(schemas[0]!.json_schema.properties)).toEqual(['id', 'name', '_ab_source_file_url', '_ab_source_file_last_modified']);
    const result = await read(config, configuredCatalog(schemas, { sync_mode: 'full_refresh' }));
    expect(result.code, result.stderr).toBe(0);
    expect(result.records.map((record) => record.data.name)).toEqual(['a']);
  });

  it('a UTF-16 file with only a BOM and a line break is empty too, when the stream says utf-16', async () => {
    const config = configWith([{ ...csvStream('u16', 'utf16-blank'), format: { filetype: 'csv', encoding: 'utf-16' } }]);
    const schemas = await discoverStreams(config);
    const result = await read(config, configuredCatalog(schemas, { sync_mode: 'full_refresh' }));
    expect(result.code, result.stderr).toBe(0);
    expect(result.records.map((record) => record.data.name)).toEqual(['a']);
  });

  it('a UTF-16 file read without format.encoding is an error naming format.encoding', async () => {
    const config = configWith([csvStream('u16', 'utf16')]);
    const { status, message } = await check(config);
    expect(status).toBe('FAILED');
    expect(message).toContain(`s3://${BUCKET}/${PREFIX}utf16/data.csv`);
    expect(message).toMatch(/UTF-16.*format\.encoding.*utf-16/);
  });
});

describe('stdout closed by its reader (read ... | head -c 200)', () => {
  it('stops with one stderr line and exit code 141, and removes its staging folder', async () => {
    const staging = mkdtempSync(join(work, 'staging-'));
    const stream = csvStream('piped', 'pipe');
    const schemas = await discoverStreams(configWith([stream]));
    const args = ['read', '--config', writeTempFile('config.json', configWith([stream])), '--catalog', writeTempFile('catalog.json', configuredCatalog(schemas, { sync_mode: 'full_refresh' }))];
    const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv({ SOURCE_S3_STAGING_DIR: staging }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = Buffer.alloc(0);
    let stderr = '';
    // Like head -c 200: take the first bytes, then close the pipe.
    child.stdout.on('data', (chunk: Buffer) => {
      stdout = Buffer.concat([stdout, chunk]);
      if (stdout.length >= 200) child.stdout.destroy();
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(stdout.length).toBeGreaterThanOrEqual(200);
    expect(code, stderr).toBe(141);
    expect(stderr).toBe('source-s3: stopped: stdout was closed before the output ended (its reader exited).\n');
    expect(readdirSync(staging).filter((name) => name.startsWith('source-s3-'))).toEqual([]);
  });
});
