import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BUCKET } from '../support/constants.js';
import { check, localConfig, onlyMessage, runCli, writeTempFile, type AirbyteMessageLike } from '../support/cli.js';
import type { FaultProxy } from '../support/fault-proxy.js';
import { useFaultProxy } from '../support/proxy-hooks.js';
import { configuredCatalog, configWith, discoverStreams, lastStates, read, rememberedKeys, type ReadResult, type Schema } from '../support/read.js';
import { putObject, testClient } from '../support/s3-client.js';

/**
 * S3 misbehaving under a real read: the CLI against s3rver behind the fault
 * proxy. A read either delivers every row exactly once, or fails the stream
 * with a transient_error naming the object and leaves it unsynced in the state.
 */

const ROWS = 40_000;
const PREFIX = 'faults/';
const GOOD = `${PREFIX}a-good.csv`;
/** Timeouts of 1 s and 2 attempts (cleanEnv's SOURCE_S3_MAX_ATTEMPTS) keep each case short. */
const FAST = { SOURCE_S3_FIRST_BYTE_TIMEOUT_SECONDS: '1', SOURCE_S3_IDLE_TIMEOUT_SECONDS: '1' };

/** A CSV whose every row says which row it is: a byte lost, doubled or misplaced shows. */
function rowsCsv(rows: number, tag = 'row'): string {
  const lines = ['id,payload'];
  for (let id = 1; id <= rows; id++) lines.push(`${id},${tag}-${id}-abcdefghij`);
  return `${lines.join('\r\n')}\r\n`;
}
const CSV = rowsCsv(ROWS);

/** The same rows as Parquet (several row groups), written by DuckDB. */
async function parquetRows(rows: number): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'source-s3-faults-'));
  try {
    const path = join(dir, 'rows.parquet');
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    await connection.run(`COPY (SELECT i AS id, 'row-' || i || '-abcdefghij' AS payload FROM range(1, ${rows + 1}) t(i)) TO '${path}' (FORMAT parquet, ROW_GROUP_SIZE 5000)`);
    connection.closeSync();
    instance.closeSync();
    return readFileSync(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const PARQUET = `${PREFIX}c-reset.parquet`;
const PARQUET_ROWS = 20_000;

const client = testClient();
const proxied = useFaultProxy();
let proxy: FaultProxy;
let catalog: Schema;

/** Each case gets its own object, so a fault (or a rewrite) touches nothing else. */
const keyFor = (name: string) => `${PREFIX}b-${name}.csv`;
const CASES = ['stall-head', 'stall-head-always', 'stall-body', 'stall-body-always', 'short', 'short-always', 'lying', 'lying-always', 'reset', 'reset-always', 'rewritten', 'rewritten-412', 'rewritten-mid'];

beforeAll(async () => {
  proxy = proxied.proxy();
  await putObject(client, GOOD, rowsCsv(100, 'good'));
  for (const name of CASES) await putObject(client, keyFor(name), CSV);
  await putObject(client, PARQUET, await parquetRows(PARQUET_ROWS));
  // Discovered straight from the server, so no fault is spent on samples.
  const streams = await discoverStreams(configWith([{ name: 'f', globs: [GOOD], format: { filetype: 'csv' } }]));
  catalog = configuredCatalog(streams, { sync_mode: 'incremental', cursor_field: ['_ab_source_file_last_modified'] });
});
afterAll(() => client.destroy());
beforeEach(() => {
  proxy.clearFaults();
  proxy.log = [];
  proxy.honorIfMatch = false;
});

/** Reads the good file and `key` (in that order) through the proxy. */
function readThroughProxy(key: string, env: Record<string, string> = {}): Promise<ReadResult> {
  const config = configWith([{ name: 'f', globs: [GOOD, key], format: { filetype: 'csv' } }], { endpoint: proxied.endpoint() });
  return read(config, catalog, undefined, { ...FAST, ...env });
}

function expectEveryRowOnce(result: ReadResult, key: string, count = ROWS): void {
  expect(result.code, result.stderr).toBe(0);
  const rows = result.records.filter((record) => record.data._ab_source_file_url === `s3://${BUCKET}/${key}`);
  expect(rows.length).toBe(count);
  const ids = new Set<number>();
  for (const { data } of rows) {
    expect(data.payload).toBe(`row-${data.id}-abcdefghij`);
    ids.add(data.id as number);
  }
  expect(ids.size).toBe(count);
  expect(Math.min(...ids)).toBe(1);
  expect(Math.max(...ids)).toBe(count);
  expect(streamStatuses(result.messages).at(-1)).toBe('COMPLETE');
  expect(rememberedKeys(lastStates(result.messages)[0]!.stream.stream_state)).toContain(key);
}

/** The stream failed on `key`: transient_error naming it, INCOMPLETE, the good file synced and `key` not. Returns the error message. */
function expectFailedOn(result: ReadResult, key: string): string {
  expect(result.code).toBe(1);
  const errors = result.messages.filter((message) => message.type === 'TRACE' && message.trace.type === 'ERROR');
  expect(errors.length, result.stdout).toBe(1);
  const error = errors[0]!.trace.error;
  expect(error.failure_type).toBe('transient_error');
  expect(error.message).toContain(`s3://${BUCKET}/${key}`);
  expect(streamStatuses(result.messages).at(-1)).toBe('INCOMPLETE');
  expect(result.records.some((record) => record.data._ab_source_file_url === `s3://${BUCKET}/${key}`)).toBe(false);
  const history = rememberedKeys(lastStates(result.messages)[0]!.stream.stream_state);
  expect(history).toContain(GOOD);
  expect(history).not.toContain(key);
  return error.message as string;
}

function streamStatuses(messages: AirbyteMessageLike[]): string[] {
  return messages.filter((message) => message.type === 'TRACE' && message.trace.type === 'STREAM_STATUS').map((message) => message.trace.stream_status.status);
}

/** Range headers of the GETs of `key` that reached the proxy, in order ('' for a plain GET). */
/** The Range header of each GET that downloads the object (to its end); the dialect sample's closed range is left out. */
function rangesAsked(key: string): string[] {
  return proxy
    .getsOf(key)
    .map((entry) => String(entry.headers.range ?? ''))
    .filter((range) => range === '' || /^bytes=\d+-$/.test(range));
}

const forever = 1_000;
const MID = 300_000;
// Faults target the download of the object (a GET to its end), not the sample read first to decide
// the CSV stream's dialect: `{ get: key, download: true }`.

describe('a stall', () => {
  it('before the first byte, once: the GET is tried again and every row arrives once', async () => {
    const key = keyFor('stall-head');
    const rule = proxy.inject({ get: key, download: true }, { kind: 'stall' });
    expectEveryRowOnce(await readThroughProxy(key), key);
    expect(rule.hits).toBe(1);
  });

  it('before the first byte, every time: transient_error naming the object, after the attempts', async () => {
    const key = keyFor('stall-head-always');
    const rule = proxy.inject({ get: key, download: true }, { kind: 'stall' }, forever);
    const message = expectFailedOn(await readThroughProxy(key), key);
    expect(message).toMatch(/did not answer in time after 2 attempts/);
    expect(message).toContain('SOURCE_S3_FIRST_BYTE_TIMEOUT_SECONDS');
    expect(rule.hits).toBe(2);
  });

  it('mid-body, once: resumed from the byte reached with a ranged GET of the listed version', async () => {
    const key = keyFor('stall-body');
    proxy.inject({ get: key, download: true }, { kind: 'stall', afterBytes: MID });
    const result = await readThroughProxy(key);
    expectEveryRowOnce(result, key);
    const ranges = rangesAsked(key);
    expect(ranges[0]).toBe('');
    expect(ranges.length).toBe(2);
    // Resumed exactly where the body stopped: the proxy passed MID bytes (or fewer, if the last chunk was still in flight).
    const from = Number(/^bytes=(\d+)-$/.exec(ranges[1]!)?.[1]);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThanOrEqual(MID);
    // Both GETs asked for the listed version.
    const [first, resumed] = proxy.getsOf(key).map((entry) => entry.headers['if-match']);
    expect(first).toMatch(/^"[0-9a-f]{32}"$/);
    expect(resumed).toBe(first);
  });

  it('mid-body, every time: our own idle timeout ends it, then transient_error', async () => {
    const key = keyFor('stall-body-always');
    proxy.inject({ get: key, download: true }, { kind: 'stall', afterBytes: MID }, forever);
    // The handler's socket timeout is the larger of the two (30 s here): the 1 s can only be ours.
    const message = expectFailedOn(await readThroughProxy(key, { SOURCE_S3_FIRST_BYTE_TIMEOUT_SECONDS: '30' }), key);
    expect(message).toMatch(/the body stalled \(no data for 1 s, SOURCE_S3_IDLE_TIMEOUT_SECONDS\) at byte \d+ of \d+, after 2 attempts/);
  });

  it('after the headers, before the first body byte, every time: the first-byte timeout ends it', async () => {
    const key = keyFor('stall-body-always');
    proxy.inject({ get: key, download: true }, { kind: 'stall', afterBytes: 0 }, forever);
    const message = expectFailedOn(await readThroughProxy(key, { SOURCE_S3_IDLE_TIMEOUT_SECONDS: '30' }), key);
    expect(message).toContain('the body stalled (no data for 1 s, SOURCE_S3_FIRST_BYTE_TIMEOUT_SECONDS) at byte 0 of');
  });
});

describe('a short body', () => {
  it('without Content-Length, once: not taken for the whole object; resumed, every row once', async () => {
    const key = keyFor('short');
    proxy.inject({ get: key, download: true }, { kind: 'cut', afterBytes: MID, contentLength: false });
    expectEveryRowOnce(await readThroughProxy(key), key);
    expect(rangesAsked(key)).toEqual(['', `bytes=${MID}-`]);
  });

  it('without Content-Length, every time: transient_error with the byte reached and the listed size', async () => {
    const key = keyFor('short-always');
    proxy.inject({ get: key, download: true }, { kind: 'cut', afterBytes: MID, contentLength: false }, forever);
    const message = expectFailedOn(await readThroughProxy(key), key);
    // The second attempt resumed at MID and was cut MID bytes later too.
    expect(message).toContain(`the body ended at byte ${2 * MID} of ${Buffer.byteLength(CSV)}, after 2 attempts`);
  });

  it('with a Content-Length it does not keep, once: resumed, every row once', async () => {
    const key = keyFor('lying');
    proxy.inject({ get: key, download: true }, { kind: 'cut', afterBytes: MID, contentLength: true });
    expectEveryRowOnce(await readThroughProxy(key), key);
    const ranges = rangesAsked(key);
    expect(ranges.length).toBe(2);
    // From the last byte taken in: bytes still buffered when the connection dropped are fetched again.
    expect(Number(/^bytes=(\d+)-$/.exec(ranges[1]!)?.[1])).toBeLessThanOrEqual(MID);
  });

  it('with a Content-Length it does not keep, every time: transient_error', async () => {
    const key = keyFor('lying-always');
    proxy.inject({ get: key, download: true }, { kind: 'cut', afterBytes: MID, contentLength: true }, forever);
    const message = expectFailedOn(await readThroughProxy(key), key);
    expect(message).toMatch(/at byte \d+ of \d+, after 2 attempts/);
  });
});

describe('a connection reset mid-body', () => {
  it('once: resumed from the byte reached, every row exactly once', async () => {
    const key = keyFor('reset');
    proxy.inject({ get: key, download: true }, { kind: 'reset', afterBytes: MID });
    expectEveryRowOnce(await readThroughProxy(key), key);
    const ranges = rangesAsked(key);
    expect(ranges.length).toBe(2);
    expect(ranges[1]).toMatch(/^bytes=\d+-$/);
  });

  it('several times within the attempts: each resume goes on from where the last one stopped', async () => {
    const key = keyFor('reset');
    proxy.inject({ get: key, download: true }, { kind: 'reset', afterBytes: 100_000 }, 3);
    expectEveryRowOnce(await readThroughProxy(key, { SOURCE_S3_MAX_ATTEMPTS: '4' }), key);
    const starts = rangesAsked(key).map((range) => Number(/^bytes=(\d+)-$/.exec(range)?.[1] ?? 0));
    expect(starts.length).toBe(4);
    for (let i = 1; i < starts.length; i++) expect(starts[i]).toBeGreaterThan(starts[i - 1]!);
  });

  it('every time: transient_error saying the connection was reset', async () => {
    const key = keyFor('reset-always');
    proxy.inject({ get: key, download: true }, { kind: 'reset', afterBytes: MID }, forever);
    const message = expectFailedOn(await readThroughProxy(key), key);
    expect(message).toMatch(/connection was reset .* at byte \d+ of \d+, after 2 attempts/);
  });

  it('in a Parquet file: the resumed bytes make the same file, every row once', async () => {
    proxy.inject({ get: PARQUET, download: true }, { kind: 'reset', afterBytes: 50_000 });
    const config = configWith([{ name: 'f', globs: [PARQUET], format: { filetype: 'parquet' } }], { endpoint: proxied.endpoint() });
    const result = await read(config, catalog, undefined, FAST);
    expectEveryRowOnce(result, PARQUET, PARQUET_ROWS);
    expect(rangesAsked(PARQUET).length).toBe(2);
  });
});

describe('an object rewritten after it was listed', () => {
  it('before it is read, on a store that ignores If-Match (s3rver): transient_error saying it changed, and no row of either version', async () => {
    const key = keyFor('rewritten');
    proxy.inject({ get: key, download: true }, { kind: 'before', run: () => putObject(client, key, rowsCsv(10, 'new')) });
    const message = expectFailedOn(await readThroughProxy(key), key);
    expect(message).toContain('changed while being read');
    expect(message).toMatch(/ETag/);
  });

  it('on a store that honours If-Match (as S3 does: 412): the same transient_error', async () => {
    const key = keyFor('rewritten-412');
    proxy.honorIfMatch = true;
    proxy.inject({ get: key, download: true }, { kind: 'before', run: () => putObject(client, key, rowsCsv(10, 'new')) });
    const message = expectFailedOn(await readThroughProxy(key), key);
    expect(message).toContain('changed while being read (its ETag is no longer the listed one)');
  });

  it('between a reset and the resumed GET: the bytes of two versions are never mixed', async () => {
    const key = keyFor('rewritten-mid');
    proxy.inject({ get: key, download: true }, { kind: 'reset', afterBytes: MID });
    proxy.inject({ get: key, download: true }, { kind: 'before', run: () => putObject(client, key, rowsCsv(ROWS, 'new')) });
    const message = expectFailedOn(await readThroughProxy(key), key);
    expect(message).toContain('changed while being read');
  });
});

describe('the listing', () => {
  it('stalling before its answer, once: tried again, every row once', async () => {
    const key = keyFor('stall-head');
    const rule = proxy.inject('list', { kind: 'stall' });
    expectEveryRowOnce(await readThroughProxy(key), key);
    expect(rule.hits).toBe(1);
  });

  it('stalling mid-answer, every time: bounded by the timeouts, transient_error naming the bucket', async () => {
    const key = keyFor('stall-head');
    proxy.inject('list', { kind: 'stall', afterBytes: 100 }, forever);
    const result = await readThroughProxy(key);
    expect(result.code).toBe(1);
    const error = result.messages.find((message) => message.type === 'TRACE' && message.trace.type === 'ERROR')!.trace.error;
    expect(error.failure_type).toBe('transient_error');
    expect(error.message).toContain(`s3://${BUCKET}/${PREFIX}`);
    expect(error.message).toMatch(/did not answer in time after 2 attempts/);
    expect(result.records).toEqual([]);
  });
});

describe('samples', () => {
  it('check with a sample that stalls mid-body every time: FAILED, naming the object, not hanging', async () => {
    const key = keyFor('stall-body');
    proxy.inject({ get: key }, { kind: 'stall', afterBytes: 1_000 }, forever);
    const { status, message } = await check(localConfig({ endpoint: proxied.endpoint(), streams: [{ name: 'f', globs: [key], format: { filetype: 'csv' } }] }), { env: FAST });
    expect(status).toBe('FAILED');
    expect(message).toContain(`s3://${BUCKET}/${key}`);
    expect(message).toMatch(/stalled|went silent/);
  });
});

describe('timeout settings', () => {
  it.each(['SOURCE_S3_CONNECT_TIMEOUT_SECONDS', 'SOURCE_S3_FIRST_BYTE_TIMEOUT_SECONDS', 'SOURCE_S3_IDLE_TIMEOUT_SECONDS'])('%s=0 answers FAILED naming it', async (variable) => {
    const result = await runCli(['check', '--config', writeTempFile('config.json', localConfig())], { env: { [variable]: '0' } });
    expect(result.code).toBe(0);
    const { status, message } = onlyMessage(result, 'CONNECTION_STATUS').connectionStatus as { status: string; message: string };
    expect(status).toBe('FAILED');
    expect(message).toContain(`${variable} must be a whole number of seconds, 1 or more (got "0")`);
  });
});
