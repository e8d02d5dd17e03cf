import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { LineForwarder } from '../../src/protocol/forwarder.js';
import { OutputWriter } from '../../src/protocol/output.js';
import { Limiter } from '../../src/streams/concurrency.js';
import { formatProgress, ProgressDisplay } from '../../src/streams/progress.js';
import { objectVersion, StreamState } from '../../src/streams/state.js';
import { shortVersion } from '../../src/streams/state-encoding.js';

const dir = mkdtempSync(join(tmpdir(), 'source-s3-parts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const object = (key: string, iso: string, version: { size?: number; etag?: string } = {}) => ({ key, size: version.size ?? 1, lastModified: new Date(iso), ...(version.etag === undefined ? {} : { etag: version.etag }) });
const position = { key: 'a', last_modified: '2024-01-01T00:00:00.000Z', rows: 5 };
const DAY = 24 * 3600 * 1000;

/** Another process writes the FIFO, as DuckDB does: a write here would block the loop that reads it. */
function writeFromChild(fifo: string, text: string): void {
  const source = join(dir, `source-${Math.random()}`);
  writeFileSync(source, text);
  spawn('sh', ['-c', `cat "$0" > "$1"`, source, fifo], { stdio: 'ignore' });
}

describe('StreamState', () => {
  it('counts a file synced when history has it at the same or a later time', () => {
    const state = StreamState.fresh('_ab_source_file_last_modified', false);
    state.markSynced(object('a', '2024-01-02T00:00:00Z'));
    expect(state.isSynced(object('a', '2024-01-02T00:00:00Z'))).toBe(true);
    expect(state.isSynced(object('a', '2024-01-01T00:00:00Z'))).toBe(true);
    expect(state.isSynced(object('a', '2024-01-03T00:00:00Z'))).toBe(false);
    expect(state.isSynced(object('b', '2024-01-01T00:00:00Z'))).toBe(false);
  });

  it('bounds history, dropping the oldest and remembering a cutoff', () => {
    const state = StreamState.fresh('_ab_source_file_last_modified', false, 's', { maxFiles: 3, windowMs: 365 * DAY });
    for (let day = 1; day <= 5; day++) state.markSynced(object(`f${day}`, `2024-01-0${day}T00:00:00Z`));
    const blob = state.toBlob(true);
    expect([...StreamState.fromInput('s', blob, '_ab_source_file_last_modified', false).history.keys()]).toEqual(['f3', 'f4', 'f5']);
    expect(blob.history_cutoff).toBe('2024-01-02T00:00:00.000Z');
    expect(blob.history_cutoff_key).toBe('f2');
    // Older than the cutoff and not in history: synced before, counted as such.
    expect(state.isSynced(object('f1', '2024-01-01T00:00:00Z'))).toBe(true);
    expect(state.isSynced(object('new', '2024-01-02T00:00:01Z'))).toBe(false);
  });

  it('orders the cutoff by time then key, so files sharing a second are not skipped by mistake', () => {
    const state = StreamState.fresh('_ab_source_file_last_modified', false, 's', { maxFiles: 2, windowMs: DAY });
    const second = '2024-01-01T00:00:00Z';
    state.markSynced(object('hist/1.csv', second));
    state.markSynced(object('hist/2.csv', second));
    state.markSynced(object('hist/3.csv', second));
    expect(state.toBlob(false)).toMatchObject({ history_cutoff_key: 'hist/1.csv' });
    expect(state.isSynced(object('hist/1.csv', second))).toBe(true);
    expect(state.isSynced(object('hist/4.csv', second))).toBe(false);
    const resumed = StreamState.fromInput('s', state.toBlob(false), '_ab_source_file_last_modified', false);
    expect(resumed.isSynced(object('hist/4.csv', second))).toBe(false);
    expect(resumed.isSynced(object('hist/0.csv', second))).toBe(true);
  });

  it('keeps the column cursor as the filter until the stream completes', () => {
    const state = StreamState.fromInput('s', { version: 1, cursor_field: 'updated_at', history: {}, cursor: '2024-01-05' }, 'updated_at', false);
    state.raisePendingCursor('2024-01-09');
    state.raisePendingCursor(null);
    expect(state.toBlob(false)).toMatchObject({ cursor: '2024-01-05', pending_cursor: '2024-01-09' });
    expect(state.toBlob(true)).toMatchObject({ cursor: '2024-01-09' });
    expect(state.toBlob(true)).not.toHaveProperty('pending_cursor');
  });

  it('keeps the boundary of the saved cursor until the cursor moves, then the new one', () => {
    const blob = { version: 1, cursor_field: 'updated_at', history: {}, cursor: '2024-01-05', cursor_boundary: { rows: 2, hash: '123' } };
    const state = StreamState.fromInput('s', blob, 'updated_at', false);
    expect(state.boundary).toEqual({ rows: 2, hash: '123' });
    state.raisePendingCursor('2024-01-09');
    state.pendingBoundary = { rows: 1, hash: '456' };
    expect(state.toBlob(false)).toMatchObject({ cursor: '2024-01-05', cursor_boundary: { rows: 2, hash: '123' } });
    expect(state.toBlob(true)).toMatchObject({ cursor: '2024-01-09', cursor_boundary: { rows: 1, hash: '456' } });
    // A boundary it cannot read is dropped: the rows at the cursor only come again.
    expect(StreamState.fromInput('s', { ...blob, cursor_boundary: { rows: -1, hash: 'x' } }, 'updated_at', false).boundary).toBeUndefined();
  });

  it('resumes a full refresh only when it did not finish', () => {
    const unfinished = { version: 1, cursor_field: '_ab_source_file_last_modified', history: { a: '2024-01-01T00:00:00.000Z' }, full_refresh_in_progress: true };
    expect(StreamState.fromInput('s', unfinished, '_ab_source_file_last_modified', true).isSynced(object('a', '2024-01-01T00:00:00Z'))).toBe(true);
    const finished = { version: 1, cursor_field: '_ab_source_file_last_modified', history: { a: '2024-01-01T00:00:00.000Z' } };
    expect(StreamState.fromInput('s', finished, '_ab_source_file_last_modified', true).isSynced(object('a', '2024-01-01T00:00:00Z'))).toBe(false);
  });

  it('knows the rows already emitted of the file in progress, only while the file is unchanged', () => {
    const blob = { version: 1, cursor_field: '_ab_source_file_last_modified', history: {}, in_progress: { key: 'a', last_modified: '2024-01-01T00:00:00.000Z', rows: 500 } };
    const state = StreamState.fromInput('s', blob, '_ab_source_file_last_modified', false);
    expect(state.rowsDone(object('a', '2024-01-01T00:00:00Z'))).toBe(500);
    expect(state.rowsDone(object('a', '2024-01-02T00:00:00Z'))).toBe(0);
    expect(state.rowsDone(object('b', '2024-01-01T00:00:00Z'))).toBe(0);
  });

  it('tells versions apart by ETag and size, quotes dropped, size alone without an ETag', () => {
    expect(objectVersion(object('a', '2024-01-01T00:00:00Z', { size: 12, etag: '"9b2cf535f27731c974343645a3985328"' }))).toBe('12:9b2cf535f27731c974343645a3985328');
    expect(objectVersion(object('a', '2024-01-01T00:00:00Z', { size: 12, etag: '"3858f62230ac3c915f300c664312c11f-3"' }))).toBe('12:3858f62230ac3c915f300c664312c11f-3');
    expect(objectVersion(object('a', '2024-01-01T00:00:00Z', { size: 12 }))).toBe('12');
    expect(objectVersion(object('a', '2024-01-01T00:00:00Z', { size: 12, etag: '""' }))).toBe('12');
  });

  it('counts a file synced only in the version it was synced in, even within the same second', () => {
    const second = '2024-01-02T00:00:00Z';
    const state = StreamState.fresh('_ab_source_file_last_modified', false);
    state.markSynced(object('a', second, { size: 10, etag: '"aaa"' }));
    expect(state.toBlob(true)).toMatchObject({ files: [`0 a 0 ${shortVersion('10:aaa')}`], files_since: '2024-01-02T00:00:00.000Z' });
    const resumed = StreamState.fromInput('s', state.toBlob(true), '_ab_source_file_last_modified', false);
    for (const synced of [state, resumed]) {
      expect(synced.isSynced(object('a', second, { size: 10, etag: '"aaa"' }))).toBe(true);
      expect(synced.isSynced(object('a', second, { size: 10, etag: '"bbb"' }))).toBe(false);
      expect(synced.isSynced(object('a', second, { size: 11, etag: '"aaa"' }))).toBe(false);
      expect(synced.isSynced(object('a', '2024-01-02T00:00:01Z', { size: 10, etag: '"aaa"' }))).toBe(false);
    }
    // An entry from before versions were kept: the old rule, time alone.
    const old = StreamState.fromInput('s', { version: 1, cursor_field: '_ab_source_file_last_modified', history: { a: '2024-01-02T00:00:00.000Z' } }, '_ab_source_file_last_modified', false);
    expect(old.isSynced(object('a', second, { size: 99, etag: '"zzz"' }))).toBe(true);
    expect(old.isSynced(object('a', '2024-01-02T00:00:01Z'))).toBe(false);
  });

  it('resumes mid-file only in the same version of the file', () => {
    const state = StreamState.fresh('_ab_source_file_last_modified', false);
    const first = object('a', '2024-01-01T00:00:00Z', { size: 10, etag: '"aaa"' });
    state.markProgress(first, 500);
    expect(state.toBlob(false).in_progress).toEqual({ key: 'a', last_modified: '2024-01-01T00:00:00.000Z', rows: 500, version: '10:aaa' });
    const resumed = StreamState.fromInput('s', state.toBlob(false), '_ab_source_file_last_modified', false);
    expect(resumed.rowsDone(first)).toBe(500);
    expect(resumed.rowsDone({ ...first, etag: '"bbb"' })).toBe(0);
    expect(resumed.rowsDone({ ...first, size: 11 })).toBe(0);
    // Without a version (states from before): same key and time is enough, as it was.
    const old = StreamState.fromInput('s', { version: 1, cursor_field: '_ab_source_file_last_modified', history: {}, in_progress: { ...position, rows: 500 } }, '_ab_source_file_last_modified', false);
    expect(old.rowsDone({ ...first, etag: '"bbb"' })).toBe(500);
  });

  it.each([
    [[], 'is not an object'],
    [{ version: 3, cursor_field: 'x', files: [] }, 'has version 3'],
    [{ version: 2, cursor_field: '_ab_source_file_last_modified', history: {} }, 'has no files list'],
    [{ version: 2, cursor_field: '_ab_source_file_last_modified', files: ['0 a 0 -'] }, 'has an unreadable files_since undefined'],
    [{ version: 2, cursor_field: '_ab_source_file_last_modified', files_since: '2024-01-01T00:00:00Z', files: ['0 a 0 -', '5 b 0 -'] }, 'unreadable files entry 1 ("5 b 0 -"): it shares "5" characters'],
    [{ version: 2, cursor_field: '_ab_source_file_last_modified', files_since: '2024-01-01T00:00:00Z', files: ['0 a zz! -'] }, 'unreadable files entry 0 ("0 a zz! -"): it has an unreadable time offset'],
    [{ version: 2, cursor_field: '_ab_source_file_last_modified', files_since: '2024-01-01T00:00:00Z', files: ['0 b 0 -', '0 a 0 -'] }, 'is not after the previous key'],
    [{ version: 2, cursor_field: '_ab_source_file_last_modified', files_since: '2024-01-01T00:00:00Z', files: ['0 a 0 12:etag'] }, 'has an unreadable version'],
    [{ version: 2, cursor_field: '_ab_source_file_last_modified', files_since: '2024-01-01T00:00:00Z', files: [7] }, 'files entry 0 (7): it is not a string'],
    [{ version: 1, cursor_field: '_ab_source_file_last_modified', history: { a: 'yesterday' } }, 'unreadable history entry for file "a": "yesterday"'],
    [{ version: 1, cursor_field: '_ab_source_file_last_modified', history: { a: '2024-01-01T00:00:00.000Z|' } }, 'unreadable history entry for file "a"'],
    [{ version: 1, cursor_field: '_ab_source_file_last_modified', history: { a: 17 } }, 'unreadable history entry for file "a": 17'],
    [{ version: 1, cursor_field: '_ab_source_file_last_modified', history: {}, in_progress: { key: 'a' } }, 'unreadable in_progress'],
    [{ version: 1, cursor_field: '_ab_source_file_last_modified', history: {}, in_progress: 'a' }, 'unreadable in_progress'],
    [{ version: 1, cursor_field: '_ab_source_file_last_modified', history: {}, in_progress: { ...position, rows: -1 } }, 'has in_progress.rows -1 for file "a"'],
    [{ version: 1, cursor_field: '_ab_source_file_last_modified', history: {}, in_progress: { ...position, rows: 2.5 } }, 'has in_progress.rows 2.5'],
    [{ version: 1, cursor_field: '_ab_source_file_last_modified', history: {}, in_progress: { ...position, rows: 1e20 } }, 'has in_progress.rows 100000000000000000000'],
    [{ version: 1, cursor_field: '_ab_source_file_last_modified', history: {}, in_progress: { ...position, rows: '5' } }, 'has in_progress.rows "5"'],
    [{ version: 1, cursor_field: '_ab_source_file_last_modified', history: {}, in_progress: { ...position, version: 7 } }, 'unreadable in_progress.version 7'],
  ])('refuses %j', (blob, reason) => {
    expect(() => StreamState.fromInput('orders', blob, '_ab_source_file_last_modified', false)).toThrow(reason);
  });
});

describe('LineForwarder', () => {
  it('forwards whole lines only, with checkpoints between lines, and drops an unfinished last line', async () => {
    const fifo = join(dir, 'lines.fifo');
    execFileSync('mkfifo', [fifo]);
    const outPath = join(dir, 'out.txt');
    const outFd = openSync(outPath, 'w');
    const out = new OutputWriter(outFd);
    const forwarder = new LineForwarder(out);
    const checkpoints: number[] = [];
    const forwarding = forwarder.forward(fifo, {
      checkpointEvery: 3,
      checkpoint: async (lines) => {
        checkpoints.push(lines);
        await out.log('INFO', `checkpoint ${lines}`);
      },
    });
    writeFromChild(fifo, `${Array.from({ length: 7 }, (_, index) => `{"n":${index + 1}}\n`).join('')}{"n":8, "cut her`);
    const result = await forwarding;
    closeSync(outFd);
    expect(result).toMatchObject({ lines: 7 });
    expect(result.unfinished).toBeGreaterThan(0);
    expect(checkpoints).toEqual([3, 6]);
    const text = (await import('node:fs')).readFileSync(outPath, 'utf8');
    expect(text.split('\n')).toEqual([
      '{"n":1}',
      '{"n":2}',
      '{"n":3}',
      '{"type":"LOG","log":{"level":"INFO","message":"checkpoint 3"}}',
      '{"n":4}',
      '{"n":5}',
      '{"n":6}',
      '{"type":"LOG","log":{"level":"INFO","message":"checkpoint 6"}}',
      '{"n":7}',
      '',
    ]);
  });

  it('carries lines longer than its buffer', async () => {
    const fifo = join(dir, 'long.fifo');
    execFileSync('mkfifo', [fifo]);
    const outPath = join(dir, 'long.txt');
    const outFd = openSync(outPath, 'w');
    const forwarding = new LineForwarder(new OutputWriter(outFd)).forward(fifo, { checkpointEvery: 0, checkpoint: async () => undefined });
    const long = 'x'.repeat(3 << 20);
    writeFromChild(fifo, `${long}\nshort\n`);
    expect((await forwarding).lines).toBe(2);
    closeSync(outFd);
    expect((await import('node:fs')).readFileSync(outPath, 'utf8')).toBe(`${long}\nshort\n`);
  });
});

describe('Limiter', () => {
  it('runs at most `limit` tasks at once, keeping result order', async () => {
    let running = 0;
    let peak = 0;
    const results = await new Limiter(2).map([5, 1, 3, 2], async (delay) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, delay));
      running--;
      return delay;
    });
    expect(results).toEqual([5, 1, 3, 2]);
    expect(peak).toBe(2);
  });
});

describe('progress display', () => {
  it('draws one line per stream on a terminal, and nothing otherwise', () => {
    const written: string[] = [];
    const terminal = { isTTY: true, write: (text: string) => written.push(text) > 0 };
    const display = new ProgressDisplay('orders', 3, terminal);
    display.update({ files: 1, rows: 12_345, bytes: 2_500_000 }, true);
    display.finish();
    expect(written[0]).toMatch(/^\r\x1b\[2Korders: 1\/3 files, 12,345 rows, 2\.5 MB, [\d,]+ rows\/s$/);
    expect(written.at(-1)).toBe('\n');
    const silent: string[] = [];
    const pipe = new ProgressDisplay('orders', 3, { isTTY: false, write: (text: string) => silent.push(text) > 0 });
    pipe.update({ rows: 5 }, true);
    pipe.finish();
    expect(silent).toEqual([]);
    expect(formatProgress('s', 2, 2, 1_000_000, 5e6, 2)).toBe('s: 2/2 files, 1,000,000 rows, 5.0 MB, 500,000 rows/s');
  });
});

describe('OutputWriter on a Writable', () => {
  it('refuses raw bytes without a file descriptor', () => {
    expect(() => new OutputWriter(new PassThrough()).writeBytes(Buffer.from('x\n'), 0, 2)).toThrow('file descriptor');
  });
});
