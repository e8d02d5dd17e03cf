import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check, CLI, localConfig, onlyMessage, runCli, runConnectorProcess, writeTempFile } from '../support/cli.js';
import { BUCKET } from '../support/constants.js';
import { useFaultProxy } from '../support/proxy-hooks.js';
import { configuredCatalog, discoverStreams, expectRecordsValid, lastStates, read, type Schema } from '../support/read.js';
import { putObject, testClient } from '../support/s3-client.js';

/**
 * Raw-file transfer (delivery_method use_file_transfer) through the real CLI against the local S3
 * server: objects are copied byte for byte into AIRBYTE_STAGING_DIRECTORY, one record each.
 */

const RUN = `transfer-${Date.now()}`;
const work = mkdtempSync(join(tmpdir(), 'file-transfer-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const FILE_TRANSFER = { delivery_type: 'use_file_transfer' };
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A fresh staging directory for one read. */
function stagingDir(): string {
  return mkdtempSync(join(work, 'staging-'));
}

/** Every regular file below `dir`, as paths relative to it. */
function filesBelow(dir: string): string[] {
  const found: string[] = [];
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else found.push(relative(dir, path));
    }
  };
  walk(dir);
  return found.sort();
}

/** A config copying the files under `path` with one stream over `globs`. */
function transferConfig(path: string, delivery: Record<string, unknown> = FILE_TRANSFER, globs = ['**']): Record<string, unknown> {
  return localConfig({ path, delivery_method: delivery, streams: [{ name: 'files', globs }] });
}

async function readFiles(config: Record<string, unknown>, staging: string, state?: unknown, catalogChange: (catalog: Schema) => void = () => {}) {
  const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'incremental', cursor_field: ['_ab_source_file_last_modified'] });
  catalogChange(catalog);
  const result = await read(config, catalog, state, { AIRBYTE_STAGING_DIRECTORY: staging });
  return { ...result, catalog };
}

const errorsOf = (messages: Schema[]) => messages.filter((message) => message.type === 'TRACE' && message.trace.type === 'ERROR').map((message) => message.trace.error);

describe('spec', () => {
  it('has delivery_method (order 9) as Airbyte has it: records by default, or raw files with preserve_directory_structure defaulting to true', async () => {
    const result = await runCli(['spec']);
    const property = onlyMessage(result, 'SPEC').spec.connectionSpecification.properties.delivery_method;
    expect(property.order).toBe(9);
    expect(property.default).toEqual({ delivery_type: 'use_records_transfer' });
    expect(property.oneOf.map((option: Schema) => option.properties.delivery_type.const)).toEqual(['use_records_transfer', 'use_file_transfer']);
    expect(property.oneOf[1].properties.preserve_directory_structure).toMatchObject({ type: 'boolean', default: true });
  });

  it('an unknown delivery_type is refused, naming the field', async () => {
    const { status, message } = await check(localConfig({ delivery_method: { delivery_type: 'use_magic' } }));
    expect(status).toBe('FAILED');
    expect(message).toContain('delivery_method');
  });
});

describe('copying files', () => {
  const prefix = `${RUN}/tree/`;
  const contents = new Map<string, Buffer>([
    ['top.bin', randomBytes(70_000)],
    ['reports/2024/q1.pdf', Buffer.concat([Buffer.from('%PDF-1.7\r\n'), randomBytes(5000), Buffer.from('\r\n%%EOF')])],
    ['reports/2024/empty.csv', Buffer.alloc(0)],
    // Not CSV at all: with file transfer nothing is parsed, so it copies like any other file.
    ['reports/not-really.csv', Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x0d, 0x0a, 0x22, 0x22, 0x2c])],
  ]);
  beforeAll(async () => {
    const client = testClient();
    for (const [key, body] of contents) await putObject(client, `${prefix}${key}`, body);
    client.destroy();
  });

  it('discover: the stream is file based, with the file record schema, and no file is parsed', async () => {
    const [stream] = await discoverStreams(localConfig({ path: prefix, delivery_method: FILE_TRANSFER, streams: [{ name: 'files', globs: ['**'], format: { filetype: 'csv' } }] }));
    expect(stream!.is_file_based).toBe(true);
    expect(Object.keys(stream!.json_schema.properties)).toEqual(
      expect.arrayContaining(['folder', 'file_name', 'source_uri', 'bytes', 'updated_at', '_ab_source_file_url', '_ab_source_file_last_modified']),
    );
    expect(stream!.default_cursor_field).toEqual(['_ab_source_file_last_modified']);
  });

  it('check: lists the files without parsing them', async () => {
    const { status, message } = await check(transferConfig(prefix));
    expect(status).toBe('SUCCEEDED');
    expect(message).toContain('files are copied, not parsed');
  });

  it('read (preserve_directory_structure true): each file byte for byte under its path below the path prefix, one record each', async () => {
    const staging = stagingDir();
    const { code, stderr, records, catalog, messages } = await readFiles(transferConfig(prefix), staging);
    expect(code, stderr).toBe(0);
    expect(records).toHaveLength(contents.size);
    expectRecordsValid(records, catalog);
    const realStaging = realpathSync(staging);
    for (const record of records) {
      const key = record.data.source_uri.slice(`s3://${BUCKET}/${prefix}`.length);
      const reference = record.file_reference;
      expect(reference.source_file_relative_path).toBe(key);
      expect(reference.file_size_bytes).toBe(contents.get(key)!.length);
      expect(reference.staging_file_url.startsWith(`${realStaging}${sep}`)).toBe(true);
      expect(reference.staging_file_url.endsWith(`${sep}${key}`)).toBe(true);
      expect(sha256(readFileSync(reference.staging_file_url))).toBe(sha256(contents.get(key)!));
      expect(statSync(reference.staging_file_url).mode & 0o777).toBe(0o644);
      expect(record.data).toMatchObject({ file_name: key.split('/').pop(), folder: key.includes('/') ? key.slice(0, key.lastIndexOf('/')) : '', bytes: contents.get(key)!.length });
    }
    // Only the copies, no temporary files left behind.
    expect(filesBelow(staging)).toHaveLength(contents.size);
    expect(filesBelow(staging).some((path) => path.includes('.partial'))).toBe(false);
    const statuses = messages.filter((message) => message.type === 'TRACE' && message.trace.type === 'STREAM_STATUS').map((message) => message.trace.stream_status.status);
    expect(statuses).toEqual(['STARTED', 'RUNNING', 'COMPLETE']);
    const estimate = messages.find((message) => message.type === 'TRACE' && message.trace.type === 'ESTIMATE')!.trace.estimate;
    expect(estimate.byte_estimate).toBe([...contents.values()].reduce((total, body) => total + body.length, 0));
  });

  it('read (preserve_directory_structure false): file names only', async () => {
    const staging = stagingDir();
    const config = transferConfig(prefix, { ...FILE_TRANSFER, preserve_directory_structure: false }, ['reports/**']);
    const { code, stderr, records } = await readFiles(config, staging);
    expect(code, stderr).toBe(0);
    expect(records.map((record) => record.file_reference.source_file_relative_path).sort()).toEqual(['empty.csv', 'not-really.csv', 'q1.pdf']);
    for (const record of records) expect(record.file_reference.staging_file_url.endsWith(`${sep}${record.data.file_name}`)).toBe(true);
  });

  it('include_files false in the catalog: the records without file_reference, nothing copied', async () => {
    const staging = stagingDir();
    const { code, stderr, records } = await readFiles(transferConfig(prefix), staging, undefined, (catalog) => {
      for (const stream of catalog.streams) stream.include_files = false;
    });
    expect(code, stderr).toBe(0);
    expect(records).toHaveLength(contents.size);
    expect(records.every((record) => record.file_reference === undefined)).toBe(true);
    expect(filesBelow(staging)).toEqual([]);
  });
});

describe('two files with one name, directories not preserved', () => {
  const prefix = `${RUN}/dupes/`;
  beforeAll(async () => {
    const client = testClient();
    await putObject(client, `${prefix}a/data.json`, '{"a":1}');
    await putObject(client, `${prefix}b/data.json`, '{"b":2}');
    client.destroy();
  });

  it('fail the stream with a config_error naming both objects, before anything is copied', async () => {
    const staging = stagingDir();
    const { code, messages, records } = await readFiles(transferConfig(prefix, { ...FILE_TRANSFER, preserve_directory_structure: false }), staging);
    expect(code).toBe(1);
    const [error] = errorsOf(messages);
    expect(error.failure_type).toBe('config_error');
    expect(error.message).toContain(`s3://${BUCKET}/${prefix}a/data.json`);
    expect(error.message).toContain(`s3://${BUCKET}/${prefix}b/data.json`);
    expect(error.message).toContain('preserve_directory_structure');
    expect(records).toEqual([]);
    expect(filesBelow(staging)).toEqual([]);
  });

  it('are copied side by side when directories are preserved', async () => {
    const staging = stagingDir();
    const { code, stderr, records } = await readFiles(transferConfig(prefix), staging);
    expect(code, stderr).toBe(0);
    expect(records.map((record) => record.file_reference.source_file_relative_path).sort()).toEqual(['a/data.json', 'b/data.json']);
  });
});

describe('keys written by an attacker', () => {
  const prefix = `${RUN}/attack/`;
  // What the local server can store (it keeps objects as files named by their key, so `..`, `.`,
  // empty segments and names over ~240 bytes cannot reach it): those are covered by
  // test/unit/file-transfer-paths.test.ts.
  const keys = ['..\\..\\escape-3.txt', 'line\nbreak.txt', 'tab\there/..\\up.txt', `${'ü'.repeat(110)}.txt`];
  beforeAll(async () => {
    const client = testClient();
    for (const [index, key] of keys.entries()) await putObject(client, `${prefix}${key}`, `payload ${index}`);
    client.destroy();
  });

  it('never write outside the staging directory, and report paths without a step up', async () => {
    const parent = mkdtempSync(join(work, 'parent-'));
    const staging = join(parent, 'staging');
    mkdirSync(staging);
    mkdtempSync(join(parent, 'x'));
    const { code, stderr, records } = await readFiles(transferConfig(prefix), staging);
    expect(code, stderr).toBe(0);
    expect(records).toHaveLength(keys.length);
    // Nothing next to the staging directory but what the test made.
    expect(readdirSync(parent).sort()).toEqual(['staging', expect.stringMatching(/^x/)]);
    const realStaging = realpathSync(staging);
    for (const record of records) {
      const { staging_file_url: url, source_file_relative_path: path } = record.file_reference;
      expect(realpathSync(url).startsWith(`${realStaging}${sep}`)).toBe(true);
      expect(path.split('/')).not.toContain('..');
      expect(path).not.toMatch(/[\\\n\0]/);
      expect(path.split('/').every((segment: string) => Buffer.byteLength(segment) <= 255)).toBe(true);
      expect(lstatSync(url).isFile()).toBe(true);
      const index = keys.indexOf(record.data.source_uri.slice(`s3://${BUCKET}/${prefix}`.length));
      expect(readFileSync(url, 'utf8')).toBe(`payload ${index}`);
    }
    const byKey = Object.fromEntries(records.map((record) => [record.data.source_uri.slice(`s3://${BUCKET}/${prefix}`.length), record.file_reference.source_file_relative_path]));
    expect(byKey['..\\..\\escape-3.txt']).toBe('..%5C..%5Cescape-3.txt');
    expect(byKey['line\nbreak.txt']).toBe('line%0Abreak.txt');
    expect(byKey['tab\there/..\\up.txt']).toBe('tab%09here/..%5Cup.txt');
    // 224 bytes of name: kept whole.
    expect(byKey[`${'ü'.repeat(110)}.txt`]).toBe(`${'ü'.repeat(110)}.txt`);
  });
});

describe('the staging directory', () => {
  const prefix = `${RUN}/staging/`;
  beforeAll(async () => {
    const client = testClient();
    await putObject(client, `${prefix}one.txt`, 'one');
    client.destroy();
  });

  it('missing: a system_error naming AIRBYTE_STAGING_DIRECTORY, before any record', async () => {
    const missing = join(work, 'no-such-dir');
    const { code, messages, records } = await readFiles(transferConfig(prefix), missing);
    expect(code).toBe(1);
    const [error] = errorsOf(messages);
    expect(error.failure_type).toBe('system_error');
    expect(error.message).toContain(`AIRBYTE_STAGING_DIRECTORY (${missing}) does not exist`);
    expect(records).toEqual([]);
    expect(existsSync(missing)).toBe(false);
  });

  it('a file, not a directory: a system_error naming AIRBYTE_STAGING_DIRECTORY', async () => {
    const file = join(work, 'a-file');
    writeFileSync(file, 'x');
    const { code, messages } = await readFiles(transferConfig(prefix), file);
    expect(code).toBe(1);
    expect(errorsOf(messages)[0].message).toMatch(/^AIRBYTE_STAGING_DIRECTORY \(.*a-file\) is not a directory/);
  });

  it('read-only (a read-only mount, in a mount namespace of its own): a system_error naming AIRBYTE_STAGING_DIRECTORY', async () => {
    const staging = stagingDir();
    const config = transferConfig(prefix);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    const script = 'mount -t tmpfs -o ro,size=1m tmpfs "$1" && shift && exec "$@"';
    const args = ['read', '--config', writeTempFile('config.json', config), '--catalog', writeTempFile('catalog.json', catalog)];
    const { code, messages } = await runConnectorProcess('unshare', ['--mount', '--map-root-user', 'sh', '-c', script, 'sh', staging, process.execPath, CLI, ...args], {
      env: { AIRBYTE_STAGING_DIRECTORY: staging },
    });
    expect(code).toBe(1);
    expect(errorsOf(messages)[0].message).toContain(`AIRBYTE_STAGING_DIRECTORY (${staging}) is not writable`);
  });

  it('unset: the default /staging/files is named', async () => {
    const config = transferConfig(prefix);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    const result = await read(config, catalog, undefined, {});
    if (existsSync('/staging/files')) return expect(result.code).toBe(0);
    expect(errorsOf(result.messages)[0].message).toContain('AIRBYTE_STAGING_DIRECTORY (/staging/files, the default) does not exist');
  });
});

describe('a model query stream with file transfer', () => {
  it('is refused as a config error naming the stream', async () => {
    const config = localConfig({ delivery_method: FILE_TRANSFER, streams: [{ name: 'modelled', query: `SELECT * FROM 's3://${BUCKET}/x/*.csv'` }] });
    const { status, message } = await check(config);
    expect(status).toBe('FAILED');
    expect(message).toContain('streams[0] (modelled) is a model query');
    const result = await runCli(['discover', '--config', writeTempFile('config.json', config)]);
    expect(result.code).toBe(1);
    expect(errorsOf(result.messages)[0].failure_type).toBe('config_error');
  });
});

describe('incremental', () => {
  const prefix = `${RUN}/incremental/`;
  it('a second sync copies only new and changed files', async () => {
    const client = testClient();
    await putObject(client, `${prefix}a.txt`, 'a1');
    await putObject(client, `${prefix}b.txt`, 'b1');
    const config = transferConfig(prefix);
    const first = await readFiles(config, stagingDir());
    expect(first.code, first.stderr).toBe(0);
    expect(first.records).toHaveLength(2);

    const unchanged = stagingDir();
    const second = await readFiles(config, unchanged, lastStates(first.messages));
    expect(second.code, second.stderr).toBe(0);
    expect(second.records).toEqual([]);
    expect(filesBelow(unchanged)).toEqual([]);

    await putObject(client, `${prefix}b.txt`, 'b2 rewritten');
    await putObject(client, `${prefix}c.txt`, 'c1');
    client.destroy();
    const changed = stagingDir();
    const third = await readFiles(config, changed, lastStates(second.messages));
    expect(third.code, third.stderr).toBe(0);
    expect(third.records.map((record) => record.file_reference.source_file_relative_path).sort()).toEqual(['b.txt', 'c.txt']);
    const b = third.records.find((record) => record.data.file_name === 'b.txt')!;
    expect(readFileSync(b.file_reference.staging_file_url, 'utf8')).toBe('b2 rewritten');
    expect(filesBelow(changed)).toHaveLength(2);
  });
});

describe('a body cut by the network', () => {
  const { proxy, endpoint } = useFaultProxy();
  const prefix = `${RUN}/cut/`;
  const bodies = { 'a.bin': randomBytes(300_000), 'b.bin': randomBytes(300_000), 'c.bin': randomBytes(300_000) };
  beforeAll(async () => {
    const client = testClient();
    for (const [name, body] of Object.entries(bodies)) await putObject(client, `${prefix}${name}`, body);
    client.destroy();
  });

  it('once: the copy resumes where it was cut and is whole', async () => {
    proxy().clearFaults();
    const rule = proxy().inject({ get: `${prefix}b.bin`, download: true }, { kind: 'cut', afterBytes: 100_000, contentLength: true });
    const staging = stagingDir();
    const { code, stderr, records } = await readFiles({ ...transferConfig(prefix), endpoint: endpoint() }, staging);
    expect(code, stderr).toBe(0);
    expect(rule.hits).toBe(1);
    const b = records.find((record) => record.data.file_name === 'b.bin')!;
    expect(sha256(readFileSync(b.file_reference.staging_file_url))).toBe(sha256(bodies['b.bin']));
  });

  it('every attempt: a transient_error naming the s3:// URL, no file under its name, the files before it synced', async () => {
    proxy().clearFaults();
    proxy().inject({ get: `${prefix}b.bin`, download: true }, { kind: 'cut', afterBytes: 100_000, contentLength: false }, 10);
    const staging = stagingDir();
    const { code, messages, records } = await readFiles({ ...transferConfig(prefix), endpoint: endpoint() }, staging);
    proxy().clearFaults();
    expect(code).toBe(1);
    const [error] = errorsOf(messages);
    expect(error.failure_type).toBe('transient_error');
    expect(error.message).toContain(`s3://${BUCKET}/${prefix}b.bin`);
    // Oldest first (same second: by key): a.bin was reported before the failure; b.bin never was, nor c.bin.
    expect(records.map((record) => record.data.file_name)).toEqual(['a.bin']);
    expect(filesBelow(staging).map((path) => path.split(sep).pop())).toEqual(['a.bin']);
    const [state] = lastStates(messages);
    const again = stagingDir();
    const resumed = await readFiles({ ...transferConfig(prefix), endpoint: endpoint() }, again, [state]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.records.map((record) => record.data.file_name).sort()).toEqual(['b.bin', 'c.bin']);
  });
});
