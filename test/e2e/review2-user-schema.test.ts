import { describe, expect, it } from 'vitest';
import { check } from '../support/cli.js';
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

describe('input_schema written by an attacker or a careless hand', () => {
  it('a column named __proto__ (or constructor) in the simple mapping is a column like any other, not dropped', async () => {
    const folder = prefix('proto');
    await putObject(client, `${folder}a.jsonl`, '{"__proto__": 1, "constructor": 2, "id": 3}\n');
    const schema = '{"__proto__": "integer", "constructor": "integer", "id": "integer"}';
    const config = configWith([{ name: 'rows', globs: [`${folder}*.jsonl`], format: { filetype: 'jsonl' }, input_schema: schema }]);
    const [stream] = await discoverStreams(config);
    expect(Object.keys(stream!.json_schema.properties)).toEqual(['__proto__', 'constructor', 'id', '_ab_source_file_url', '_ab_source_file_last_modified']);
    const result = await read(config, configuredCatalog([stream!], { sync_mode: 'full_refresh' }));
    expect(result.code, result.stderr).toBe(0);
    expect(records(result.stdout)[0]).toContain('"data":{"__proto__":1,"constructor":2,"id":3,');
  });

  it('a schema nested 100,000 levels deep is a config error naming the stream and column, not a crash', async () => {
    const deep = `{"type":"object","properties":{"a":${'{"type":"array","items":'.repeat(100_000)}{"type":"integer"}${'}'.repeat(100_000)}}}`;
    const { status, message } = await check(configWith([{ name: 'deep', globs: ['x/*.csv'], format: { filetype: 'csv' }, input_schema: deep }]));
    expect(status).toBe('FAILED');
    expect(message).toContain('streams[0].input_schema (stream "deep") nests the items of column "a" more than 32 levels deep');
  });

  it('two names that are the same once trimmed are refused, naming the column', async () => {
    const { status, message } = await check(configWith([{ name: 'twice', globs: ['x/*.csv'], format: { filetype: 'csv' }, input_schema: '{"id": "integer", " id ": "string"}' }]));
    expect(status).toBe('FAILED');
    expect(message).toContain('streams[0].input_schema (stream "twice") names column "id" twice');
  });
});

describe('input_schema on CSV headers differing only in case', () => {
  it('"ID,id" with both in input_schema fails naming the file and columns, instead of a silent null for id', async () => {
    const folder = prefix('case');
    await putObject(client, `${folder}a.csv`, 'ID,id,Name\n7,8,x\n');
    const config = configWith([{ name: 'cased', globs: [`${folder}*.csv`], format: { filetype: 'csv' }, input_schema: '{"ID": "integer", "id": "integer", "Name": "string"}' }]);
    const result = await read(config, configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' }));
    expect(result.code).toBe(1);
    const error = result.messages.find((message) => message.type === 'TRACE' && message.trace.type === 'ERROR')?.trace.error;
    expect(error.message).toContain(`${folder}a.csv has columns that differ only in case ("ID" and "id")`);
    expect(result.records.filter((record) => record.data.id === null)).toHaveLength(0);
  });
});
