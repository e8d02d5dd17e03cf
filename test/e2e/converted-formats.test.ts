import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check } from '../support/cli.js';
import { configuredCatalog, configWith, discoverStreams, expectRecordsValid, lastStates, read } from '../support/read.js';
import { deleteObject, putObject, testClient } from '../support/s3-client.js';

const PREFIX = 'converted-formats/';
const FILES: Record<string, string> = {
  'notes/a.txt': '\uFEFFplain text\nsecond line\n',
  'notes/b.md': '# Title\n\n- item "quoted"\n',
  'notes/empty.txt': '',
};

/**
 * The path every converted format (Avro, Excel, documents) takes: staged whole, converted to JSON
 * Lines, then read as JSON Lines. Shown here with text documents, the one format that needs no
 * library: the per-format tests live beside their converters' tests.
 */
describe('formats converted to JSON Lines when staged (text documents)', () => {
  const client = testClient();
  const config = configWith([{ name: 'docs', globs: ['notes/*'], format: { filetype: 'document' } }], { path: PREFIX });

  beforeAll(async () => {
    for (const [key, body] of Object.entries(FILES)) await putObject(client, `${PREFIX}${key}`, body);
  });
  afterAll(async () => {
    for (const key of Object.keys(FILES)) await deleteObject(client, `${PREFIX}${key}`);
    client.destroy();
  });

  it('discover gives the columns the format declares, not inferred ones', async () => {
    const [stream] = await discoverStreams(config);
    expect(Object.keys(stream!.json_schema.properties)).toEqual(['content', 'document_key', '_ab_source_file_parse_error', '_ab_source_file_url', '_ab_source_file_last_modified']);
    expect(stream!.json_schema.properties.content.type).toEqual(['null', 'string']);
  });

  it('check converts a sample and parses it', async () => {
    const result = await check(config);
    expect(result.status, result.message).toBe('SUCCEEDED');
    expect(result.message).toMatch(/notes\/(a\.txt|b\.md) \(3 columns, 1 rows parsed\)/);
  });

  it('read emits one record per file, incrementally', async () => {
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'incremental', cursor_field: ['_ab_source_file_last_modified'] });
    const first = await read(config, catalog);
    expect(first.code, first.stderr).toBe(0);
    expectRecordsValid(first.records, catalog);
    const byKey = Object.fromEntries(first.records.map((record) => [record.data.document_key, record.data]));
    // An empty document is still a document: one record, empty content.
    expect(Object.keys(byKey).sort()).toEqual([`${PREFIX}notes/a.txt`, `${PREFIX}notes/b.md`, `${PREFIX}notes/empty.txt`]);
    expect(byKey[`${PREFIX}notes/empty.txt`].content).toBe('');
    expect(byKey[`${PREFIX}notes/a.txt`].content).toBe('plain text\nsecond line\n');
    expect(byKey[`${PREFIX}notes/b.md`].content).toBe('# Title\n\n- item "quoted"\n');
    expect(byKey[`${PREFIX}notes/b.md`]._ab_source_file_url).toMatch(/^s3:\/\/[^/]+\/converted-formats\/notes\/b\.md$/);
    const again = await read(config, catalog, lastStates(first.messages));
    expect(again.code, again.stderr).toBe(0);
    expect(again.records).toEqual([]);
  });
});
