import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cleanEnv, localConfig, writeTempFile, type AirbyteMessageLike } from '../support/cli.js';
import { descendants, isAlive, protocolMessages, startCli, waitFor as waitUntil, type RunningCli } from '../support/process-tree.js';
import { useFaultProxy } from '../support/proxy-hooks.js';
import { putObject, testClient } from '../support/s3-client.js';

let blackHole: Server;
let blackHoleEndpoint: string;
const sockets: Socket[] = [];

beforeAll(async () => {
  // Accepts connections and never answers: the CLI waits on it until it is signalled.
  blackHole = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
  const address = blackHole.address();
  blackHoleEndpoint = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
});
afterAll(() => {
  for (const socket of sockets) socket.destroy();
  blackHole.close();
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('a read cancelled while records flow', () => {
  it('stops at a line boundary, marks the stream INCOMPLETE, and exits promptly', async () => {
    const client = testClient();
    const key = `signals/${Date.now()}.csv`;
    await putObject(client, key, `id,name\n${Array.from({ length: 400_000 }, (_, index) => `${index},name-${index}`).join('\n')}\n`);
    client.destroy();
    const config = localConfig({ streams: [{ name: 'big', globs: [key], format: { filetype: 'csv' } }] });
    const catalog = { streams: [{ stream: { name: 'big', json_schema: { type: 'object', properties: {} }, supported_sync_modes: ['full_refresh'] }, sync_mode: 'full_refresh', destination_sync_mode: 'overwrite' }] };
    const stagingParent = mkdtempSync(join(tmpdir(), 'source-s3-signal-'));
    const child = spawn(process.execPath, [CLI, 'read', '--config', writeTempFile('config.json', config), '--catalog', writeTempFile('catalog.json', catalog)], {
      env: cleanEnv({ SOURCE_S3_STAGING_DIR: stagingParent }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let signalled = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (!signalled && stdout.split('"type":"RECORD"').length > 2000) {
        signalled = true;
        child.kill('SIGTERM');
      }
    });
    const started = Date.now();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(signalled).toBe(true);
    expect(code).toBe(143);
    expect(Date.now() - started).toBeLessThan(30_000);
    const lines = stdout.split('\n');
    expect(lines.pop()).toBe('');
    const messages = lines.map((line) => JSON.parse(line));
    const records = messages.filter((message) => message.type === 'RECORD').length;
    expect(records).toBeGreaterThan(2000);
    expect(records).toBeLessThan(400_000);
    expect(messages.slice(-2)).toEqual([
      expect.objectContaining({ type: 'TRACE', trace: expect.objectContaining({ stream_status: expect.objectContaining({ status: 'INCOMPLETE' }) }) }),
      expect.objectContaining({ type: 'TRACE', trace: expect.objectContaining({ error: expect.objectContaining({ message: 'Interrupted by SIGTERM before finishing; run the command again.' }) }) }),
    ]);
    expect(readdirSync(stagingParent)).toEqual([]);
    rmSync(stagingParent, { recursive: true, force: true });
  });
});

describe('a cancelled command', () => {
  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('on %s says so on stdout, removes its staging directory and exits %i', async (signal, exitCode) => {
    const stagingParent = mkdtempSync(join(tmpdir(), 'source-s3-signal-'));
    const child = spawn(process.execPath, [CLI, 'discover', '--config', writeTempFile('config.json', localConfig({ endpoint: blackHoleEndpoint }))], {
      env: cleanEnv({ SOURCE_S3_STAGING_DIR: stagingParent }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await waitFor(() => readdirSync(stagingParent).length > 0 && sockets.length > 0, 20_000);
    child.kill(signal);
    expect(await exited).toBe(exitCode);
    const messages = stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(messages).toEqual([
      expect.objectContaining({ type: 'TRACE', trace: expect.objectContaining({ error: expect.objectContaining({ failure_type: 'transient_error', message: `Interrupted by ${signal} before finishing; run the command again.` }) }) }),
    ]);
    expect(readdirSync(stagingParent)).toEqual([]);
    rmSync(stagingParent, { recursive: true, force: true });
  });
});

describe('every command stops within seconds, whatever it waits on', () => {
  const faults = useFaultProxy();
  const BUCKET_URL = 's3://source-s3-test';
  const TINY = 'signals/tiny.csv';
  const STALLED = 'signals/stalled.csv';
  const BIG = 'signals/big.csv';
  /** Runs until stopped: DuckDB would count to 10^12 (it checks for interrupts between vectors). */
  const ENDLESS = `SELECT count(*) AS n FROM range(1000000000000) t(i), '${BUCKET_URL}/${TINY}'`;
  /** One scalar call DuckDB cannot interrupt (minutes of edit distance), made when the query is bound: check and discover are busy in it too. */
  const UNINTERRUPTIBLE = `SELECT * FROM '${BUCKET_URL}/${TINY}', range(levenshtein(repeat('a', 300000), repeat('b', 300000)) * 0)`;
  /** Seconds a command may take to exit after the signal: the work it interrupts would take minutes. */
  const PROMPT_MS = 15_000;

  beforeAll(async () => {
    const client = testClient();
    await putObject(client, TINY, 'id,name\n1,a\n2,b\n');
    await putObject(client, STALLED, 'id,name\n1,a\n');
    await putObject(client, BIG, `id,name\n${Array.from({ length: 400_000 }, (_, index) => `${index},name-${index}`).join('\n')}\n`);
    client.destroy();
  });

  const catalogOf = (name: string) => ({
    streams: [{ stream: { name, json_schema: { type: 'object', properties: {} }, supported_sync_modes: ['full_refresh'] }, sync_mode: 'full_refresh', destination_sync_mode: 'overwrite' }],
  });
  const argsFor = (command: string, config: Record<string, unknown>, stream: string, sql: string) => {
    if (command === 'query') return ['query', '--config', writeTempFile('config.json', config), '--sql', sql];
    const args = [command, '--config', writeTempFile('config.json', config)];
    return command === 'read' ? [...args, '--catalog', writeTempFile('catalog.json', catalogOf(stream))] : args;
  };

  /** Signals the CLI once `ready` holds, and checks it exited promptly, with only protocol on stdout and no process left behind. */
  async function interrupt(cli: RunningCli, signal: 'SIGTERM' | 'SIGINT', ready: () => boolean): Promise<AirbyteMessageLike[]> {
    await waitUntil(ready, 'the command to be busy');
    const signalled = Date.now();
    cli.child.kill(signal);
    const code = await cli.exited;
    expect(Date.now() - signalled).toBeLessThan(PROMPT_MS);
    expect(code).toBe(signal === 'SIGTERM' ? 143 : 130);
    await waitUntil(() => [...cli.workersSeen].every((pid) => !isAlive(pid)), 'the query workers to exit', 5_000);
    expect(descendants(cli.pid)).toEqual([]);
    return protocolMessages(cli.stdout());
  }

  const interruptedTrace = (signal: string) =>
    expect.objectContaining({ type: 'TRACE', trace: expect.objectContaining({ error: expect.objectContaining({ failure_type: 'transient_error', message: `Interrupted by ${signal} before finishing; run the command again.` }) }) });
  const incomplete = (stream: string) =>
    expect.objectContaining({ type: 'TRACE', trace: expect.objectContaining({ stream_status: expect.objectContaining({ stream_descriptor: { name: stream }, status: 'INCOMPLETE' }) }) });

  describe.each(['SIGTERM', 'SIGINT'] as const)('on %s', (signal) => {
    it.each([
      ['check', UNINTERRUPTIBLE],
      ['discover', UNINTERRUPTIBLE],
      ['read', ENDLESS],
      ['read', `SELECT levenshtein(repeat('a', 300000), repeat('b', 300000) || id) AS d FROM '${BUCKET_URL}/${TINY}'`],
      ['query', ENDLESS],
      ['query', UNINTERRUPTIBLE],
    ])('%s with a model query busy in DuckDB: %s', async (command, sql) => {
      const cli = startCli(argsFor(command, localConfig({ streams: [{ name: 'busy', query: sql }] }), 'busy', sql), {}, 120);
      // Busy: its worker has run for a second (the query's work starts as soon as the worker has it).
      let since: number | undefined;
      const messages = await interrupt(cli, signal, () => {
        if (since === undefined && cli.workersSeen.size > 0) since = Date.now();
        return since !== undefined && Date.now() - since > 1000;
      });
      if (command === 'query') {
        expect(cli.stdout()).toBe('');
        expect(cli.stderr()).toContain(`source-s3 query: Interrupted by ${signal} before finishing; run the command again.`);
      } else if (command === 'read') {
        expect(messages.slice(-2)).toEqual([incomplete('busy'), interruptedTrace(signal)]);
      } else {
        expect(messages).toEqual([interruptedTrace(signal)]);
      }
    });

    it.each(['read', 'query'])('%s waiting on a stalled S3 download for a model query', async (command) => {
      const stall = faults.proxy().inject({ get: STALLED }, { kind: 'stall', afterBytes: 4 });
      try {
        const sql = `SELECT * FROM '${BUCKET_URL}/${STALLED}'`;
        const cli = startCli(argsFor(command, localConfig({ endpoint: faults.endpoint(), streams: [{ name: 'stalled', query: sql }] }), 'stalled', sql), { SOURCE_S3_IDLE_TIMEOUT_SECONDS: '600' }, 120);
        const messages = await interrupt(cli, signal, () => stall.hits > 0);
        if (command === 'read') expect(messages.slice(-2)).toEqual([incomplete('stalled'), interruptedTrace(signal)]);
        else expect(cli.stdout()).toBe('');
      } finally {
        faults.proxy().clearFaults();
      }
    });

    it('read of a file stream waiting on a stalled S3 download', async () => {
      const stall = faults.proxy().inject({ get: STALLED, download: true }, { kind: 'stall', afterBytes: 4 });
      try {
        const config = localConfig({ endpoint: faults.endpoint(), streams: [{ name: 'stalled', globs: [STALLED], format: { filetype: 'csv' } }] });
        const cli = startCli(argsFor('read', config, 'stalled', ''), { SOURCE_S3_IDLE_TIMEOUT_SECONDS: '600' }, 120);
        const messages = await interrupt(cli, signal, () => stall.hits > 0);
        expect(messages.slice(-2)).toEqual([incomplete('stalled'), interruptedTrace(signal)]);
      } finally {
        faults.proxy().clearFaults();
      }
    });

    it("read of a file stream while the main engine's DuckDB export runs", async () => {
      const config = localConfig({ streams: [{ name: 'big', globs: [BIG], format: { filetype: 'csv' } }] });
      const cli = startCli(argsFor('read', config, 'big', ''), {}, 120);
      const messages = await interrupt(cli, signal, () => cli.stdout().includes('"type":"RECORD"'));
      expect(messages.filter((message) => message.type === 'RECORD').length).toBeLessThan(400_000);
      expect(messages.slice(-2)).toEqual([incomplete('big'), interruptedTrace(signal)]);
    });
  });

  it('a query worker does not outlive a CLI killed with SIGKILL', async () => {
    const cli = startCli(argsFor('read', localConfig({ streams: [{ name: 'busy', query: UNINTERRUPTIBLE }] }), 'busy', ''), {}, 120);
    await waitUntil(() => cli.workersSeen.size > 0, 'a query worker');
    const [worker] = cli.workersSeen;
    expect(isAlive(worker!)).toBe(true);
    cli.child.kill('SIGKILL');
    await cli.exited;
    await waitUntil(() => !isAlive(worker!), 'the orphaned worker to exit', 5_000);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('a read whose stdout reader stopped reading ends at once on %s', async (signal) => {
    // Far more records than a pipe holds: the CLI soon waits on its stdout, whose reader is paused.
    const query = `SELECT i, repeat('x', 100) AS pad FROM range(2000000) t(i), '${BUCKET_URL}/${TINY}'`;
    const child = spawn(process.execPath, [CLI, ...argsFor('read', localConfig({ streams: [{ name: 'flood', query }] }), 'flood', '')], {
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pause();
    // Our side stops reading the pipe once its buffer is full; when that buffer has not grown for four
    // seconds, the pipe is full too and the CLI has waited inside a write for more than its 2 s.
    let unchanged = 0;
    let seen = -1;
    await waitUntil(() => {
      const length = child.stdout.readableLength;
      unchanged = length > 0 && length === seen ? unchanged + 1 : 0;
      seen = length;
      return unchanged >= 80;
    }, 'stdout to back up', 60_000);
    const workers = descendants(child.pid!);
    child.kill(signal);
    const ended = await Promise.race([new Promise<string>((resolve) => child.on('exit', (code, how) => resolve(`${code}/${how}`))), new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 15_000))]);
    if (ended === 'still running') child.kill('SIGKILL');
    // Nothing can be said on a stdout nobody reads: the signal's default action ends the process.
    expect(ended).toBe(`null/${signal}`);
    for (const worker of workers) await waitUntil(() => !isAlive(worker), 'the worker to exit with its CLI', 5_000);
  });
});
