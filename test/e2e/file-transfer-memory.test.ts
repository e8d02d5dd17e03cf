import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cleanEnv, localConfig, writeTempFile } from '../support/cli.js';
import { BUCKET } from '../support/constants.js';
import { configuredCatalog, discoverStreams } from '../support/read.js';
import { testClient } from '../support/s3-client.js';

const MiB = 2 ** 20;
const SIZE = 320 * MiB;
const KEY = `transfer-memory-${Date.now()}/large.bin`;
const REPORT_RSS = join(import.meta.dirname, '..', '..', 'scripts', 'report-rss.mjs');

/** Random bytes, a chunk at a time (the test holds none of it whole either). */
function* chunks(): Generator<Buffer> {
  for (let made = 0; made < SIZE; made += MiB) yield randomBytes(MiB);
}

/**
 * A file larger than the connector's memory target is copied streamed: the copy's hash is the
 * upload's and the read's peak RSS stays far below the file's size.
 */
describe('copying a large file', () => {
  const staging = mkdtempSync(join(tmpdir(), 'file-transfer-memory-'));
  let expected = '';
  afterAll(() => rmSync(staging, { recursive: true, force: true }));
  beforeAll(async () => {
    const hash = createHash('sha256');
    const body = Readable.from(
      (function* () {
        for (const chunk of chunks()) {
          hash.update(chunk);
          yield chunk;
        }
      })(),
    );
    const client = testClient();
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: body, ContentLength: SIZE }));
    client.destroy();
    expected = hash.digest('hex');
  }, 300_000);

  it(`copies ${SIZE / MiB} MiB byte for byte with peak RSS under 200 MiB`, async () => {
    const config = localConfig({ delivery_method: { delivery_type: 'use_file_transfer' }, streams: [{ name: 'large', globs: [KEY] }] });
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    const child = spawn(process.execPath, ['--import', REPORT_RSS, CLI, 'read', '--config', writeTempFile('config.json', config), '--catalog', writeTempFile('catalog.json', catalog)], {
      env: cleanEnv({ AIRBYTE_STAGING_DIRECTORY: staging }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr.slice(-2000)).toBe(0);
    const records = stdout.split('\n').filter((line) => line.startsWith('{"type":"RECORD"')).map((line) => JSON.parse(line).record);
    expect(records).toHaveLength(1);
    const reference = records[0].file_reference;
    expect(reference.file_size_bytes).toBe(SIZE);
    const copied = createHash('sha256');
    for await (const chunk of createReadStream(reference.staging_file_url)) copied.update(chunk as Buffer);
    expect(copied.digest('hex')).toBe(expected);
    const peakKb = Number(/BENCH_MAX_RSS_KB=(\d+)/.exec(stderr)?.[1]);
    expect(peakKb).toBeGreaterThan(0);
    expect(peakKb * 1024, `peak RSS ${(peakKb / 1024).toFixed(0)} MiB`).toBeLessThan(200 * MiB);
    process.stderr.write(`file transfer of ${SIZE / MiB} MiB: peak RSS ${(peakKb / 1024).toFixed(0)} MiB\n`);
  }, 300_000);
});
