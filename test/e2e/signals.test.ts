import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cleanEnv, localConfig, writeTempFile } from '../support/cli.js';
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
