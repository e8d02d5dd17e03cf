/** CAT TestBasicRead: a full read of the discovered catalog, checked record by record. */
import { describe, expect, it } from 'vitest';
import { acceptance, connector, discover, fullRefreshCatalog, read, readJson, readJsonLines, secretsOf, writeCatalog } from './context.js';
import type { ConnectorRun } from './connector.js';
import {
  dataByStream,
  emptyStreams,
  expectedRecordsViolations,
  ignoredPaths,
  primaryKeyViolations,
  recordsOf,
  schemaViolations,
  stateMessageViolations,
  streamStatusViolations,
  type ConfiguredCatalog,
} from './records.js';

const section = acceptance.acceptance_tests.basic_read;

describe.runIf(section?.tests !== undefined).each(section?.tests ?? [])('basic_read ($config_path)', (test) => {
  let result: { catalog: ConfiguredCatalog; run: ConnectorRun } | undefined;
  const fullRead = async () => {
    if (result === undefined) {
      const configured: ConfiguredCatalog = test.configured_catalog_path === undefined ? fullRefreshCatalog(await discover(test.config_path)) : readJson(test.configured_catalog_path);
      // As CAT: streams declared empty are left out of the read.
      const empty = new Set((test.empty_streams ?? []).map((entry) => entry.name));
      const catalog = { streams: configured.streams.filter((stream) => !empty.has(stream.stream.name)) };
      const run = await read(test.config_path, catalog, undefined, test.timeout_seconds);
      expect(run.exitCode, run.stderr).toBe(0);
      result = { catalog, run };
    }
    return result;
  };

  it('reads records from every stream not declared empty', async () => {
    const { catalog, run } = await fullRead();
    expect(recordsOf(run.messages).length).toBeGreaterThan(0);
    expect(emptyStreams(recordsOf(run.messages), catalog, test.empty_streams ?? [])).toEqual([]);
  });

  it.runIf(test.validate_schema !== false)('emits records valid against the catalog schemas', async () => {
    const { catalog, run } = await fullRead();
    expect(schemaViolations(recordsOf(run.messages), catalog, test.fail_on_extra_columns !== false)).toEqual([]);
  });

  it.runIf(test.validate_primary_keys_data_type !== false)('emits scalar primary keys, never all null', async () => {
    const { catalog, run } = await fullRead();
    expect(primaryKeyViolations(recordsOf(run.messages), catalog)).toEqual([]);
  });

  it.runIf(test.validate_stream_statuses !== false)('emits STARTED, RUNNING and COMPLETE for every stream', async () => {
    const { catalog, run } = await fullRead();
    expect(streamStatusViolations(run.messages, catalog)).toEqual([]);
  });

  it.runIf(test.validate_state_messages !== false)('emits per-stream STATE messages with record counts', async () => {
    const { catalog, run } = await fullRead();
    expect(stateMessageViolations(run.messages, catalog)).toEqual([]);
  });

  it.runIf(test.expect_records?.path !== undefined)('emits the expected records', async () => {
    const { catalog, run } = await fullRead();
    const expected = dataByStream(readJsonLines(test.expect_records!.path!).map((line) => {
      expect(line, 'expected records are {stream, data, emitted_at} lines').toEqual({ stream: expect.any(String), data: expect.any(Object), emitted_at: expect.any(Number) });
      return line;
    }));
    const actual = dataByStream(recordsOf(run.messages));
    const empty = new Set((test.empty_streams ?? []).map((entry) => entry.name));
    if (acceptance.test_strictness_level === 'high') {
      const uncovered = catalog.streams.map((configured) => configured.stream.name as string).filter((name) => !empty.has(name) && !expected.has(name));
      expect(uncovered, 'high strictness: every stream has expected records').toEqual([]);
    }
    const problems = [...expected.entries()].flatMap(([stream, records]) =>
      expectedRecordsViolations(stream, records, actual.get(stream) ?? [], test.expect_records!, ignoredPaths(test.ignored_fields, stream)),
    );
    expect(problems).toEqual([]);
  });

  it.runIf(test.expect_trace_message_on_failure !== false)('answers a read of a stream that does not exist with a TRACE error', async () => {
    const catalog = {
      streams: [
        {
          stream: { name: '__AIRBYTE__stream_that_does_not_exist', json_schema: { type: 'object', properties: { f1: { type: 'string' } } }, supported_sync_modes: ['full_refresh'] },
          sync_mode: 'INVALID',
          destination_sync_mode: 'INVALID',
        },
      ],
    };
    const run = await connector.run(['read', '--config', test.config_path, '--catalog', writeCatalog(catalog)], { secrets: secretsOf(readJson(test.config_path)) });
    expect(run.messages.filter((message) => message.type === 'TRACE' && message.trace.type === 'ERROR').length).toBeGreaterThan(0);
    expect(run.exitCode).not.toBe(0);
  });
});
