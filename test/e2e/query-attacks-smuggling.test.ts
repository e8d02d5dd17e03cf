/**
 * Statement smuggling, written as an attacker would: one model query that the
 * rules check as a single SELECT but whose rendering (DuckDB's
 * json_deserialize_sql writes a quoted star qualifier back unquoted) holds
 * further statements. Whatever the payload, `check` must not succeed, and a
 * read whose first stream is the attacker's must leave every later stream's
 * records and state exactly as a read without it does.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check } from '../support/cli.js';
import { BUCKET } from '../support/constants.js';
import { configWith, discoverStreams, read, type ReadResult, type Schema } from '../support/read.js';
import { putObject, testClient } from '../support/s3-client.js';

const client = testClient();
const PREFIX = 'attack-smuggle/';
const URL = `s3://${BUCKET}/${PREFIX}`;
const ATTACKER_FILE = `${URL}k.csv`;
const COPY_TARGET = join(tmpdir(), `source-s3-smuggled-${process.pid}.csv`);

beforeAll(async () => {
  await putObject(client, `${PREFIX}k.csv`, 'a,b\n1,x\n2,y\n');
  // The victims: a CSV file stream (doubles, timestamps, one malformed row skipped and counted) ...
  await putObject(
    client,
    `${PREFIX}victim/orders.csv`,
    'id,name,amount,updated_at\n1,Alice,1.5,2024-01-01 00:00:00\n2,Bob,2.5,2024-01-02 00:00:00\n3,Carol,3.5,2024-01-03 00:00:00,extra\n4,Dan,,2024-01-04 00:00:00\n',
  );
  // ... and an incremental query stream whose own SQL calls the built-ins an attacker would shadow.
  await putObject(client, `${PREFIX}victim/events.csv`, 'id,kind,score,seen_at\n1,OPEN,0.5,2024-02-01 10:00:00\n2,Close,,2024-02-02 10:00:00\n3,open,2.25,2024-02-03 10:00:00\n');
});
afterAll(() => client.destroy());

const victimStreams = [
  { name: 'victim_file', globs: [`${PREFIX}victim/orders.csv`], format: { filetype: 'csv' }, on_error: 'skip' },
  {
    name: 'victim_query',
    query: `SELECT id, lower(kind) AS kind, coalesce(score, -1) AS score, greatest(score, 1) AS floor_one, isfinite(score) AS finite, seen_at FROM '${URL}victim/events.csv'`,
  },
];

/** A catalog entry for a stream that discover refuses (the attacker's). */
const blindEntry = (name: string) => ({
  stream: { name, json_schema: { type: 'object', properties: {} }, supported_sync_modes: ['full_refresh'] },
  sync_mode: 'full_refresh',
  destination_sync_mode: 'overwrite',
});

let victimCatalog: Schema[];
let alone: { records: unknown[]; states: unknown[] };

/** The victims' records (data only) and states, which must not depend on what ran before them. */
function victimOutput(result: ReadResult): { records: unknown[]; states: unknown[] } {
  const victims = new Set(victimStreams.map((stream) => stream.name));
  return {
    records: result.records.filter((record) => victims.has(record.stream)).map((record) => ({ stream: record.stream, data: record.data, meta: record.meta })),
    states: result.states.filter((state) => victims.has(state.stream.stream_descriptor.name)),
  };
}

beforeAll(async () => {
  const discovered = await discoverStreams(configWith(victimStreams));
  victimCatalog = discovered.map((stream) => ({
    stream,
    sync_mode: 'incremental',
    cursor_field: stream.name === 'victim_query' ? ['seen_at'] : ['_ab_source_file_last_modified'],
    destination_sync_mode: 'append',
  }));
  const result = await read(configWith(victimStreams), { streams: victimCatalog });
  expect(result.code, result.stdout + result.stderr).toBe(0);
  alone = victimOutput(result);
  // What the comparison rests on: the victims' own numbers, seen once here.
  const file = alone.records.filter((record: any) => record.stream === 'victim_file').map((record: any) => record.data);
  expect(file.map((row: any) => [row.id, row.amount])).toEqual([[1, 1.5], [2, 2.5], [4, null]]);
  const query = alone.records.filter((record: any) => record.stream === 'victim_query').map((record: any) => record.data);
  expect(query.map((row: any) => [row.id, row.kind, row.score, row.floor_one, row.finite])).toEqual([
    [1, 'open', 0.5, 1, true],
    [2, 'close', -1, 1, null],
    [3, 'open', 2.25, 2.25, true],
  ]);
  const states = alone.states as Schema[];
  expect(states.reduce((total, state) => total + (state.sourceStats.rejectedRecordCount ?? 0), 0)).toBe(1);
  expect(states.filter((state) => state.stream.stream_descriptor.name === 'victim_query').at(-1)!.stream.stream_state).toMatchObject({ cursor: '2024-02-03 10:00:00' });
}, 120_000);

/** `SELECT "<statements>".* FROM <file> AS t`: the renderer drops the quotes around the star qualifier. */
const starSmuggle = (statements: string, tail = '') => `SELECT "1 AS a; ${statements}; SELECT t".*${tail} FROM '${ATTACKER_FILE}' AS t`;

const PAYLOADS: [string, string][] = [
  ["the issue's macro shadowing isfinite", starSmuggle('CREATE MACRO isfinite(x) AS false')],
  ['a macro shadowing greatest, to forge a saved cursor', starSmuggle("CREATE MACRO greatest(a, b) AS '9999-12-31 00:00:00'")],
  ['a macro shadowing lower', starSmuggle("CREATE MACRO lower(x) AS 'pwned'")],
  ['a macro shadowing coalesce', starSmuggle('CREATE MACRO coalesce(a, b) AS 12345')],
  ['a temporary macro, with a REPLACE list after the star', starSmuggle('CREATE OR REPLACE TEMP MACRO isfinite(x) AS false', ' REPLACE (7 AS a)')],
  ['a table', starSmuggle('CREATE TABLE smuggled AS SELECT 42 AS i')],
  ['a forged rejects table for the next file stream', starSmuggle("CREATE TABLE source_s3_rejects_1 AS SELECT 1 AS line, 'forged' AS error_message UNION ALL SELECT 2, 'forged'")],
  ['a view, with an EXCLUDE list after the star', starSmuggle('CREATE VIEW smuggled_view AS SELECT 1 AS i', ' EXCLUDE (b)')],
  ['a variable', starSmuggle('SET VARIABLE smuggled = 42')],
  // The sandbox refuses these statements, but what ran before them in the same text stays done.
  ['a setting, after a macro', starSmuggle("CREATE MACRO lower(x) AS 'pwned'; SET threads = 1")],
  ['a PRAGMA, after a macro', starSmuggle('CREATE MACRO isfinite(x) AS false; PRAGMA threads = 1')],
  ['ATTACH', starSmuggle("ATTACH ':memory:' AS smuggled_db")],
  ['COPY TO a file, after a macro', starSmuggle(`CREATE MACRO isfinite(x) AS false; COPY (SELECT 42) TO '${COPY_TARGET}'`)],
  ['INSTALL and LOAD, after a macro', starSmuggle("CREATE MACRO greatest(a, b) AS '9999-12-31 00:00:00'; INSTALL httpfs; LOAD httpfs")],
  ['a secret, after a macro', starSmuggle("CREATE MACRO isfinite(x) AS false; CREATE SECRET smuggled (TYPE s3, KEY_ID 'AKIAEVIL', SECRET 'evil')")],
  ['a sequence and a type', starSmuggle("CREATE SEQUENCE smuggled_seq; CREATE TYPE smuggled_type AS ENUM ('a')")],
  ['a string with escaped quotes inside the identifier', starSmuggle("CREATE TABLE smuggled AS SELECT 'it''s' AS s")],
  ['statements on their own lines', `SELECT "1 AS a\n;\nCREATE MACRO isfinite(x) AS false\n;\nSELECT t".* FROM '${ATTACKER_FILE}' AS t`],
  ['another column before the star', `SELECT 2 AS b, "1 AS a; CREATE MACRO lower(x) AS 'pwned'; SELECT t".* FROM '${ATTACKER_FILE}' AS t`],
  [
    'a nested subquery closed inside the identifier',
    `SELECT * FROM (SELECT "1 AS a) s; CREATE MACRO isfinite(x) AS false; SELECT * FROM (SELECT t".* FROM '${ATTACKER_FILE}' AS t) s`,
  ],
  [
    'a CTE closed inside the identifier',
    `WITH c AS (SELECT "1 AS a) SELECT 1; CREATE MACRO greatest(a, b) AS '9999-12-31 00:00:00'; WITH c AS (SELECT t".* FROM '${ATTACKER_FILE}' AS t) SELECT * FROM c`,
  ],
];

describe('statement smuggling through a model query', () => {
  it.each(PAYLOADS)('%s: refused by check, and no later stream is touched', async (_label, query) => {
    const attacker = { name: 'evil', query };
    const config = configWith([attacker, ...victimStreams]);

    const checked = await check(config);
    expect(checked.status, checked.message).toBe('FAILED');
    expect(checked.message).toContain('Stream "evil"');

    const result = await read(config, { streams: [blindEntry('evil'), ...victimCatalog] });
    expect(result.code).toBe(1);
    const errors = result.messages.filter((message) => message.type === 'TRACE' && message.trace.type === 'ERROR').map((message) => message.trace.error);
    expect(errors.map((error) => [error.stream_descriptor?.name, error.failure_type])).toEqual([['evil', 'config_error']]);
    expect(result.records.filter((record) => record.stream === 'evil')).toEqual([]);
    // Records and states (saved cursors, rejectedRecordCount) exactly as when the victims are read alone.
    expect(victimOutput(result)).toEqual(alone);
    expect(existsSync(COPY_TARGET)).toBe(false);
  });
});
