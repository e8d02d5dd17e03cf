import { describe, expect, it } from 'vitest';
import { putObject, testClient } from '../support/s3-client.js';
import { configuredCatalog, configWith, discoverStreams, read } from '../support/read.js';

// Schemaless JSON Lines as exporters write them: integers past BIGINT (ids, account numbers), keys whose
// type drifts after DuckDB's sample, through the CLI against the local S3 server.
const client = testClient();
const prefix = (name: string) => `review2-schema/${name}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}/`;
const records = (stdout: string) => stdout.split('\n').filter((line) => line.startsWith('{"type":"RECORD"'));

async function readSchemaless(folder: string) {
  const config = configWith([{ name: 'rows', globs: [`${folder}*.jsonl`], format: { filetype: 'jsonl' }, schemaless: true }]);
  return read(config, configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' }));
}

describe('schemaless JSON Lines', () => {
  it('an integer too long for BIGINT is emitted with the digits the file has, not as the nearest double', async () => {
    const folder = prefix('big');
    await putObject(client, `${folder}a.jsonl`, '{"id": 12345678901234567890123, "n": 1}\n{"id": -98765432109876543210, "n": 2}\n');
    const result = await readSchemaless(folder);
    expect(result.code, result.stderr).toBe(0);
    // The raw lines: JSON.parse would round them itself.
    const lines = records(result.stdout);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('"data":{"id":12345678901234567890123,"n":1}');
    expect(lines[1]).toContain('"data":{"id":-98765432109876543210,"n":2}');
  });

  it('a key whose values turn from numbers to text past the first 30,000 lines keeps every value as written', async () => {
    const folder = prefix('drift');
    const lines = Array.from({ length: 30_000 }, (_, index) => JSON.stringify({ id: index, code: index }));
    lines.push(JSON.stringify({ id: 30_000, code: 'A-17' }), JSON.stringify({ id: 30_001, code: { nested: [1, 2] }, extra: true }));
    await putObject(client, `${folder}a.jsonl`, `${lines.join('\n')}\n`);
    const result = await readSchemaless(folder);
    expect(result.code, result.stderr).toBe(0);
    expect(result.records).toHaveLength(30_002);
    expect(result.records.at(-2)!.data.data).toEqual({ id: 30_000, code: 'A-17' });
    expect(result.records.at(-1)!.data.data).toEqual({ id: 30_001, code: { nested: [1, 2] }, extra: true });
  });

  it('a line that is not an object fails the read naming the file', async () => {
    const folder = prefix('array');
    await putObject(client, `${folder}a.jsonl`, '{"id": 1}\n[1, 2]\n');
    const result = await readSchemaless(folder);
    expect(result.code).toBe(1);
    const error = result.messages.find((message) => message.type === 'TRACE' && message.trace.type === 'ERROR')?.trace.error;
    expect(error.message).toContain(`${folder}a.jsonl has a line that is not a JSON object`);
  });
});
