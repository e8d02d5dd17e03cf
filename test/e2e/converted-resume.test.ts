import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTempFile } from '../support/cli.js';
import { avroJsFile } from '../support/avro-files.js';
import { configuredCatalog, configWith, discoverStreams, read, readUntilKilled } from '../support/read.js';
import { deleteObject, putObject, testClient } from '../support/s3-client.js';

const require = createRequire(import.meta.url);
const XLSX = require('xlsx') as typeof import('xlsx');

/**
 * A converted file (Avro, Excel) read alone checkpoints inside the file, like any JSON Lines file:
 * a sync killed in the middle resumes from the row reached, converting the file again, and no row
 * is lost. (SOURCE_S3_BATCH_BYTES=0 reads every file alone, as a file larger than a batch is.)
 */
const PREFIX = 'converted-resume/';
const ROWS = 30_000;
const ENV = { SOURCE_S3_BATCH_BYTES: '0', SOURCE_S3_CHECKPOINT_RECORDS: '2000', SOURCE_S3_CHECKPOINT_SECONDS: '0' };

describe('converted formats: a sync killed mid-file resumes with no row lost', () => {
  const client = testClient();
  beforeAll(async () => {
    const schema = { type: 'record', name: 'Row', fields: [{ name: 'id', type: 'long' }, { name: 'label', type: 'string' }] };
    const rows = Array.from({ length: ROWS }, (_, id) => ({ id, label: `row ${id}` }));
    await putObject(client, `${PREFIX}rows.avro`, await avroJsFile(schema, rows, { codec: 'deflate', blockSize: 16_384 }));
    const book = XLSX.utils.book_new();
    XLSX.utils.book_append_sheet(book, XLSX.utils.aoa_to_sheet([['id', 'label'], ...rows.map((row) => [row.id, row.label])]), 'Rows');
    await putObject(client, `${PREFIX}rows.xlsx`, XLSX.write(book, { type: 'buffer', bookType: 'xlsx' }) as Buffer);
  }, 120_000);
  afterAll(async () => {
    for (const key of ['rows.avro', 'rows.xlsx']) await deleteObject(client, `${PREFIX}${key}`);
    client.destroy();
  });

  it.each([
    ['avro', '*.avro'],
    ['excel', '*.xlsx'],
  ])('%s', async (filetype, glob) => {
    const config = configWith([{ name: filetype, globs: [glob], format: { filetype } }], { path: PREFIX });
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'incremental', cursor_field: ['_ab_source_file_last_modified'] });
    const args = ['read', '--config', writeTempFile('config.json', config), '--catalog', writeTempFile('catalog.json', catalog)];
    // Killed after the second STATE: past a safe point inside the file, before its end.
    let states = 0;
    const before = await readUntilKilled(args, ENV, (message) => message.type === 'STATE' && ++states === 2);
    const state = before.filter((message) => message.type === 'STATE').at(-1)!.state;
    expect(JSON.stringify(state)).toContain('in_progress');
    const seen = before.filter((message) => message.type === 'RECORD').map((message) => message.record.data.id as number);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.length).toBeLessThan(ROWS);
    const after = await read(config, catalog, [state], ENV);
    expect(after.code, after.stderr).toBe(0);
    const all = new Set([...seen, ...after.records.map((record) => record.data.id as number)]);
    expect(all.size).toBe(ROWS);
    // Resumed from the safe point, not from the start: at most one checkpoint's rows come again.
    expect(after.records.length).toBeLessThan(ROWS - seen.length + 2_000 + 1);
  });
});
