import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { writeTempFile, runConnectorProcess, CLI, type AirbyteMessageLike } from '../support/cli.js';
import { BUCKET } from '../support/constants.js';
import type { FaultProxy } from '../support/fault-proxy.js';
import { useFaultProxy } from '../support/proxy-hooks.js';
import { configuredCatalog, configWith, discoverStreams, lastStates, read, rememberedKeys, readUntilKilled, type ReadResult, type Schema } from '../support/read.js';
import { putObject, testClient } from '../support/s3-client.js';

/**
 * Large CSV and JSON Lines files flow S3 -> Node (decompressing) -> FIFO ->
 * DuckDB, never staged whole. Here "large" is anything from 16 KiB
 * (SOURCE_S3_STREAM_MIN_BYTES), so files of a few MB take that path. The real
 * CLI reads them from s3rver, behind the fault proxy where S3 misbehaves: a
 * failed or short body must fail the read (transient_error naming the object),
 * never read as a shorter file, and no row of a cut-off record may be printed.
 */

const PREFIX = 'streamed/';
const STREAMED = { SOURCE_S3_STREAM_MIN_BYTES: String(16 << 10), SOURCE_S3_FIRST_BYTE_TIMEOUT_SECONDS: '1', SOURCE_S3_IDLE_TIMEOUT_SECONDS: '1' };
const ROWS = 60_000;
const PAYLOAD = 'abcdefghijklmnopqrstuvwxyz';

/** Every row says which row it is, and a cut one shows: its payload would be short. */
const csvRows = (rows: number, eol = '\n') => `id,payload${eol}${Array.from({ length: rows }, (_, index) => `${index + 1},row-${index + 1}-${PAYLOAD}`).join(eol)}${eol}`;
const jsonRows = (rows: number) => `${Array.from({ length: rows }, (_, index) => JSON.stringify({ id: index + 1, payload: `row-${index + 1}-${PAYLOAD}` })).join('\n')}\n`;

/** zstd as DuckDB writes it (Node 20 has no zstd encoder). */
async function zstd(text: string): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'source-s3-zstd-'));
  try {
    writeFileSync(join(dir, 'in.txt'), text);
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    // Each line as one column, no quoting or header: the bytes come back as they went in.
    await connection.run(
      `COPY (SELECT line FROM read_csv('${dir}/in.txt', header = false, columns = {'line': 'VARCHAR'}, delim = '\x01', quote = '', escape = '', auto_detect = false)) TO '${dir}/out.zst' (FORMAT csv, HEADER false, QUOTE '', COMPRESSION zstd)`,
    );
    connection.closeSync();
    instance.closeSync();
    return readFileSync(join(dir, 'out.zst'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function parquetRows(rows: number): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'source-s3-parts-'));
  try {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    // md5 payloads do not compress: the file is a few MB, several 1 MiB parts.
    await connection.run(`COPY (SELECT i AS id, md5(i::VARCHAR) || md5((i + 1)::VARCHAR) AS payload FROM range(1, ${rows + 1}) t(i)) TO '${dir}/p.parquet' (FORMAT parquet, ROW_GROUP_SIZE 20000)`);
    connection.closeSync();
    instance.closeSync();
    return readFileSync(join(dir, 'p.parquet'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const client = testClient();
const proxied = useFaultProxy();
let proxy: FaultProxy;
const catalogs = new Map<string, Schema>();

const FILES = {
  csv: csvRows(ROWS),
  jsonl: jsonRows(ROWS),
};
const OBJECTS: Record<string, () => Promise<Buffer | string>> = {
  'plain.csv': async () => FILES.csv,
  'gzip.csv.gz': async () => gzipSync(FILES.csv),
  'zstd.csv.zst': async () => zstd(FILES.csv),
  'plain.jsonl': async () => FILES.jsonl,
  'gzip.jsonl.gz': async () => gzipSync(FILES.jsonl),
  'zstd.jsonl.zst': async () => zstd(FILES.jsonl),
  'cut.csv.gz': async () => half(gzipSync(FILES.csv)),
  'cut.jsonl.zst': async () => half(await zstd(FILES.jsonl)),
  // A file edited by hand: CRLF, then LF from some row on.
  'mixed.csv': async () => csvRows(ROWS, '\r\n') + csvRows(ROWS).split('\n').slice(1).join('\n').replace(/^(\d+),row-(\d+)-/gm, (_, id: string) => `${Number(id) + ROWS},row-${Number(id) + ROWS}-`),
  'big.parquet': async () => parquetRows(150_000),
};
const sizes = new Map<string, number>();
const half = (bytes: Buffer) => bytes.subarray(0, Math.floor(bytes.length / 2));

beforeAll(async () => {
  proxy = proxied.proxy();
  for (const [name, make] of Object.entries(OBJECTS)) {
    const body = await make();
    sizes.set(name, Buffer.byteLength(body));
    await putObject(client, PREFIX + name, body);
  }
  // Each format's catalog, discovered from a plain file straight from the server.
  for (const [format, key] of [
    ['csv', 'plain.csv'],
    ['jsonl', 'plain.jsonl'],
    ['parquet', 'big.parquet'],
  ] as const) {
    const streams = await discoverStreams(configWith([{ name: 's', globs: [PREFIX + key], format: { filetype: format } }]));
    catalogs.set(format, configuredCatalog(streams, { sync_mode: 'incremental', cursor_field: ['_ab_source_file_last_modified'] }));
  }
}, 120_000);
afterAll(() => client.destroy());
beforeEach(() => {
  proxy.clearFaults();
  proxy.log = [];
});

const formatOf = (name: string) => (name.includes('.csv') ? 'csv' : name.includes('.jsonl') ? 'jsonl' : 'parquet');

function readFile(name: string, env: Record<string, string> = {}, stream: Record<string, unknown> = {}): Promise<ReadResult> {
  const format = formatOf(name);
  const config = configWith([{ name: 's', globs: [PREFIX + name], format: { filetype: format }, ...stream }], { endpoint: proxied.endpoint() });
  return read(config, catalogs.get(format)!, undefined, { ...STREAMED, ...env });
}

/** Every row of the file once, each whole, and the file synced. */
function expectEveryRowOnce(result: ReadResult, name: string, rows = ROWS): void {
  expect(result.code, result.stderr).toBe(0);
  expect(result.records.length).toBe(rows);
  const ids = new Set<number>();
  for (const { data } of result.records) {
    expect(data.payload).toBe(`row-${data.id}-${PAYLOAD}`);
    ids.add(Number(data.id));
  }
  expect(ids.size).toBe(rows);
  expect(Math.max(...ids)).toBe(rows);
  expect(rememberedKeys(lastStates(result.messages)[0]!.stream.stream_state)).toContain(PREFIX + name);
}

/** The read failed on the file with `failureType`, naming it; every row printed is a whole row of it; the file is not synced. */
function expectFailed(result: ReadResult, name: string, failureType = 'transient_error'): string {
  expect(result.code).toBe(1);
  const errors = result.messages.filter((message) => message.type === 'TRACE' && message.trace.type === 'ERROR');
  expect(errors.length, result.stdout.slice(-2000)).toBe(1);
  const error = errors[0]!.trace.error;
  expect(error.failure_type).toBe(failureType);
  expect(error.message).toContain(`s3://${BUCKET}/${PREFIX}${name}`);
  expect(result.records.length).toBeLessThan(ROWS);
  for (const { data } of result.records) expect(data.payload).toBe(`row-${data.id}-${PAYLOAD}`);
  const states = lastStates(result.messages);
  if (states.length > 0) expect(rememberedKeys(states[0]!.stream.stream_state)).not.toContain(PREFIX + name);
  return String(error.message);
}

/** The GETs that read the object through (no Range or `bytes=N-`), not the closed range of its header sample. */
const throughGets = (name: string) => proxy.getsOf(PREFIX + name).filter((entry) => entry.headers.range === undefined || /^bytes=\d+-$/.test(String(entry.headers.range)));

describe('a streamed file read through', () => {
  for (const name of ['plain.csv', 'gzip.csv.gz', 'zstd.csv.zst', 'plain.jsonl', 'gzip.jsonl.gz', 'zstd.jsonl.zst']) {
    it(`${name}: every row once, from one GET of the whole object, with If-Match`, async () => {
      expectEveryRowOnce(await readFile(name), name);
      const gets = throughGets(name);
      expect(gets.length).toBe(1);
      expect(gets[0]!.headers['if-match']).toMatch(/^"[0-9a-f]{32}"$/);
    });
  }

  it('a file mixing CRLF and LF: read again through an LF-normalising pass from the first row not emitted', async () => {
    const result = await readFile('mixed.csv');
    expect(result.code, result.stderr).toBe(0);
    const ids = result.records.map((record) => Number(record.data.id));
    expect(ids.length).toBe(2 * ROWS);
    expect(new Set(ids).size).toBe(2 * ROWS);
    for (const { data } of result.records) expect(data.payload).toBe(`row-${data.id}-${PAYLOAD}`);
  });

  it('a reset mid-body, once, on gzip and zstd: resumed from the byte reached, every row once', async () => {
    for (const name of ['gzip.csv.gz', 'zstd.jsonl.zst']) {
      proxy.inject({ get: PREFIX + name, download: true }, { kind: 'reset', afterBytes: Math.floor(sizes.get(name)! / 2) });
      expectEveryRowOnce(await readFile(name), name);
      const ranges = throughGets(name).map((entry) => String(entry.headers.range ?? ''));
      expect(ranges.length).toBe(2);
      expect(ranges[1]).toMatch(/^bytes=\d+-$/);
    }
  });
});

describe('a streamed file whose body fails for good', () => {
  const cases: [string, (size: number) => Parameters<FaultProxy['inject']>[1]][] = [
    ['plain.csv', (size) => ({ kind: 'cut', afterBytes: Math.floor(size * 0.6) + 7, contentLength: false })],
    ['gzip.csv.gz', (size) => ({ kind: 'cut', afterBytes: Math.floor(size * 0.6), contentLength: true })],
    ['zstd.csv.zst', (size) => ({ kind: 'reset', afterBytes: Math.floor(size * 0.6) })],
    ['plain.jsonl', (size) => ({ kind: 'stall', afterBytes: Math.floor(size * 0.6) + 3 })],
    ['gzip.jsonl.gz', (size) => ({ kind: 'reset', afterBytes: Math.floor(size * 0.6) })],
    ['zstd.jsonl.zst', (size) => ({ kind: 'cut', afterBytes: Math.floor(size * 0.6), contentLength: false })],
  ];
  for (const [name, fault] of cases) {
    it(`${name}: transient_error naming the object, never a shorter file`, async () => {
      proxy.inject({ get: PREFIX + name, download: true }, fault(sizes.get(name)!), 1_000);
      const message = expectFailed(await readFile(name, { SOURCE_S3_MAX_ATTEMPTS: '1' }), name);
      expect(message).toMatch(/after 1 attempt/);
    });
  }

  it('cut inside a quoted field spanning lines, with on_error skip: the half record is neither a row nor a skipped row, the read fails', async () => {
    const name = 'multiline.csv';
    const rows = Array.from({ length: ROWS }, (_, index) => `${index + 1},"row-${index + 1}-${PAYLOAD}\nsecond line"`);
    const text = `id,payload\n${rows.join('\n')}\n`;
    await putObject(client, PREFIX + name, text);
    // Cut right after the first line of a quoted field: whole lines, but not a whole record.
    const cut = text.indexOf('\n', text.indexOf(`\n${Math.floor(ROWS * 0.7)},"`) + 1) + 1;
    proxy.inject({ get: PREFIX + name, download: true }, { kind: 'cut', afterBytes: cut, contentLength: false }, 1_000);
    const result = await readFile(name, { SOURCE_S3_MAX_ATTEMPTS: '1' }, { on_error: 'skip' });
    expect(result.code).toBe(1);
    const error = result.messages.find((message) => message.type === 'TRACE' && message.trace.type === 'ERROR')!.trace.error;
    expect(error.failure_type).toBe('transient_error');
    expect(error.message).toContain(`s3://${BUCKET}/${PREFIX}${name}`);
    for (const { data } of result.records) expect(data.payload).toBe(`row-${data.id}-${PAYLOAD}\nsecond line`);
  });
});

describe('a streamed file whose compressed data ends early (an incomplete upload)', () => {
  for (const name of ['cut.csv.gz', 'cut.jsonl.zst']) {
    it(`${name}: config_error saying it is cut off, and no row of its last, cut record`, async () => {
      const message = expectFailed(await readFile(name), name, 'config_error');
      expect(message).toMatch(/is cut off: its (gzip|zstd) data ends early/);
    });
  }
});

describe('a streamed file resumed inside', () => {
  it('a read killed after a mid-file STATE resumes at its offset through a new pass: every row exactly once overall', async () => {
    const name = 'gzip.csv.gz';
    const config = configWith([{ name: 's', globs: [PREFIX + name], format: { filetype: 'csv' } }]);
    const catalog = catalogs.get('csv')!;
    const env = { ...STREAMED, SOURCE_S3_CHECKPOINT_RECORDS: '5000' };
    const args = ['read', '--config', writeTempFile('config.json', config), '--catalog', writeTempFile('catalog.json', catalog)];
    const killed = await readUntilKilled(args, env, (message) => message.type === 'STATE' && message.state.stream.stream_state.in_progress?.rows >= 20_000);
    const state = lastStates(killed as never);
    const done = Number(state[0]!.stream.stream_state.in_progress.rows);
    const before = (killed as Schema[]).filter((message) => message.type === 'RECORD').map((message) => Number(message.record.data.id));
    const resumed = await read(config, catalog, state, env);
    expect(resumed.code, resumed.stderr).toBe(0);
    const after = resumed.records.map((record) => Number(record.data.id));
    expect(after[0]).toBe(done + 1);
    expect(after.length).toBe(ROWS - done);
    expect(new Set([...before.slice(0, done), ...after]).size).toBe(ROWS);
  });
});

describe('staging disk', () => {
  it('a streamed 24 MB CSV never has more than its header sample staged', async () => {
    const name = 'large.csv';
    const rows = 600_000;
    await putObject(client, PREFIX + name, csvRows(rows));
    const stagingParent = mkdtempSync(join(tmpdir(), 'source-s3-streamed-staging-'));
    try {
      const config = configWith([{ name: 's', globs: [PREFIX + name], format: { filetype: 'csv' } }]);
      const args = ['read', '--config', writeTempFile('config.json', config), '--catalog', writeTempFile('catalog.json', catalogs.get('csv')!)];
      let peak = 0;
      let sawFifo = false;
      const watch = setInterval(() => {
        const { bytes, fifo } = folderUse(stagingParent);
        peak = Math.max(peak, bytes);
        sawFifo ||= fifo;
      }, 5);
      const result = await runConnectorProcess(process.execPath, [CLI, ...args], { env: { ...STREAMED, SOURCE_S3_STAGING_DIR: stagingParent } });
      clearInterval(watch);
      expect(result.code, result.stderr).toBe(0);
      expect(result.messages.filter((message: AirbyteMessageLike) => message.type === 'RECORD').length).toBe(rows);
      expect(sawFifo).toBe(true);
      // The header sample (1 MiB, SOURCE_S3_SAMPLE_BYTES) and DuckDB's own files; never the 24 MB file.
      expect(peak).toBeLessThan(4 << 20);
    } finally {
      rmSync(stagingParent, { recursive: true, force: true });
    }
  });
});

/** Bytes of the regular files under `dir`, and whether a FIFO is among them. */
function folderUse(dir: string): { bytes: number; fifo: boolean } {
  let bytes = 0;
  let fifo = false;
  const walk = (at: string) => {
    let entries;
    try {
      entries = readdirSync(at, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFIFO()) fifo = true;
      else if (entry.isFile()) {
        try {
          bytes += statSync(path).size;
        } catch {
          // removed meanwhile
        }
      }
    }
  };
  walk(dir);
  return { bytes, fifo };
}

describe('Parquet', () => {
  it('is fetched with concurrent ranged GETs of SOURCE_S3_PART_BYTES, each of the listed version; a part reset once is resumed', async () => {
    const name = 'big.parquet';
    const size = sizes.get(name)!;
    expect(size).toBeGreaterThan(3 << 20);
    const partBytes = 1 << 20;
    // The first part GET to arrive is reset after 1,000 bytes, and resumed from there.
    proxy.inject({ get: PREFIX + name }, { kind: 'reset', afterBytes: 1000 });
    const result = await readFile(name, { SOURCE_S3_PART_BYTES: String(partBytes) });
    expect(result.code, result.stderr).toBe(0);
    expect(result.records.length).toBe(150_000);
    expect(new Set(result.records.map((record) => Number(record.data.id))).size).toBe(150_000);
    const gets = proxy.getsOf(PREFIX + name);
    const ranges = gets.map((entry) => String(entry.headers.range));
    // Every part asked as a closed range within the object, plus one resume after the reset.
    const parts = Math.ceil(size / partBytes);
    expect(gets.length).toBe(parts + 1);
    for (const range of ranges) expect(range).toMatch(/^bytes=\d+-\d+$/);
    const starts = new Set(ranges.map((range) => Number(/^bytes=(\d+)-/.exec(range)![1])));
    for (let part = 0; part < parts; part++) expect(starts.has(part * partBytes)).toBe(true);
    const etags = new Set(gets.map((entry) => entry.headers['if-match']));
    expect(etags.size).toBe(1);
    expect([...etags][0]).toMatch(/^"[0-9a-f]{32}"$/);
  });
});
