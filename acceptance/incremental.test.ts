/**
 * CAT TestIncremental: a second read with the first read's state, reads resumed from intermediate
 * states, and a read from a state in the far future.
 */
import { describe, expect, it } from 'vitest';
import { acceptance, read, readJson } from './context.js';
import { canonical, checkpoints, checkpointsToResume, cursorAfterStateViolations, lastStatesOf, recordsOf, statesOf, type ConfiguredCatalog } from './records.js';
import type { Json } from './json-walk.js';

const section = acceptance.acceptance_tests.incremental;

/** The streams configured incremental, each with a cursor (its own, or the stream's default). */
function incrementalCatalog(path: string): ConfiguredCatalog {
  const configured: ConfiguredCatalog = readJson(path);
  const streams = configured.streams.filter((stream) => stream.sync_mode === 'incremental');
  expect(streams.length, `${path} configures no incremental stream`).toBeGreaterThan(0);
  return {
    streams: streams.map((stream) => {
      const cursor = stream.cursor_field ?? stream.stream.default_cursor_field;
      expect(cursor, `stream ${stream.stream.name} has neither cursor_field nor default_cursor_field`).toBeDefined();
      return { ...stream, cursor_field: cursor };
    }),
  };
}

describe.runIf(section?.tests !== undefined).each(section?.tests ?? [])('incremental ($config_path)', (test) => {
  it('emits no new records when read again with the first read\'s state', async () => {
    const catalog = incrementalCatalog(test.configured_catalog_path);
    const first = await read(test.config_path, catalog, undefined, test.timeout_seconds);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(recordsOf(first.messages).length).toBeGreaterThan(0);
    expect(statesOf(first.messages).length).toBeGreaterThan(0);
    // As CAT 0.11.5: no record after the cursor value the final state keeps (at cursor_paths).
    const { violations, compared } = cursorAfterStateViolations(first.messages, catalog, test.cursor_paths);
    expect(violations).toEqual([]);
    expect(compared, 'records compared with a cursor value in the state (check cursor_paths)').toBeGreaterThan(0);
    const second = await read(test.config_path, catalog, lastStatesOf(statesOf(first.messages)), test.timeout_seconds);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(recordsOf(second.messages).map((record) => `${record.stream}: ${JSON.stringify(record.data).slice(0, 200)}`)).toEqual([]);
    expect(statesOf(second.messages).length, 'the second read still emits state').toBeGreaterThan(0);
  });

  it.runIf(test.skip_comprehensive_incremental_tests !== true)('resumes from intermediate states without losing records', async () => {
    const catalog = incrementalCatalog(test.configured_catalog_path);
    let resumed = 0;
    for (const configured of catalog.streams) {
      const streamCatalog = { streams: [configured] };
      // Small fixtures hold few records: a safe point after every one, each printed (no minimum time between
      // STATEs), gives states to resume from inside files too.
      const full = await read(test.config_path, streamCatalog, undefined, test.timeout_seconds, { SOURCE_S3_CHECKPOINT_RECORDS: '1', SOURCE_S3_CHECKPOINT_SECONDS: '0' });
      expect(full.exitCode, full.stderr).toBe(0);
      const total = recordsOf(full.messages).length;
      const points = checkpoints(full.messages);
      if (total === 0 || points.length === 0) continue;
      for (const point of checkpointsToResume(points)) {
        const again = await read(test.config_path, streamCatalog, [point.state], test.timeout_seconds);
        expect(again.exitCode, again.stderr).toBe(0);
        const records = recordsOf(again.messages);
        expect(records.length, `${configured.stream.name}: records after a checkpoint with ${point.recordsBefore} of ${total} behind it`).toBeGreaterThanOrEqual(total - point.recordsBefore);
        // As CAT: not the first read again (a model query resumed inside its run does start over, by design).
        expect(records.map((record) => canonical(record.data))).not.toEqual(recordsOf(full.messages).map((record) => canonical(record.data)));
        resumed += 1;
      }
    }
    expect(resumed, 'checkpoints inside streams to resume from').toBeGreaterThanOrEqual(catalog.streams.length);
  });

  it.runIf(test.future_state?.future_state_path !== undefined)('emits no records but emits state when the state is in the future', async () => {
    const catalog = incrementalCatalog(test.configured_catalog_path);
    const futureState: Json[] = readJson(test.future_state!.future_state_path!);
    const covered = new Set(futureState.map((state) => state.stream?.stream_descriptor?.name));
    const missing = new Set((test.future_state!.missing_streams ?? []).map((entry) => entry.name));
    const uncovered = catalog.streams.map((stream) => stream.stream.name as string).filter((name) => !covered.has(name) && !missing.has(name));
    expect(uncovered, 'every incremental stream has a future state (or is a declared missing stream)').toEqual([]);
    const run = await read(test.config_path, catalog, futureState, test.timeout_seconds);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(recordsOf(run.messages).map((record) => record.stream)).toEqual([]);
    expect(statesOf(run.messages).length).toBeGreaterThan(0);
  });
});
