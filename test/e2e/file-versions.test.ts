import { randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { endpoint, writeTempFile } from '../support/cli.js';
import { BUCKET } from '../support/constants.js';
import { configuredCatalog, configWith, discoverStreams, lastStates, read, readUntilKilled, rememberedFiles, type ReadResult, type Schema } from '../support/read.js';
import { shortVersion } from '../../src/streams/state-encoding.js';
import { putObject, testClient } from '../support/s3-client.js';

/*
 * S3's LastModified has one-second resolution (s3rver's too: it stamps objects with the file's
 * mtime as an HTTP date), so a file rewritten within the second it was synced in has the time the
 * state remembers. These tests give the connector exactly that situation: the state of a real sync
 * with its history time moved to the rewritten object's LastModified. The connector must tell the
 * versions apart by the listing's ETag and size.
 */

const client = testClient();
afterAll(() => client.destroy());

const folder = (label: string) => `versions/${label}-${randomUUID().slice(0, 8)}/`;
const csv = (rows: string[][]) => `${rows.map((row) => row.join(',')).join('\n')}\n`;
const ids = (records: Schema[]) => records.map((record) => record.data.id as number);
const range = (from: number, count: number) => Array.from({ length: count }, (_, index) => from + index);
const FILE_CURSOR = '_ab_source_file_last_modified';

/** The object as the listing shows it (what the connector sees). */
async function listed(key: string): Promise<{ lastModified: string; etag: string; size: number }> {
  const page = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: key }));
  const entry = page.Contents?.find((content) => content.Key === key);
  if (entry === undefined) throw new Error(`${key} is not listed`);
  return { lastModified: entry.LastModified!.toISOString(), etag: entry.ETag!.replace(/"/g, ''), size: entry.Size! };
}

/** The stream's state blob of the last STATE a read printed. */
const blobOf = (result: ReadResult): Schema => lastStates(result.messages)[0]!.stream.stream_state;
const asInput = (name: string, blob: Schema) => [{ type: 'STREAM', stream: { stream_descriptor: { name }, stream_state: blob } }];

/** The error TRACE of a failed read. */
function errorOf(result: ReadResult): Schema {
  expect(result.code, result.stdout).toBe(1);
  expect(result.records).toEqual([]);
  const trace = result.messages.find((message) => message.type === 'TRACE' && message.trace.type === 'ERROR');
  expect(trace, result.stdout).toBeDefined();
  return trace!.trace.error;
}

async function fileStream(name: string, prefix: string, cursorField?: string) {
  const config = configWith([{ name, globs: [`${prefix}*.csv`], format: { filetype: 'csv' } }]);
  const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'incremental', ...(cursorField === undefined ? {} : { cursor_field: [cursorField] }) });
  return { config, catalog };
}

describe('a file rewritten within the second it was synced in', () => {
  it('is read again when its ETag or size changed, and skipped when unchanged', async () => {
    const prefix = folder('same-second');
    const key = `${prefix}a.csv`;
    await putObject(client, key, csv([['id'], ...range(1, 3).map(String).map((id) => [id])]));
    const { config, catalog } = await fileStream('rewritten', prefix);
    const first = await read(config, catalog);
    expect(first.code, first.stderr).toBe(0);
    expect(ids(first.records)).toEqual([1, 2, 3]);
    const v1 = await listed(key);
    // The history entry: last-modified and the version (size:etag, hashed short) the file was read in.
    expect(rememberedFiles(blobOf(first))).toEqual({ [key]: { lastModified: v1.lastModified, version: shortVersion(`${v1.size}:${v1.etag}`) } });
    expect(blobOf(first)).toMatchObject({ version: 2, files: [`0 ${key} 0 ${shortVersion(`${v1.size}:${v1.etag}`)}`], files_since: v1.lastModified });

    // Unchanged: skipped.
    const unchanged = await read(config, catalog, lastStates(first.messages));
    expect(unchanged.code, unchanged.stderr).toBe(0);
    expect(unchanged.records).toEqual([]);

    /** The first sync's state, as if the rewrite had come within the same second: its one file's time (offset 0 from files_since) moved. */
    const sameSecond = async () => asInput('rewritten', { ...blobOf(first), files_since: (await listed(key)).lastModified });

    // Different content and size (60 rows: the issue's 0-of-N case in small).
    await putObject(client, key, csv([['id'], ...range(100, 60).map((id) => [String(id)])]));
    const bigger = await read(config, catalog, await sameSecond());
    expect(bigger.code, bigger.stderr).toBe(0);
    expect(ids(bigger.records)).toEqual(range(100, 60));
    const v2 = await listed(key);
    expect(rememberedFiles(blobOf(bigger))).toEqual({ [key]: { lastModified: v2.lastModified, version: shortVersion(`${v2.size}:${v2.etag}`) } });

    // Same size, other bytes: only the ETag tells them apart.
    const sameSize = csv([['id'], ...range(200, 60).map((id) => [String(id)])]);
    expect(sameSize.length).toBe(v2.size);
    await putObject(client, key, sameSize);
    const v3 = await listed(key);
    expect(v3.size).toBe(v2.size);
    expect(v3.etag).not.toBe(v2.etag);
    const sameSizeState = asInput('rewritten', { ...blobOf(bigger), files_since: v3.lastModified });
    const reread = await read(config, catalog, sameSizeState);
    expect(reread.code, reread.stderr).toBe(0);
    expect(ids(reread.records)).toEqual(range(200, 60));

    // And that sync's own state skips the file as it now is.
    const after = await read(config, catalog, lastStates(reread.messages));
    expect(after.records).toEqual([]);
  });

  it('keeps the old rule for a history entry without a version (a state printed before versions were kept)', async () => {
    const prefix = folder('old-history');
    const key = `${prefix}a.csv`;
    await putObject(client, key, csv([['id'], ['1'], ['2']]));
    await putObject(client, `${prefix}b.csv`, csv([['id'], ['3']]));
    const { config, catalog } = await fileStream('old', prefix);
    const now = await listed(key);
    // Plain ISO times, as today's version prints them: a.csv synced at its time, so skipped; b.csv unknown.
    const old = asInput('old', { version: 1, cursor_field: FILE_CURSOR, history: { [key]: now.lastModified } });
    const result = await read(config, catalog, old);
    expect(result.code, result.stderr).toBe(0);
    expect(ids(result.records)).toEqual([3]);
    // Its new entries carry versions; the old one is kept as it was, without.
    const history = rememberedFiles(blobOf(result));
    expect(history[key]).toEqual({ lastModified: now.lastModified });
    expect(history[`${prefix}b.csv`]!.version).toMatch(/^[\w-]{8}$/);
    expect((blobOf(result).files as string[]).find((entry) => entry.endsWith(' -'))).toBe(`0 ${key} 0 -`);
    // A file modified later than an old entry's time is read again, as before.
    const earlier = new Date(Date.parse(now.lastModified) - 1000).toISOString();
    const b = await listed(`${prefix}b.csv`);
    const stale = await read(config, catalog, asInput('old', { version: 1, cursor_field: FILE_CURSOR, history: { [key]: earlier, [`${prefix}b.csv`]: `${b.lastModified}|${b.size}:${b.etag}` } }));
    expect(ids(stale.records)).toEqual([1, 2]);
  });
});

/**
 * A store that lists objects without ETags (some S3-compatible ones do): a proxy that drops the
 * ETag elements from listings.
 */
async function withoutListedEtags<T>(work: (proxyEndpoint: string) => Promise<T>): Promise<T> {
  const target = new URL(endpoint());
  const server: Server = createServer((incoming, outgoing) => {
    const upstream = httpRequest({ host: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers: incoming.headers }, (response) => {
      const listing = incoming.method === 'GET' && /[?&]list-type=2/.test(incoming.url ?? '');
      if (!listing) {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
        return;
      }
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const body = Buffer.from(Buffer.concat(chunks).toString('utf8').replace(/<ETag>[^<]*<\/ETag>/g, ''));
        outgoing.writeHead(response.statusCode ?? 502, { ...response.headers, 'content-length': String(body.length) });
        outgoing.end(body);
      });
    });
    upstream.on('error', () => outgoing.destroy());
    incoming.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await work(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('a store that lists no ETags', () => {
  it('keeps the size as the version, and reads a same-second rewrite of another size again', async () => {
    const prefix = folder('no-etag');
    const key = `${prefix}a.csv`;
    await putObject(client, key, csv([['id'], ['1']]));
    const { config, catalog } = await fileStream('noetag', prefix);
    await withoutListedEtags(async (proxyEndpoint) => {
      const proxied = { ...config, endpoint: proxyEndpoint };
      const first = await read(proxied, catalog);
      expect(first.code, first.stderr).toBe(0);
      const v1 = await listed(key);
      expect(rememberedFiles(blobOf(first))).toEqual({ [key]: { lastModified: v1.lastModified, version: shortVersion(String(v1.size)) } });

      await putObject(client, key, csv([['id'], ['2'], ['3']]));
      const v2 = await listed(key);
      const second = await read(proxied, catalog, asInput('noetag', { ...blobOf(first), files_since: v2.lastModified }));
      expect(second.code, second.stderr).toBe(0);
      expect(ids(second.records)).toEqual([2, 3]);
      expect(rememberedFiles(blobOf(second))).toEqual({ [key]: { lastModified: v2.lastModified, version: shortVersion(String(v2.size)) } });
    });
  });
});


describe('a read killed inside a file, resumed', () => {
  it('resumes at the offset for the same version, and reads a replaced file from its first row', async () => {
    const prefix = folder('killed');
    const key = `${prefix}big.csv`;
    const total = 30_000;
    await putObject(client, key, csv([['id', 'name'], ...range(0, total).map((id) => [String(id), `name-${id}`])]));
    const { config, catalog } = await fileStream('resumed', prefix);
    const env = { SOURCE_S3_CHECKPOINT_RECORDS: '5000' };
    const args = ['read', '--config', writeTempFile('config.json', config), '--catalog', writeTempFile('catalog.json', catalog)];
    const killed = await readUntilKilled(args, env, (message) => message.type === 'STATE' && message.state.stream.stream_state.in_progress?.rows >= 10_000);
    const blob = lastStates(killed as never)[0]!.stream.stream_state as Schema;
    const v1 = await listed(key);
    expect(blob.in_progress).toEqual({ key, last_modified: v1.lastModified, rows: 10_000, version: `${v1.size}:${v1.etag}` });

    // Same version: exactly the rows after the offset, none lost, none twice.
    const resumed = await read(config, catalog, asInput('resumed', blob), env);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(ids(resumed.records)).toEqual(range(10_000, total - 10_000));

    // A position from before versions were kept (no version): resumed as before.
    const { version: _version, ...unversioned } = blob.in_progress as Schema;
    const old = await read(config, catalog, asInput('resumed', { ...blob, in_progress: unversioned }), env);
    expect(ids(old.records)).toEqual(range(10_000, total - 10_000));

    // The object replaced (20,000 new rows); the position still says the same key and, as if within
    // the same second, the same time. The offset was for other bytes: every row of the new file comes.
    await putObject(client, key, csv([['id', 'name'], ...range(500_000, 20_000).map((id) => [String(id), `new-${id}`])]));
    const v2 = await listed(key);
    const replaced = await read(config, catalog, asInput('resumed', { ...blob, in_progress: { ...blob.in_progress, last_modified: v2.lastModified } }), env);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(ids(replaced.records)).toEqual(range(500_000, 20_000));
  });
});

describe('a state the connector cannot use', () => {
  const expectStateBlamed = (error: Schema, stream: string, prefix: string, ...parts: string[]) => {
    expect(error).toMatchObject({ failure_type: 'config_error', stream_descriptor: { name: stream } });
    expect(error.message).toContain(`The state of stream "${stream}" `);
    for (const part of parts) expect(error.message).toContain(part);
    // The data file is not the problem, and is not blamed.
    expect(error.message).not.toContain('could not be read as');
    expect(error.message).not.toContain(`${prefix}a.csv could not`);
  };

  it('refuses a cursor that is not a value of the cursor column, naming the state', async () => {
    const prefix = folder('wrong-cursor');
    await putObject(client, `${prefix}a.csv`, csv([['id', 'seq'], ['1', '10'], ['2', '20']]));
    const { config, catalog } = await fileStream('typed', prefix, 'seq');
    const base = { version: 1, cursor_field: 'seq', history: {} };
    const wrong = await read(config, catalog, asInput('typed', { ...base, cursor: 'abc' }));
    // The column's type as read: CSV integers are read as text and cast to the catalog's integer type.
    expectStateBlamed(errorOf(wrong), 'typed', prefix, 'has cursor "abc"', 'cursor column "seq" (');
    const pending = await read(config, catalog, asInput('typed', { ...base, cursor: 5, pending_cursor: { at: 7 } }));
    expectStateBlamed(errorOf(pending), 'typed', prefix, 'has pending_cursor {"at":7}');
    // The same state with a value of the column's type works.
    const right = await read(config, catalog, asInput('typed', { ...base, cursor: '15' }));
    expect(right.code, right.stderr).toBe(0);
    expect(ids(right.records)).toEqual([2]);
  });

  it('refuses a model query state whose cursor is not of the cursor column type', async () => {
    const prefix = folder('query-cursor');
    await putObject(client, `${prefix}a.csv`, csv([['id', 'seq'], ['1', '10'], ['2', '20']]));
    const config = configWith([{ name: 'modelled', query: `SELECT id, seq FROM 's3://${BUCKET}/${prefix}a.csv'` }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'incremental', cursor_field: ['seq'] });
    const wrong = await read(config, catalog, asInput('modelled', { version: 1, cursor_field: 'seq', history: {}, cursor: 'abc' }));
    const error = errorOf(wrong);
    expectStateBlamed(error, 'modelled', prefix, 'has cursor "abc"');
    expect(error.message).not.toContain('model query failed');
  });

  it('refuses row offsets that are not counts, or past the end of the file they name', async () => {
    const prefix = folder('bad-offset');
    const key = `${prefix}a.csv`;
    await putObject(client, key, csv([['id'], ['1'], ['2'], ['3']]));
    const { config, catalog } = await fileStream('offsets', prefix);
    const now = await listed(key);
    const position = { key, last_modified: now.lastModified, version: `${now.size}:${now.etag}` };
    const withRows = (rows: unknown) => asInput('offsets', { version: 1, cursor_field: FILE_CURSOR, history: {}, in_progress: { ...position, rows } });
    for (const [rows, said] of [
      [-1, 'has in_progress.rows -1'],
      [2.5, 'has in_progress.rows 2.5'],
      [1e20, 'has in_progress.rows 100000000000000000000'],
      ['3', 'has in_progress.rows "3"'],
    ] as const) {
      expectStateBlamed(errorOf(await read(config, catalog, withRows(rows))), 'offsets', prefix, said, 'not a count of rows');
    }
    // A whole number, but more rows than this version of the file has: the offset is not from it.
    expectStateBlamed(errorOf(await read(config, catalog, withRows(1_000_000))), 'offsets', prefix, `has in_progress.rows 1000000 for s3://${BUCKET}/${key}, which has only 3 rows`);
    // Exactly its rows (killed after the last checkpoint of the file): nothing comes again.
    const atEnd = await read(config, catalog, withRows(3));
    expect(atEnd.code, atEnd.stderr).toBe(0);
    expect(atEnd.records).toEqual([]);
    // An offset inside the file resumes there.
    expect(ids((await read(config, catalog, withRows(1))).records)).toEqual([2, 3]);
  });

  it('refuses a garbage history entry, naming the file and the entry', async () => {
    const prefix = folder('garbage');
    await putObject(client, `${prefix}a.csv`, csv([['id'], ['1']]));
    const { config, catalog } = await fileStream('garbled', prefix);
    for (const [entry, said] of [
      ['last tuesday', 'unreadable history entry for file "x.csv": "last tuesday"'],
      [{ at: 1 }, 'unreadable history entry for file "x.csv": {"at":1}'],
      ['2026-01-01T00:00:00.000Z|', 'unreadable history entry for file "x.csv"'],
    ] as const) {
      const result = await read(config, catalog, asInput('garbled', { version: 1, cursor_field: FILE_CURSOR, history: { 'x.csv': entry } }));
      expectStateBlamed(errorOf(result), 'garbled', prefix, said);
    }
  });
});
