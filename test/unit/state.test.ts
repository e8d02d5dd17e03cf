import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { OutputWriter } from '../../src/protocol/output.js';
import { StateCheckpoints, STATE_SHARE_OF_OUTPUT } from '../../src/streams/checkpoints.js';
import { decodeFiles, encodeFiles, shortVersion } from '../../src/streams/state-encoding.js';
import { objectVersion, StreamState, type HistoryLimits } from '../../src/streams/state.js';
import type { S3Object } from '../../src/s3/settings.js';

const FILE_CURSOR = '_ab_source_file_last_modified';
const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;
const object = (key: string, time: number | string, size = 10, etag = `"${key.length}${size}"`): S3Object => ({
  key,
  size,
  etag,
  lastModified: new Date(time),
});
/** A state as the next sync reads it: printed as JSON, parsed back. */
const reread = (state: StreamState, final = true, limits?: HistoryLimits) => StreamState.fromInput('s', JSON.parse(JSON.stringify(state.toBlob(final))), FILE_CURSOR, false, limits);

describe('the compact file list (state version 2)', () => {
  it('round-trips keys sharing prefixes, odd keys, milliseconds and missing versions', () => {
    const base = Date.parse('2026-11-30T00:00:00Z');
    const files = [
      { key: 'exports/2026/11/30/part-000123.csv', time: base, version: shortVersion('12:abc') },
      { key: 'exports/2026/11/30/part-000124.csv', time: base + 7 * HOUR, version: shortVersion('13:abd') },
      { key: 'exports/2026/11/30/part-000124.csv.gz', time: base + 1500 },
      { key: 'with spaces / and | bars  twice .csv', time: base + 1 },
      { key: 'ünïcödé/😀/naïve.csv', time: base + DAY, version: shortVersion('1') },
      { key: 'x', time: base + 999 },
    ];
    const encoded = encodeFiles(files)!;
    expect(encoded.since).toBe('2026-11-30T00:00:00.000Z');
    // Sorted by key; the second shares 29 characters (base 36: t) with the first, 7 hours later (25,200 s: jg0).
    expect(encoded.files[0]).toBe(`0 exports/2026/11/30/part-000123.csv 0 ${shortVersion('12:abc')}`);
    expect(encoded.files[1]).toBe(`t 4.csv jg0 ${shortVersion('13:abd')}`);
    expect(encoded.files[2]).toBe('y .gz 1.500 -'); // 34 shared characters; 1.5 s, no version known
    const decoded = decodeFiles(Date.parse(encoded.since), JSON.parse(JSON.stringify(encoded.files)) as unknown[]);
    expect(decoded).toEqual([...files].sort((a, b) => (a.key < b.key ? -1 : 1)));
  });

  it('keeps about 23 bytes per file for keys like exports/2026/11/30/part-000123.csv', () => {
    const base = Date.parse('2026-11-30T00:00:00Z');
    const files = Array.from({ length: 10_000 }, (_, index) => ({
      key: `exports/2026/11/30/part-${String(index).padStart(6, '0')}.csv`,
      time: base + index * 8000,
      version: shortVersion(`${1000 + index}:${index.toString(16).padStart(32, '0')}`),
    }));
    const bytes = JSON.stringify(encodeFiles(files)).length;
    console.log(`10,000 files in a state: ${bytes} bytes, ${(bytes / 10_000).toFixed(1)} per file`);
    expect(bytes / 10_000).toBeLessThan(25);
  });

  it('tells a same-second rewrite apart by the short version', () => {
    const second = '2026-11-30T12:00:00Z';
    const state = StreamState.fresh(FILE_CURSOR, false, 's');
    state.markSynced(object('a.csv', second, 100, '"aaaa"'));
    const next = reread(state);
    expect(next.isSynced(object('a.csv', second, 100, '"aaaa"'))).toBe(true);
    expect(next.isSynced(object('a.csv', second, 100, '"bbbb"'))).toBe(false);
    expect(next.isSynced(object('a.csv', second, 101, '"aaaa"'))).toBe(false);
  });
});

describe('states printed by earlier versions', () => {
  interface V1Fixture {
    objects: { key: string; size: number; etag: string; last_modified: string; body: string }[];
    states: { stream: { stream_state: Record<string, unknown> }; sourceStats: { recordCount: number } }[];
  }
  const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'state-v1-main.json'), 'utf8')) as V1Fixture;
  const objects = fixture.objects.map((listed) => object(listed.key, listed.last_modified, listed.size, listed.etag));
  const rowsOf = (key: string) => fixture.objects.find((listed) => listed.key === key)!.body.trim().split('\n').length - 1;

  it('resumes from every STATE main printed (version 1) with no row lost or emitted twice', () => {
    expect(fixture.states.length).toBe(8);
    let emitted = 0;
    for (const [index, message] of fixture.states.entries()) {
      emitted += message.sourceStats.recordCount;
      const blob = message.stream.stream_state;
      expect(blob.version).toBe(1);
      for (const state of [StreamState.fromInput('exports', blob, FILE_CURSOR, false), reread(StreamState.fromInput('exports', blob, FILE_CURSOR, false), false)]) {
        // Read order is upload order here: the synced files are the first ones, then maybe a file partly done.
        const synced = objects.filter((listed) => state.isSynced(listed));
        expect(synced, `state ${index}`).toEqual(objects.slice(0, synced.length));
        const partly = objects[synced.length];
        const done = synced.reduce((total, listed) => total + rowsOf(listed.key), 0) + (partly === undefined ? 0 : state.rowsDone(partly));
        expect(done, `state ${index}: rows done = records printed up to it`).toBe(emitted);
      }
    }
    expect(emitted).toBe(objects.reduce((total, listed) => total + rowsOf(listed.key), 0));
  });

  it('reads Airbyte S3 connector states (history of bare times, no version)', () => {
    const state = StreamState.fromInput('s', { history: { 'a.csv': '2026-11-30T12:00:00.000000Z' }, _ab_source_file_last_modified: '2026-11-30T12:00:00.000000Z_a.csv' }, FILE_CURSOR, false);
    for (const read of [state, reread(state)]) {
      expect(read.isSynced(object('a.csv', '2026-11-30T12:00:00Z', 1, '"x"'))).toBe(true);
      expect(read.isSynced(object('a.csv', '2026-11-30T12:00:01Z'))).toBe(false);
      expect(read.isSynced(object('b.csv', '2026-11-30T11:00:00Z'))).toBe(false);
    }
    expect(reread(state).toBlob(true).files).toEqual(['0 a.csv 0 -']);
  });
});

describe('the history window', () => {
  it('keeps a bucket of hourly exports at a few days of files, however long it syncs', () => {
    const limits = { maxFiles: 10_000, windowMs: 3 * DAY };
    let state = StreamState.fresh(FILE_CURSOR, false, 's', limits);
    const start = Date.parse('2026-01-01T00:00:00Z');
    const hourly = Array.from({ length: 24 * 365 }, (_, hour) => object(`exports/hourly/${new Date(start + hour * HOUR).toISOString().slice(0, 13)}.csv`, start + hour * HOUR));
    let sizes: number[] = [];
    // One sync a day, each resuming from the last state of the one before.
    for (let day = 0; day < 365; day++) {
      const toRead = hourly.slice(0, (day + 1) * 24).filter((listed) => !state.isSynced(listed));
      expect(toRead.length).toBe(24);
      for (const listed of toRead) state.markSynced(listed);
      sizes.push(JSON.stringify(state.toBlob(true)).length);
      state = reread(state, true, limits);
    }
    sizes = sizes.slice(3);
    expect(Math.max(...sizes)).toBeLessThan(2500);
    expect(state.history.size).toBe(3 * 24 + 1);
    // A file appearing late with a last-modified inside the window is read; one older than the window is taken as synced.
    const newest = start + (365 * 24 - 1) * HOUR;
    expect(state.isSynced(object('exports/hourly/late-upload.csv', newest - 2 * DAY))).toBe(false);
    expect(state.isSynced(object('exports/hourly/very-late-upload.csv', newest - 4 * DAY))).toBe(true);
  });

  it('keeps each STATE of a 100,000-file burst under 1 MB, and every file synced', () => {
    const limits = { maxFiles: 10_000, windowMs: 3 * DAY };
    const state = StreamState.fresh(FILE_CURSOR, false, 's', limits);
    const start = Date.parse('2026-11-30T00:00:00Z');
    const burst = Array.from({ length: 100_000 }, (_, index) =>
      object(`events/2026/11/30/${String(index % 24).padStart(2, '0')}/event-${String(index).padStart(7, '0')}.jsonl`, start + Math.floor(index / 30) * 1000, 100 + index, `"${index.toString(16).padStart(32, '0')}"`),
    );
    let largest = 0;
    for (const [index, listed] of burst.entries()) {
      state.markSynced(listed);
      if (index % 20_000 === 19_999) largest = Math.max(largest, JSON.stringify(state.toBlob(false)).length);
    }
    const last = JSON.stringify(state.toBlob(true));
    console.log(`100,000 files uploaded within an hour: STATE of ${last.length} bytes (${state.history.size} files remembered)`);
    expect(Math.max(largest, last.length)).toBeLessThan(1_000_000);
    expect(state.history.size).toBe(10_000);
    const next = reread(state, true, limits);
    expect(burst.every((listed) => next.isSynced(listed))).toBe(true);
    // A rewrite of a remembered file (same second, new content) is read again.
    const remembered = burst.at(-1)!;
    expect(next.isSynced({ ...remembered, etag: '"rewritten"' })).toBe(false);
  });

  it('never folds the cutoff past the file in progress', () => {
    const limits = { maxFiles: 1, windowMs: 0 };
    const state = StreamState.fresh(FILE_CURSOR, false, 's', limits);
    // A file synced by an earlier run, newer than the late file now being read.
    state.markSynced(object('new.csv', '2026-11-30T12:00:00Z'));
    state.markSynced(object('older.csv', '2026-11-30T10:00:00Z'));
    const late = object('late.csv', '2026-11-30T09:00:00Z');
    state.markProgress(late, 7);
    const resumed = reread(state, false, limits);
    expect(resumed.isSynced(late)).toBe(false);
    expect(resumed.rowsDone(late)).toBe(7);
  });

  it('never folds the cutoff past a file this sync has still to read (a batch between safe points, a lowered cap)', () => {
    // An earlier sync remembered two files; the cap is lower now, and a late file older than both appeared.
    const earlier = StreamState.fresh(FILE_CURSOR, false, 's', { maxFiles: 10, windowMs: 7 * DAY });
    earlier.markSynced(object('a.csv', '2026-11-30T10:00:00Z'));
    earlier.markSynced(object('b.csv', '2026-11-30T11:00:00Z'));
    const limits = { maxFiles: 1, windowMs: 7 * DAY };
    const state = reread(earlier, true, limits);
    const late = object('late.csv', '2026-11-30T09:00:00Z');
    const next = object('c.csv', '2026-11-30T12:00:00Z');
    expect(state.isSynced(late)).toBe(false);
    state.willRead([late, next]);
    // A STATE printed while the late file is being read in a batch (no in_progress position).
    const during = reread(state, false, limits);
    expect(during.isSynced(late)).toBe(false);
    expect(during.isSynced(next)).toBe(false);
    state.markSynced(late);
    state.markSynced(next);
    const after = reread(state, true, limits);
    for (const file of [late, next, object('a.csv', '2026-11-30T10:00:00Z'), object('b.csv', '2026-11-30T11:00:00Z')]) expect(after.isSynced(file)).toBe(true);
  });

  it('reads the window and the cap from the environment', () => {
    expect(StreamState.fresh(FILE_CURSOR, false).limits).toEqual({ maxFiles: 10_000, windowMs: 3 * DAY });
  });
});

describe('StateCheckpoints', () => {
  function harness(rules: { records: number; seconds: number }) {
    const sink = new PassThrough();
    const lines: Record<string, any>[] = [];
    let pending = '';
    sink.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const parts = pending.split('\n');
      pending = parts.pop()!;
      for (const part of parts) lines.push(JSON.parse(part) as Record<string, any>);
    });
    const out = new OutputWriter(sink);
    let now = 0;
    const checkpoints = new StateCheckpoints(out, 's', rules, () => now);
    return { out, lines, checkpoints, advance: (ms: number) => (now += ms), states: () => lines.filter((line) => line.type === 'STATE') };
  }
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('prints at every safe point with SOURCE_S3_CHECKPOINT_SECONDS=0, but not a state unchanged since the last', async () => {
    const { checkpoints, states } = harness({ records: 10_000, seconds: 0 });
    expect(await checkpoints.offer(false, () => ({ n: 1 }), { records: 1 })).toBe(true);
    expect(await checkpoints.offer(false, () => ({ n: 2 }), { records: 0 })).toBe(true);
    expect(await checkpoints.offer(false, () => ({ n: 2 }), { records: 0 })).toBe(false);
    expect(await checkpoints.offer(true, () => ({ n: 2 }), { records: 0 })).toBe(true);
    await settle();
    expect(states().map((message) => message.state.stream.stream_state.n)).toEqual([1, 2, 2]);
  });

  it('prints once the time has come, and for records only while the state is a small share of the output', async () => {
    const { out, checkpoints, advance, states } = harness({ records: 100, seconds: 60 });
    const big = { files: 'x'.repeat(10_000) };
    // Records enough, but 10 KB of state after 100 short records: held back.
    await out.log('INFO', 'y'.repeat(1000));
    expect(await checkpoints.offer(false, () => big, { records: 150 })).toBe(false);
    // Output enough to carry it.
    await out.log('INFO', 'y'.repeat(10_100 / STATE_SHARE_OF_OUTPUT));
    expect(await checkpoints.offer(false, () => big, { records: 300 })).toBe(true);
    // Few records: only time makes it due.
    expect(await checkpoints.offer(false, () => big, { records: 5 })).toBe(false);
    advance(59_000);
    expect(await checkpoints.offer(false, () => big, { records: 5 })).toBe(false);
    advance(1_000);
    expect(await checkpoints.offer(false, () => ({ ...big, more: 1 }), { records: 5, rejected: 2 })).toBe(true);
    // The end of the stream always prints.
    expect(await checkpoints.offer(true, () => big, { records: 0 })).toBe(true);
    await settle();
    expect(states().map((message) => message.state.sourceStats)).toEqual([{ recordCount: 300 }, { recordCount: 5, rejectedRecordCount: 2 }, { recordCount: 0 }]);
  });

  it('does not serialize the state at safe points where no STATE can be due', async () => {
    const { checkpoints } = harness({ records: 100, seconds: 60 });
    let built = 0;
    const blob = () => (built++, { a: 1 });
    for (let file = 0; file < 1000; file++) await checkpoints.offer(false, blob, { records: 50 });
    expect(built).toBe(0);
  });
});

it('objectVersion feeds the short version', () => {
  expect(shortVersion(objectVersion(object('a', 0, 12, '"9b2c"')))).toBe(shortVersion('12:9b2c'));
  expect(shortVersion('12:9b2c')).toMatch(/^[A-Za-z0-9_-]{8}$/);
});
