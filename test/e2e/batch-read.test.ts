import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { writeTempFile } from '../support/cli.js';
import { configuredCatalog, configWith, discoverStreams, expectRecordsValid, lastStates, read, rememberedKeys, readUntilKilled, type ReadResult, type Schema } from '../support/read.js';
import { putObject, testClient } from '../support/s3-client.js';

const client = testClient();
afterAll(() => client.destroy());

/** A fresh folder per test: tests run in parallel against one bucket. */
const folder = (label: string) => `batch/${label}-${randomUUID().slice(0, 8)}/`;
const csv = (rows: (string | number)[][], ending = '\n') => `${rows.map((row) => row.join(',')).join(ending)}${ending}`;
const URL_COLUMN = '_ab_source_file_url';
const MODIFIED_COLUMN = '_ab_source_file_last_modified';
/** Read file by file: batching off (SOURCE_S3_BATCH_BYTES=0), the per-file path for every file. */
const FILE_BY_FILE = { SOURCE_S3_BATCH_BYTES: '0' };
const rejectedCount = (result: ReadResult) => result.states.reduce((total, state) => total + (state.sourceStats?.rejectedRecordCount ?? 0), 0);
const logs = (result: ReadResult) => result.messages.filter((message) => message.type === 'LOG').map((message) => String(message.log.message));

/**
 * Rows come file by file in read order (last-modified, then key), each file's rows in the file's
 * order (ids rise within a file), and each row names its own file.
 */
function expectFileByFileOrder(records: Schema[], fileOf: (id: number) => string): void {
  const seen: string[] = [];
  let previousId = -1;
  for (const record of records) {
    const url = String(record.data[URL_COLUMN]);
    const id = Number(record.data.id);
    expect(url.endsWith(`/${fileOf(id)}`), `row ${id} names ${url}`).toBe(true);
    if (seen.at(-1) !== url) {
      expect(seen, `${url} comes again after other files`).not.toContain(url);
      seen.push(url);
    } else {
      expect(id).toBeGreaterThan(previousId);
    }
    previousId = id;
  }
  const order = records.map((record) => [String(record.data[MODIFIED_COLUMN]), String(record.data[URL_COLUMN])]);
  const sorted = [...order].sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : a[1]! < b[1]! ? -1 : a[1]! > b[1]! ? 1 : 0));
  expect(order).toEqual(sorted);
}

describe('many small files read in batches', () => {
  it('give exactly the records of reading file by file, file by file in read order, a data column named filename kept as data', async () => {
    const prefix = folder('same');
    const names: string[] = [];
    const fileOfId = new Map<number, string>();
    let id = 0;
    for (let file = 0; file < 36; file++) {
      const name = `part-${String(file).padStart(3, '0')}.csv${file % 9 === 4 ? '.gz' : ''}`;
      // Row counts vary (a header-only file, a few larger ones for DuckDB's threads); every 5th file has its columns in another order.
      const count = file === 7 ? 0 : file % 11 === 3 ? 4000 : 1 + ((file * 37) % 90);
      const swapped = file % 5 === 2;
      const rows: (string | number)[][] = [swapped ? ['filename', 'id', 'amount'] : ['id', 'amount', 'filename']];
      for (let row = 0; row < count; row++, id++) {
        fileOfId.set(id, name);
        rows.push(swapped ? [`data-${id}.csv`, id, (id * 1.5).toFixed(1)] : [id, (id * 1.5).toFixed(1), `data-${id}.csv`]);
      }
      const plain = csv(rows, file % 6 === 1 ? '\r\n' : '\n');
      // Every 4th file quotes its header, as spreadsheet exports do: same columns, other bytes.
      const text = file % 4 === 3 ? plain.replace(/^[^\r\n]*/, rows[0]!.map((name) => `"${name}"`).join(',')) : plain;
      await putObject(client, `${prefix}${name}`, name.endsWith('.gz') ? gzipSync(text) : text);
      names.push(name);
    }
    // A file of white space only: no rows, synced all the same.
    await putObject(client, `${prefix}part-900-blank.csv`, '\n\n');
    const config = configWith([{ name: 'many', globs: [`${prefix}*.csv`, `${prefix}*.csv.gz`], format: { filetype: 'csv' } }]);
    const discovered = configuredCatalog(await discoverStreams(config), { sync_mode: 'incremental' });

    // Small batches (5 files) so that batches end at every kind of boundary; the defaults hold all of them in one.
    const batched = await read(config, discovered, undefined, { SOURCE_S3_BATCH_FILES: '5' });
    expect(batched.code, batched.stderr).toBe(0);
    const oneBatch = await read(config, discovered);
    const alone = await read(config, discovered, undefined, FILE_BY_FILE);
    expect(alone.code, alone.stderr).toBe(0);
    const withoutEmittedAt = (records: Schema[]) => records.map((record) => ({ stream: record.stream, data: record.data, meta: record.meta }));
    expect(batched.records).toHaveLength(id);
    expect(withoutEmittedAt(batched.records)).toEqual(withoutEmittedAt(alone.records));
    expect(withoutEmittedAt(oneBatch.records)).toEqual(withoutEmittedAt(alone.records));
    expect(batched.records.find((record) => Number(record.data.id) === 5)!.data.filename).toBe('data-5.csv');
    expectRecordsValid(batched.records, discovered);
    expectFileByFileOrder(batched.records, (row) => fileOfId.get(row)!);
    // Every file, the blank one too, is in the final state: the next sync reads nothing.
    const final = lastStates(batched.messages);
    expect(rememberedKeys(final[0]!.stream.stream_state)).toHaveLength(names.length + 1);
    const again = await read(config, discovered, final);
    expect(again.code, again.stderr).toBe(0);
    expect(again.records).toEqual([]);

    // With an empty catalog (every column of each file, types guessed per file), the same again.
    const emptyCatalog = structuredClone(discovered);
    emptyCatalog.streams[0].stream.json_schema.properties = {};
    const batchedEmpty = await read(config, emptyCatalog, undefined, { SOURCE_S3_BATCH_FILES: '5' });
    const aloneEmpty = await read(config, emptyCatalog, undefined, FILE_BY_FILE);
    expect(batchedEmpty.code, batchedEmpty.stderr).toBe(0);
    expect(withoutEmittedAt(batchedEmpty.records)).toEqual(withoutEmittedAt(aloneEmpty.records));
    expect(batchedEmpty.records).toHaveLength(id);
  });

  it('JSON Lines files with catalog columns read in batches are the same as file by file', async () => {
    const prefix = folder('jsonl');
    let id = 0;
    for (let file = 0; file < 12; file++) {
      const lines = Array.from({ length: 1 + file * 7 }, () => {
        id++;
        return JSON.stringify(file % 3 === 0 ? { filename: `f${file}`, id, extra: [1, 2] } : { id, filename: `f${file}`, when: '2024-01-01T00:00:00Z' });
      });
      await putObject(client, `${prefix}p${String(file).padStart(2, '0')}.jsonl`, `${lines.join('\n')}\n`);
    }
    const config = configWith([{ name: 'lines', globs: [`${prefix}*.jsonl`], format: { filetype: 'jsonl' } }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    const batched = await read(config, catalog, undefined, { SOURCE_S3_BATCH_FILES: '4' });
    const alone = await read(config, catalog, undefined, FILE_BY_FILE);
    expect(batched.code, batched.stderr).toBe(0);
    expect(batched.records.map((record) => record.data)).toEqual(alone.records.map((record) => record.data));
    expect(batched.records).toHaveLength(id);
    expect(batched.records.every((record) => String(record.data[URL_COLUMN]).endsWith(`/p${String(record.data.filename).slice(1).padStart(2, '0')}.jsonl`))).toBe(true);
  });

  it('a bad file in the middle of a batch fails naming its s3:// URL, after the rows before it; with on_error skip its bad rows are skipped and counted', async () => {
    const prefix = folder('bad');
    const files = ['a.csv', 'b.csv', 'c-bad.csv', 'd.csv', 'e-headers.csv', 'f.csv'];
    let id = 0;
    for (const name of files) {
      const rows: (string | number)[][] = [['id', 'name']];
      for (let row = 0; row < 20; row++, id++) rows.push([id, `n${id}`]);
      // c-bad.csv: a row with a field too many; e-headers.csv: two exports concatenated (the header again).
      if (name === 'c-bad.csv') rows.splice(8, 0, [999, 'x', 'extra']);
      if (name === 'e-headers.csv') rows.splice(11, 0, ['id', 'name']);
      await putObject(client, `${prefix}${name}`, csv(rows));
    }
    const stream = { name: 'bad', globs: [`${prefix}*.csv`], format: { filetype: 'csv' } };
    const config = configWith([stream]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'incremental' });

    const failing = await read(config, catalog);
    expect(failing.code).not.toBe(0);
    const trace = failing.messages.find((message) => message.type === 'TRACE' && message.trace.type === 'ERROR')!;
    expect(trace.trace.error.message).toContain(`s3://`);
    expect(trace.trace.error.message).toContain(`${prefix}c-bad.csv`);
    expect(JSON.stringify(failing.messages)).not.toMatch(/batch-\d+\/|source-s3-staging|\/tmp\//);
    // Rows of the files before it came out; its rows before the bad line too, and none after it.
    const emitted = failing.records.map((record) => Number(record.data.id));
    expect(emitted.slice(0, 40)).toEqual(Array.from({ length: 40 }, (_, index) => index));
    expect(emitted.every((value) => value < 60)).toBe(true);
    // The last STATE has the two files before it, never the bad one.
    const history = rememberedKeys(lastStates(failing.messages)[0]!.stream.stream_state);
    expect(history.sort()).toEqual([`${prefix}a.csv`, `${prefix}b.csv`]);

    const skipping = await read(configWith([{ ...stream, on_error: 'skip' }]), catalog);
    expect(skipping.code, skipping.stderr).toBe(0);
    const ids = skipping.records.map((record) => Number(record.data.id));
    expect(ids).toEqual(Array.from({ length: 120 }, (_, index) => index));
    expect(rejectedCount(skipping)).toBe(2);
    expect(logs(skipping).some((text) => text.includes(`1 malformed row of s3://`) && text.includes(`${prefix}c-bad.csv`))).toBe(true);
    expect(logs(skipping).some((text) => text.includes(`repeated header line of s3://`) && text.includes(`${prefix}e-headers.csv`))).toBe(true);
  });

  it('a killed batched sync resumes from its last STATE without losing a row; synced files are not read again', async () => {
    const prefix = folder('killed');
    const total = 30;
    for (let file = 0; file < total; file++) {
      const rows: (string | number)[][] = [['id', 'name']];
      for (let row = 0; row < 400; row++) rows.push([file * 1000 + row, `n-${file}-${row}`]);
      await putObject(client, `${prefix}f${String(file).padStart(2, '0')}.csv`, csv(rows));
    }
    const config = configWith([{ name: 'killed', globs: [`${prefix}*.csv`], format: { filetype: 'csv' } }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'incremental' });
    const args = ['read', '--config', writeTempFile('config.json', config), '--catalog', writeTempFile('catalog.json', catalog)];
    const env = { SOURCE_S3_BATCH_FILES: '4', SOURCE_S3_DOWNLOAD_CONCURRENCY: '3' };
    const firstRun = await readUntilKilled(args, env, (message) => message.type === 'STATE' && rememberedKeys(message.state.stream.stream_state).length >= 8);
    const lastState = lastStates(firstRun as never)[0]!;
    const synced = rememberedKeys(lastState.stream.stream_state);
    expect(synced.length).toBeGreaterThanOrEqual(8);
    expect(synced.length).toBeLessThan(total);
    const firstIds = firstRun.filter((message) => message.type === 'RECORD').map((message) => Number(message.record.data.id));

    const resumed = await read(config, catalog, [lastState], env);
    expect(resumed.code, resumed.stderr).toBe(0);
    const resumedIds = resumed.records.map((record) => Number(record.data.id));
    // No row of a file the state holds comes again...
    const syncedFiles = new Set(synced.map((key) => Number(/f(\d+)\.csv$/.exec(key)![1])));
    expect(resumedIds.filter((value) => syncedFiles.has(Math.floor(value / 1000)))).toEqual([]);
    // ...and together the two runs hold every row.
    expect(new Set([...firstIds, ...resumedIds]).size).toBe(total * 400);
    expect(rememberedKeys(lastStates(resumed.messages)[0]!.stream.stream_state)).toHaveLength(total);
  });
});
