import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { endpoint, writeTempFile } from '../support/cli.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { configuredCatalog, configWith, discoverStreams, expectRecordsValid, lastStates, read, readUntilKilled, rememberedFiles, rememberedKeys, type Schema } from '../support/read.js';
import { putObject, testClient } from '../support/s3-client.js';

const client = testClient();
afterAll(() => client.destroy());

/** A fresh folder per test: tests run in parallel against one bucket. */
const folder = (label: string) => `incremental/${label}-${randomUUID().slice(0, 8)}/`;
const csv = (rows: string[][]) => `${rows.map((row) => row.join(',')).join('\n')}\n`;
const ids = (records: Schema[]) => records.map((record) => record.data.id as number);
/** s3rver (like S3) lists LastModified in whole seconds; a pause past a second keeps "modified later" strictly later. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 1100));

describe('incremental with the file cursor (_ab_source_file_last_modified)', () => {
  it('reads new and modified files only, and nothing when nothing changed', async () => {
    const prefix = folder('files');
    await putObject(client, `${prefix}a.csv`, csv([['id'], ['1'], ['2'], ['3']]));
    await putObject(client, `${prefix}b.csv`, csv([['id'], ['4'], ['5']]));
    const config = configWith([{ name: 'files', globs: [`${prefix}*.csv`], format: { filetype: 'csv' } }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'incremental' });

    const first = await read(config, catalog);
    expect(first.code, first.stderr).toBe(0);
    expect(ids(first.records).sort()).toEqual([1, 2, 3, 4, 5]);
    expectRecordsValid(first.records, catalog);
    const firstState = lastStates(first.messages);
    expect(rememberedKeys(firstState[0]!.stream.stream_state).sort()).toEqual([`${prefix}a.csv`, `${prefix}b.csv`]);

    const second = await read(config, catalog, firstState);
    expect(second.records).toEqual([]);
    expect(second.states.length).toBeGreaterThan(0);
    expect(second.states.at(-1)!.stream.stream_state).toEqual(firstState[0]!.stream.stream_state);

    await tick();
    await putObject(client, `${prefix}c.csv`, csv([['id'], ['6']]));
    await putObject(client, `${prefix}a.csv`, csv([['id'], ['1'], ['2'], ['3'], ['7']]));
    const third = await read(config, catalog, lastStates(second.messages));
    expect(ids(third.records).sort((x, y) => x - y)).toEqual([1, 2, 3, 6, 7]);
    expect(new Set(third.records.map((record) => record.data._ab_source_file_url))).toEqual(new Set([`s3://source-s3-test/${prefix}a.csv`, `s3://source-s3-test/${prefix}c.csv`]));
  });

  it('emits no records but emits state for a state from the future', async () => {
    const prefix = folder('future');
    await putObject(client, `${prefix}a.csv`, csv([['id'], ['1']]));
    const config = configWith([{ name: 'future', globs: [`${prefix}*.csv`], format: { filetype: 'csv' } }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'incremental' });
    const future = [
      {
        type: 'STREAM',
        stream: {
          stream_descriptor: { name: 'future' },
          stream_state: { version: 1, cursor_field: '_ab_source_file_last_modified', history: { [`${prefix}a.csv`]: '2999-01-01T00:00:00.000Z' } },
        },
      },
    ];
    const result = await read(config, catalog, future);
    expect(result.code).toBe(0);
    expect(result.records).toEqual([]);
    expect(rememberedFiles(result.states.at(-1)!.stream.stream_state)[`${prefix}a.csv`]).toEqual({ lastModified: '2999-01-01T00:00:00.000Z' });
  });

  it('accepts the legacy state shapes and Airbyte S3 connector state', async () => {
    const prefix = folder('legacy');
    await putObject(client, `${prefix}a.csv`, csv([['id'], ['1']]));
    await putObject(client, `${prefix}b.csv`, csv([['id'], ['2']]));
    const config = configWith([{ name: 'legacy', globs: [`${prefix}*.csv`], format: { filetype: 'csv' } }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'incremental' });
    const history = { [`${prefix}a.csv`]: '2999-01-01T00:00:00.000000Z' };
    const blob = { version: 1, cursor_field: '_ab_source_file_last_modified', history };
    for (const state of [
      { legacy: blob },
      { type: 'LEGACY', data: { legacy: blob } },
      { type: 'STREAM', stream: { stream_descriptor: { name: 'legacy' }, stream_state: blob } },
      [{ type: 'STREAM', stream: { stream_descriptor: { name: 'legacy' }, stream_state: { history, _ab_source_file_last_modified: '2999-01-01T00:00:00.000000Z_x' } } }],
    ]) {
      const result = await read(config, catalog, state);
      expect(result.code, JSON.stringify(state)).toBe(0);
      expect(ids(result.records)).toEqual([2]);
    }
  });

  it('refuses a state it cannot use, naming the stream, rather than silently re-syncing', async () => {
    const prefix = folder('badstate');
    await putObject(client, `${prefix}a.csv`, csv([['id', 'updated_at'], ['1', '2024-01-01']]));
    const config = configWith([{ name: 'guarded', globs: [`${prefix}*.csv`], format: { filetype: 'csv' } }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'incremental' });
    const mismatched = [{ type: 'STREAM', stream: { stream_descriptor: { name: 'guarded' }, stream_state: { version: 1, cursor_field: 'updated_at', history: {} } } }];
    const result = await read(config, catalog, mismatched);
    expect(result.code).toBe(1);
    expect(result.records).toEqual([]);
    const error = result.messages.find((message) => message.type === 'TRACE' && message.trace.type === 'ERROR')!.trace.error;
    expect(error).toMatchObject({ failure_type: 'config_error', stream_descriptor: { name: 'guarded' } });
    expect(error.message).toContain('The state of stream "guarded" was kept with cursor field "updated_at", but the catalog now uses "_ab_source_file_last_modified"');

    const garbage = await read(config, catalog, 42);
    expect(garbage.code).toBe(1);
    expect(garbage.messages.at(-1)!.trace.error.message).toMatch(/^The state file .* holds neither a list of state messages nor a state object/);

    const versionless = await read(config, catalog, [{ type: 'STREAM', stream: { stream_descriptor: { name: 'guarded' }, stream_state: { cursor: 5 } } }]);
    expect(versionless.messages.find((message) => message.type === 'TRACE' && message.trace.type === 'ERROR')!.trace.error.message).toContain(
      'The state of stream "guarded" has version undefined',
    );
  });
});

describe('incremental with a column cursor', () => {
  it('keeps big integer cursors exact, keeps new rows without a cursor value, and survives a stray value', async () => {
    const prefix = folder('bigcursor');
    await putObject(client, `${prefix}1.csv`, csv([['id', 'seq', 'note'], ['1', '9007199254740990', 'a'], ['2', '9007199254740995', 'b']]));
    const config = configWith([{ name: 'seqs', globs: [`${prefix}*.csv`], format: { filetype: 'csv' } }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'incremental', cursor_field: ['seq'] });
    const first = await read(config, catalog);
    const state = lastStates(first.messages);
    expect(state[0]!.stream.stream_state.cursor).toBe('9007199254740995');

    await tick();
    // An equal cursor (>= keeps it), a larger one, one without a value, and one that is not a number.
    await putObject(client, `${prefix}2.csv`, csv([['id', 'seq', 'note'], ['3', '9007199254740995', 'equal'], ['4', '9007199254740997', 'later'], ['5', '', 'no seq'], ['6', 'unknown', 'stray'], ['7', '9007199254740994', 'older']]));
    const second = await read(config, catalog, state);
    expect(second.code, second.stderr).toBe(0);
    expect(ids(second.records).sort()).toEqual([3, 4, 5, 6]);
    expect(second.stdout).toContain('"seq":9007199254740997');
    expectRecordsValid(second.records, catalog);
    // The stray value cannot be an integer: null, and said in the record's meta.
    const stray = second.records.find((record) => record.data.id === 6)!;
    expect(stray.data.seq).toBeNull();
    expect(stray.meta).toEqual({ changes: [{ field: 'seq', change: 'NULLED', reason: 'SOURCE_SERIALIZATION_ERROR' }] });
    expect(lastStates(second.messages)[0]!.stream.stream_state.cursor).toBe('9007199254740997');
  });

  it('lets a full refresh run with a state left by an incremental sync', async () => {
    const prefix = folder('switch');
    await putObject(client, `${prefix}a.csv`, csv([['id', 'u'], ['1', '2024-01-01']]));
    const config = configWith([{ name: 'switch', globs: [`${prefix}*.csv`], format: { filetype: 'csv' } }]);
    const streams = await discoverStreams(config);
    const incremental = await read(config, configuredCatalog(streams, { sync_mode: 'incremental', cursor_field: ['u'] }));
    const full = await read(config, configuredCatalog(streams, { sync_mode: 'full_refresh' }), lastStates(incremental.messages));
    expect(full.code, full.stdout).toBe(0);
    expect(ids(full.records)).toEqual([1]);
  });

  it('reads rows with cursor >= the saved value, skipping unchanged files without download', async () => {
    const prefix = folder('column');
    await putObject(
      client,
      `${prefix}a.csv`,
      csv([['id', 'updated_at'], ['1', '2024-01-01 10:00:00'], ['2', '2024-01-03 10:00:00'], ['3', '2024-01-05 10:00:00']]),
    );
    const config = configWith([{ name: 'orders', globs: [`${prefix}*.csv`], format: { filetype: 'csv' } }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'incremental', cursor_field: ['updated_at'] });
    const first = await read(config, catalog);
    expect(ids(first.records)).toEqual([1, 2, 3]);
    expectRecordsValid(first.records, catalog);
    const state = lastStates(first.messages);
    expect(state[0]!.stream.stream_state).toMatchObject({ cursor_field: 'updated_at', cursor: '2024-01-05 10:00:00' });

    await tick();
    await putObject(
      client,
      `${prefix}b.csv`,
      csv([['id', 'updated_at'], ['4', '2024-01-02 10:00:00'], ['5', '2024-01-05 10:00:00'], ['6', '2024-01-07 10:00:00']]),
    );
    const proxy = new FaultProxy(endpoint());
    const proxied = { ...config, endpoint: await proxy.start() };
    const second = await read(proxied, catalog, state);
    await proxy.stop();
    expect(ids(second.records)).toEqual([5, 6]);
    // a.csv is unchanged since the last sync: not downloaded at all.
    expect(proxy.bytesFor(`${prefix}a.csv`)).toBe(0);
    expect(proxy.bytesFor(`${prefix}b.csv`)).toBeGreaterThan(0);
    expect(lastStates(second.messages)[0]!.stream.stream_state.cursor).toBe('2024-01-07 10:00:00');

    const future = [{ type: 'STREAM', stream: { stream_descriptor: { name: 'orders' }, stream_state: { version: 1, cursor_field: 'updated_at', history: {}, cursor: '9999-12-31 00:00:00' } } }];
    const none = await read(config, catalog, future);
    expect(none.code).toBe(0);
    expect(none.records).toEqual([]);
    expect(none.states.length).toBeGreaterThan(0);
  });
});


describe('a read killed after a mid-file checkpoint', () => {
  it('resumes from the last state it printed without losing a row or re-emitting a completed file', async () => {
    const prefix = folder('killed');
    const range = (from: number, count: number) => Array.from({ length: count }, (_, index) => [String(from + index), `name-${from + index}`]);
    await putObject(client, `${prefix}1-small.csv`, csv([['id', 'name'], ...range(0, 300)]));
    await tick();
    await putObject(client, `${prefix}2-large.csv`, csv([['id', 'name'], ...range(1000, 60_000)]));
    await tick();
    await putObject(client, `${prefix}3-small.csv`, csv([['id', 'name'], ...range(100_000, 300)]));
    const config = configWith([{ name: 'killed', globs: [`${prefix}*.csv`], format: { filetype: 'csv' } }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'incremental' });
    const args = ['read', '--config', writeTempFile('config.json', config), '--catalog', writeTempFile('catalog.json', catalog)];
    // The large file is over the batch size, so it is read alone, with checkpoints inside it.
    const env = { SOURCE_S3_CHECKPOINT_RECORDS: '5000', SOURCE_S3_BATCH_BYTES: '100000' };

    const firstRun = await readUntilKilled(args, env, (message) => message.type === 'STATE' && message.state.stream.stream_state.in_progress?.rows >= 10_000);
    const lastState = lastStates(firstRun as never)[0]!;
    expect(lastState.stream.stream_state.in_progress).toMatchObject({ key: `${prefix}2-large.csv`, rows: 10_000 });
    expect(rememberedKeys(lastState.stream.stream_state)).toEqual([`${prefix}1-small.csv`]);
    const firstIds = ids(firstRun.filter((message) => message.type === 'RECORD').map((message) => message.record));
    expect(firstIds.length).toBeLessThan(60_600);

    const resumed = await read(config, catalog, [lastState], env);
    expect(resumed.code, resumed.stderr).toBe(0);
    const resumedIds = ids(resumed.records);
    // Nothing of the file completed before the checkpoint comes again...
    expect(resumedIds.filter((id) => id < 1000)).toEqual([]);
    // ...the large file resumes exactly at its checkpointed row...
    expect(resumedIds[0]).toBe(1000 + 10_000);
    // ...and together the two runs hold every row.
    const all = new Set([...firstIds, ...resumedIds]);
    expect(all.size).toBe(60_600);
  });
});
