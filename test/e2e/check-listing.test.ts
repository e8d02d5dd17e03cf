import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check, localConfig } from '../support/cli.js';
import { BUCKET } from '../support/constants.js';
import { useFaultProxy } from '../support/proxy-hooks.js';
import { deleteObject, putObject, testClient } from '../support/s3-client.js';

const PREFIX = 'check-listing/';
/** More than one listing page (S3 and s3rver answer 1,000 keys a page). */
const CSV_FILES = 1_050;
/** Sorts after every CSV key: only the last page holds it. */
const LAST_JSONL = `${PREFIX}zz/last.jsonl`;
/** An empty CSV that sorts first (page 1), and one with rows that sorts last (page 2). */
const EMPTY_FIRST = `${PREFIX}000-empty.csv`;
const LATE_CSV = `${PREFIX}zz/late.csv`;
const csvKey = (index: number) => `${PREFIX}part-${String(index).padStart(5, '0')}.csv`;

/**
 * check proves each stream can be read: it must not list a whole large prefix to do so. Listing
 * requests are counted by a proxy in front of the server.
 */
describe('check on a prefix with thousands of objects', () => {
  const client = testClient();
  const { proxy, endpoint } = useFaultProxy();

  beforeAll(async () => {
    const keys = Array.from({ length: CSV_FILES }, (_, index) => index);
    for (let start = 0; start < keys.length; start += 50) {
      await Promise.all(keys.slice(start, start + 50).map((index) => putObject(client, csvKey(index), `id,name\n${index},name-${index}\n`)));
    }
    await putObject(client, LAST_JSONL, '{"id": 1, "name": "last"}\n');
    await putObject(client, EMPTY_FIRST, '');
    await putObject(client, LATE_CSV, 'id,name\n1,late\n');
  }, 300_000);

  afterAll(async () => {
    const keys = [...Array.from({ length: CSV_FILES }, (_, index) => csvKey(index)), LAST_JSONL, EMPTY_FIRST, LATE_CSV];
    for (let start = 0; start < keys.length; start += 50) await Promise.all(keys.slice(start, start + 50).map((key) => deleteObject(client, key)));
    client.destroy();
  }, 300_000);

  const listRequests = (from: number) => proxy().log.slice(from).filter((request) => request.method === 'GET' && new RegExp(`^/${BUCKET}/?$`).test(request.path)).length;

  it('lists one page for a stream whose files the first page holds (plus the one request that proves the bucket)', async () => {
    const before = proxy().log.length;
    const result = await check(localConfig({ endpoint: endpoint(), path: PREFIX, streams: [{ name: 'parts', globs: ['*.csv'], format: { filetype: 'csv' } }] }));
    expect(result.status, result.message).toBe('SUCCEEDED');
    expect(result.message).toMatch(/part-\d{5}\.csv \(2 columns, 1 rows parsed\)/);
    expect(listRequests(before)).toBe(2);
  });

  it('lists on past pages without a match, so a file that sorts last is still found', async () => {
    const before = proxy().log.length;
    const result = await check(localConfig({ endpoint: endpoint(), path: PREFIX, streams: [{ name: 'last', globs: ['**/*.jsonl'], format: { filetype: 'jsonl' } }] }));
    expect(result.status, result.message).toBe('SUCCEEDED');
    expect(result.message).toContain('zz/last.jsonl');
    expect(listRequests(before)).toBe(1 + Math.ceil((CSV_FILES + 1) / 1000));
  });

  it('lists on past a first page whose only match is empty, so a later file with rows is checked, not "all files empty"', async () => {
    const result = await check(localConfig({ endpoint: endpoint(), path: PREFIX, streams: [{ name: 'late', globs: ['000-empty.csv', 'zz/late.csv'], format: { filetype: 'csv' } }] }));
    expect(result.status, result.message).toBe('SUCCEEDED');
    expect(result.message).toContain('zz/late.csv');
  });
});
