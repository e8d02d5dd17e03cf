import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localConfig, writeTempFile, type AirbyteMessageLike } from '../support/cli.js';
import { addressSpaceLimit, filesBelow, isAlive, protocolMessages, queryWorkers, startCli, waitFor, type RunningCli } from '../support/process-tree.js';
import { useFaultProxy } from '../support/proxy-hooks.js';
import { putObject, testClient } from '../support/s3-client.js';

/**
 * The bounds of a model query (issue 11), through the real CLI: a time limit,
 * a memory limit the OS enforces on the worker that runs the SQL, staging
 * freed as each stream ends, and SOURCE_S3_QUERY_MAX_BYTES in check and
 * discover. Each payload is SQL a user (or an attacker) can write.
 */
const BUCKET_URL = 's3://source-s3-test';
const TINY = 'bounds/tiny.csv';
const tiny = `${BUCKET_URL}/${TINY}`;
const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** Runs until stopped: DuckDB would count to 10^12. */
const ENDLESS = `SELECT count(*) AS n FROM range(1000000000000) t(i), '${tiny}'`;
/** One scalar call DuckDB cannot interrupt (an edit distance over 300,000 x 300,000 characters, minutes), evaluated when the query is bound. */
const SLOW_BIND = `SELECT * FROM '${tiny}', range(levenshtein(repeat('a', 300000), repeat('b', 300000)) * 0)`;

const work = mkdtempSync(join(tmpdir(), 'source-s3-bounds-'));
const client = testClient();

beforeAll(async () => {
  await putObject(client, TINY, 'id,name\n1,a\n2,b\n');
  for (let index = 0; index < 60; index++) await putObject(client, `bounds/many-json/part-${String(index).padStart(2, '0')}.jsonl`, `{"id": ${index}, "tag": "t${index % 3}"}\n`);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  // Random text, so zstd cannot shrink it much: ~780 KB raw, ~400 KB as zstd.
  for (const [key, compression] of [['bounds/sized.csv.zst', 'zstd'], ['bounds/sized.csv', 'none']] as const) {
    const path = join(work, key.replace(/\//g, '_'));
    await connection.run(`COPY (SELECT i AS id, md5(i::VARCHAR) AS hash FROM range(20000) t(i)) TO '${path}' (FORMAT csv, HEADER, COMPRESSION ${compression})`);
    await putObject(client, key, readFileSync(path));
  }
  connection.closeSync();
  instance.closeSync();
});
afterAll(() => {
  client.destroy();
  rmSync(work, { recursive: true, force: true });
});

const queryStream = (name: string, query: string) => ({ name, query });
const fileStream = (name: string, key: string) => ({ name, globs: [key], format: { filetype: 'csv' } });
/** A catalog selecting the given streams, full refresh; a query stream's schema comes from its query. */
const catalogOf = (...names: string[]) => ({
  streams: names.map((name) => ({
    stream: { name, json_schema: { type: 'object', properties: {} }, supported_sync_modes: ['full_refresh'] },
    sync_mode: 'full_refresh',
    destination_sync_mode: 'overwrite',
  })),
});
const readArgs = (config: Record<string, unknown>, catalog: unknown) => ['read', '--config', writeTempFile('config.json', config), '--catalog', writeTempFile('catalog.json', catalog)];

const statusesOf = (messages: AirbyteMessageLike[], stream: string) =>
  messages.filter((message) => message.trace?.stream_status?.stream_descriptor?.name === stream).map((message) => message.trace.stream_status.status);
const errorsOf = (messages: AirbyteMessageLike[]) => messages.filter((message) => message.trace?.type === 'ERROR').map((message) => message.trace.error);

/** The CLI ran, and no query worker it started outlived it. */
async function finished(cli: RunningCli): Promise<{ code: number; messages: AirbyteMessageLike[] }> {
  const code = await cli.exited;
  await waitFor(() => [...cli.workersSeen].every((pid) => !isAlive(pid)), 'the query workers to exit', 10_000);
  return { code, messages: protocolMessages(cli.stdout()) };
}

describe('SOURCE_S3_QUERY_TIMEOUT_SECONDS', () => {
  it('stops a read stream running too long: INCOMPLETE + config_error naming the stream and the variable; the next stream still reads', async () => {
    const config = localConfig({ streams: [queryStream('endless', ENDLESS), fileStream('after', TINY)] });
    const cli = startCli(readArgs(config, catalogOf('endless', 'after')), { SOURCE_S3_QUERY_TIMEOUT_SECONDS: '2' }, 60);
    const { code, messages } = await finished(cli);
    expect(code, cli.stderr()).toBe(1);
    expect(cli.workersSeen.size).toBe(1);
    expect(statusesOf(messages, 'endless')).toEqual(['STARTED', 'RUNNING', 'INCOMPLETE']);
    expect(errorsOf(messages)).toEqual([
      expect.objectContaining({
        failure_type: 'config_error',
        stream_descriptor: { name: 'endless' },
        message: expect.stringMatching(/^Stream "endless": the model query ran longer than SOURCE_S3_QUERY_TIMEOUT_SECONDS \(2 s\) and was stopped/),
      }),
    ]);
    expect(statusesOf(messages, 'after')).toEqual(['STARTED', 'RUNNING', 'COMPLETE']);
    expect(messages.filter((message) => message.type === 'RECORD').map((message) => message.record.data.id)).toEqual([1, 2]);
  });

  it('fails check naming the stream whose query takes too long even to bind', async () => {
    const config = localConfig({ streams: [fileStream('fine', TINY), queryStream('slow', SLOW_BIND)] });
    const cli = startCli(['check', '--config', writeTempFile('config.json', config)], { SOURCE_S3_QUERY_TIMEOUT_SECONDS: '2' }, 60);
    const { code, messages } = await finished(cli);
    expect(code).toBe(0);
    expect(messages).toEqual([
      expect.objectContaining({
        connectionStatus: { status: 'FAILED', message: expect.stringMatching(/^Stream "slow": the model query ran longer than SOURCE_S3_QUERY_TIMEOUT_SECONDS \(2 s\)/) },
      }),
    ]);
  });

  it('stops the query command, plain text on stderr and nothing on stdout', async () => {
    const cli = startCli(['query', '--config', writeTempFile('config.json', localConfig()), '--sql', ENDLESS], { SOURCE_S3_QUERY_TIMEOUT_SECONDS: '2' }, 60);
    const code = await cli.exited;
    await waitFor(() => [...cli.workersSeen].every((pid) => !isAlive(pid)), 'the query worker to exit', 10_000);
    expect(code).toBe(1);
    expect(cli.stdout()).toBe('');
    expect(cli.stderr()).toMatch(/^source-s3 query: The query ran longer than SOURCE_S3_QUERY_TIMEOUT_SECONDS \(2 s\) and was stopped/);
  });
});

describe('SOURCE_S3_DUCKDB_MEMORY_LIMIT', () => {
  const LIMIT = '256MB';
  const limitBytes = 256e6;

  // Scalars DuckDB's own memory_limit does not bound (lists and strings), aggregates building them, and joins multiplying them.
  it.each([
    ['a 2 GB string', `SELECT length(repeat('x', 2000000000)) AS n FROM '${tiny}'`],
    ['a list of 600 million integers', `SELECT len(range(0, 600000000)) AS n FROM '${tiny}'`],
    ['a list aggregate of 300 million rows', `SELECT len(list(i)) AS n FROM range(300000000) t(i), '${tiny}'`],
    ['string_agg of 100 MB strings', `SELECT length(string_agg(repeat('y', 100000000), ',')) AS n FROM range(40) t(i), '${tiny}'`],
    ['a cross join concatenating 1 MB strings', `SELECT max(length(a.s || b.s)) AS n FROM (SELECT repeat('z', 1000000) || i AS s FROM range(3000) t(i)) a, (SELECT repeat('w', 1000000) || i AS s FROM range(3000) t(i)) b, '${tiny}'`],
    ['a list of lists inside a CTE', `WITH l AS (SELECT list_transform(range(0, 20000), x -> range(0, 20000)) AS big FROM '${tiny}') SELECT len(flatten(big)) AS n FROM l`],
    // Allowed by the address-space cap, filled byte by byte: only the resident-memory watch stops it.
    ['a 1.3 GB string filled in place', `SELECT length(repeat('x', 1300000000) || name) AS n FROM '${tiny}'`],
  ])('refuses %s with a config_error naming the stream and the variable; the process tree stays under the bound', async (_label, query) => {
    const config = localConfig({ streams: [queryStream('hungry', query)] });
    const cli = startCli(readArgs(config, catalogOf('hungry')), { SOURCE_S3_DUCKDB_MEMORY_LIMIT: LIMIT }, 120);
    const { code, messages } = await finished(cli);
    const peak = cli.peakTreeRss();
    console.log(`memory bound, ${_label}: peak RSS of the CLI's process tree ${(peak / MiB).toFixed(0)} MiB (limit ${LIMIT})`);
    expect(code, cli.stderr()).toBe(1);
    expect(statusesOf(messages, 'hungry').at(-1)).toBe('INCOMPLETE');
    expect(errorsOf(messages)).toEqual([
      expect.objectContaining({ failure_type: 'config_error', stream_descriptor: { name: 'hungry' }, message: expect.stringMatching(/^Stream "hungry": the model query .*SOURCE_S3_DUCKDB_MEMORY_LIMIT/) }),
    ]);
    expect(peak).toBeGreaterThan(0);
    // The worker's bound (limit + 512 MiB) plus the connector's own process.
    expect(peak).toBeLessThan(limitBytes + GiB);
  });

  it('runs the worker under an address-space limit of the memory limit plus 512 MiB plus 4 GiB, a backstop for one huge allocation', async () => {
    const cli = startCli(['query', '--config', writeTempFile('config.json', localConfig()), '--sql', ENDLESS], { SOURCE_S3_DUCKDB_MEMORY_LIMIT: LIMIT }, 60);
    await waitFor(() => queryWorkers(cli.pid).length > 0, 'a query worker');
    const [worker] = queryWorkers(cli.pid);
    expect(addressSpaceLimit(worker!)).toBe(Math.ceil((limitBytes + GiB / 2 + 4 * GiB) / 1024) * 1024);
    cli.child.kill('SIGTERM');
    await finished(cli).catch(() => undefined);
    expect(isAlive(worker!)).toBe(false);
  });

  it('runs a query over 60 small JSON Lines files, which DuckDB maps far more memory for than it touches', async () => {
    // The address space of such a scan grows with the files (~32 MB each) while little is resident:
    // a cap on address space near the memory bound refused it.
    const config = localConfig({ streams: [queryStream('many', `SELECT count(*) AS files, count(DISTINCT tag) AS tags FROM '${BUCKET_URL}/bounds/many-json/*.jsonl'`)] });
    const cli = startCli(readArgs(config, catalogOf('many')), { SOURCE_S3_DUCKDB_MEMORY_LIMIT: LIMIT }, 120);
    const { code, messages } = await finished(cli);
    expect(code, cli.stderr().slice(-1000)).toBe(0);
    expect(messages.filter((message) => message.type === 'RECORD').map((message) => message.record.data)).toEqual([{ files: 60, tags: 3 }]);
  });

  it('still runs a heavy query that fits: a 5-million-row sort and group-by under the default 1GB', async () => {
    const query = `SELECT count(*) AS groups, sum(c) AS rows, max(r) AS last FROM (
      SELECT h, count(*) AS c, max(row_number) AS r FROM (
        SELECT md5(i::VARCHAR) AS h, row_number() OVER (ORDER BY md5(i::VARCHAR) DESC) AS row_number FROM range(5000000) t(i), '${tiny}' WHERE name = 'a'
      ) GROUP BY h)`;
    const config = localConfig({ streams: [queryStream('heavy', query)] });
    const cli = startCli(readArgs(config, catalogOf('heavy')), {}, 300);
    const { code, messages } = await finished(cli);
    console.log(`memory bound, 5M-row sort + group-by under 1GB: peak RSS of the CLI's process tree ${(cli.peakTreeRss() / MiB).toFixed(0)} MiB`);
    expect(code, cli.stderr().slice(-1000)).toBe(0);
    expect(messages.filter((message) => message.type === 'RECORD').map((message) => message.record.data)).toEqual([{ groups: 5_000_000, rows: 5_000_000, last: 5_000_000 }]);
  });
});

describe('staging of query streams', () => {
  const faults = useFaultProxy();

  it("frees a stream's staged objects as soon as it ends, not when the command does", async () => {
    const first = 'bounds/disk-first.csv';
    const second = `bounds/disk-second-${Date.now()}.csv`;
    // ~30 MB: plain rows, so the first stream's query can count them.
    const rows = 1_000_000;
    await putObject(client, first, `id,text\n${Array.from({ length: rows }, (_, index) => `${index},${'p'.repeat(20)}`).join('\n')}\n`);
    await putObject(client, second, 'id\n1\n');
    const staging = mkdtempSync(join(tmpdir(), 'source-s3-bounds-staging-'));
    try {
      const stall = faults.proxy().inject({ get: second }, { kind: 'stall' });
      const config = localConfig({
        endpoint: faults.endpoint(),
        streams: [
          queryStream('first', `SELECT count(*) AS n FROM '${BUCKET_URL}/${first}'`),
          queryStream('second', `SELECT * FROM '${BUCKET_URL}/${second}'`),
          queryStream('third', `SELECT * FROM '${tiny}'`),
        ],
      });
      const cli = startCli(readArgs(config, catalogOf('first', 'second', 'third')), { SOURCE_S3_STAGING_DIR: staging }, 120);
      await waitFor(() => stall.hits === 1, "the second stream's download to start");
      // The first stream's records are out, and while the second stream waits for its object, the first one's is gone.
      expect(protocolMessages(cli.stdout()).filter((message) => message.type === 'RECORD').map((message) => message.record.data)).toEqual([{ n: rows }]);
      const staged = filesBelow(staging);
      expect(staged.filter((file) => file.path.endsWith(first) || file.size > MiB)).toEqual([]);
      cli.child.kill('SIGTERM');
      const { code, messages } = await finished(cli);
      expect(code).toBe(143);
      expect(statusesOf(messages, 'second').at(-1)).toBe('INCOMPLETE');
      expect(filesBelow(staging)).toEqual([]);
    } finally {
      faults.proxy().clearFaults();
      rmSync(staging, { recursive: true, force: true });
    }
  });

  it('refuses a query over more objects than SOURCE_S3_QUERY_MAX_OBJECTS, and a query text past 100,000 characters, before fetching anything', async () => {
    const before = faults.proxy().log.length;
    const config = localConfig({
      endpoint: faults.endpoint(),
      streams: [
        queryStream('many', `SELECT count(*) AS n FROM '${BUCKET_URL}/bounds/many-json/*.jsonl'`),
        queryStream('long', `SELECT ${Array(50_001).fill('1').join(',')} FROM '${tiny}'`),
      ],
    });
    const cli = startCli(['discover', '--config', writeTempFile('config.json', config)], { SOURCE_S3_QUERY_MAX_OBJECTS: '10' }, 60);
    const { code, messages } = await finished(cli);
    expect(code).toBe(1);
    const [error] = errorsOf(messages);
    expect(error?.message).toMatch(
      /^Stream "(many": the model query references more than 10 objects, the most a query may stage \(SOURCE_S3_QUERY_MAX_OBJECTS\)|long": the model query is 100,0\d\d characters long, more than the 100,000 a model query may be)/,
    );
    const check = startCli(['check', '--config', writeTempFile('config.json', config)], { SOURCE_S3_QUERY_MAX_OBJECTS: '10' }, 60);
    const checked = await finished(check);
    const status = checked.messages.find((message) => message.type === 'CONNECTION_STATUS')!.connectionStatus;
    expect(status.status).toBe('FAILED');
    expect(status.message).toContain('Stream "many": the model query references more than 10 objects');
    expect(status.message).toContain('Stream "long": the model query is 100,0');
    expect(faults.proxy().log.slice(before).filter((entry) => entry.method === 'GET' && !entry.path.endsWith('/')).filter((entry) => /many-json|tiny/.test(entry.path))).toEqual([]);
  });

  it.each(['check', 'discover'])('%s refuses a .zst object past SOURCE_S3_QUERY_MAX_BYTES before fetching it', async (command) => {
    const before = faults.proxy().log.length;
    const config = localConfig({
      endpoint: faults.endpoint(),
      streams: [queryStream('sampled', `SELECT * FROM '${BUCKET_URL}/bounds/sized.csv'`), queryStream('whole', `SELECT * FROM '${BUCKET_URL}/bounds/sized.csv.zst'`)],
    });
    // A plain CSV is sampled (64 KiB counted, under the limit); a .zst object can only be staged whole (~400 KB, over it).
    const cli = startCli([command, '--config', writeTempFile('config.json', config)], { SOURCE_S3_QUERY_MAX_BYTES: '200000', SOURCE_S3_SAMPLE_BYTES: '65536' }, 60);
    const { code, messages } = await finished(cli);
    const expected = /^Stream "whole": the model query references [\d.]+ KiB of samples \(\.zst objects and objects of no known format are staged whole\), more than the 195\.3 KiB a query may stage \(SOURCE_S3_QUERY_MAX_BYTES\)/;
    if (command === 'check') {
      expect(code).toBe(0);
      expect(messages).toEqual([expect.objectContaining({ connectionStatus: { status: 'FAILED', message: expect.stringMatching(expected) } })]);
    } else {
      expect(code).toBe(1);
      expect(errorsOf(messages)).toEqual([expect.objectContaining({ failure_type: 'config_error', message: expect.stringMatching(expected) })]);
    }
    const gets = faults.proxy().log.slice(before).filter((entry) => entry.method === 'GET' && /\/bounds\/sized\.csv(\.zst)?$/.test(entry.path));
    // The .zst object was never fetched. check samples the plain CSV first (streams in order); discover
    // runs its streams at once and stops at the first failure, maybe before that sample was fetched.
    const fetched = gets.map((entry) => entry.path.split('/').at(-1));
    expect(fetched.filter((name) => name === 'sized.csv.zst')).toEqual([]);
    if (command === 'check') expect(fetched).toEqual(['sized.csv']);
  });
});
