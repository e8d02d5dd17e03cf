/**
 * Checks on what a read emits, as CAT's TestBasicRead, TestFullRefresh and TestIncremental make
 * them: records against the catalog's schemas, expected records, primary keys, stream statuses and
 * state messages. Each check returns its violations; an empty list passes.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import type { Bypass, ExpectRecords } from './acceptance-config.js';
import type { Message } from './connector.js';
import type { Json } from './json-walk.js';

export type Catalog = { streams: Json[] };
export type ConfiguredCatalog = { streams: { stream: Json; sync_mode: string; cursor_field?: string[]; primary_key?: string[][]; destination_sync_mode: string }[] };

export const recordsOf = (messages: Message[]): Json[] => messages.filter((message) => message.type === 'RECORD').map((message) => message.record);
export const statesOf = (messages: Message[]): Json[] => messages.filter((message) => message.type === 'STATE').map((message) => message.state);

/** CAT's date-time check: this shape, then a successful parse. */
const DATE_TIME = /^\d{4}-\d?\d-\d?\d(\s|T)\d?\d:\d?\d:\d?\d(.\d+)?.*$/;

function validators(catalog: ConfiguredCatalog): { ajv: Ajv; byStream: Map<string, ValidateFunction> } {
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addFormat('date-time', (text: string) => DATE_TIME.test(text) && !Number.isNaN(Date.parse(text.replace(' ', 'T').replace(/(\.\d{3})\d+/, '$1'))));
  ajv.addFormat('date', /^\d{4}-\d{2}-\d{2}$/);
  ajv.addFormat('time', /^\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}(:?\d{2})?|Z)?$/);
  return { ajv, byStream: new Map(catalog.streams.map((configured) => [configured.stream.name as string, ajv.compile(configured.stream.json_schema)])) };
}

/** Every record of a catalog stream validates against the stream's schema; with `noExtraColumns`, has no field outside it. */
export function schemaViolations(records: Json[], catalog: ConfiguredCatalog, noExtraColumns: boolean): string[] {
  const { ajv, byStream } = validators(catalog);
  const problems: string[] = [];
  for (const record of records) {
    const validate = byStream.get(record.stream);
    if (validate === undefined) {
      problems.push(`a record of stream "${record.stream}", which is not in the catalog`);
      continue;
    }
    if (!validate(record.data)) problems.push(`${record.stream}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(record.data).slice(0, 300)}`);
    if (noExtraColumns) {
      const properties = catalog.streams.find((configured) => configured.stream.name === record.stream)!.stream.json_schema.properties ?? {};
      const extra = Object.keys(record.data).filter((name) => !(name in properties));
      if (extra.length > 0) problems.push(`${record.stream}: fields not in the schema: ${extra.join(', ')}`);
    }
  }
  return problems;
}

/** Primary key values are scalars, and at least one part of each key is not null. */
export function primaryKeyViolations(records: Json[], catalog: ConfiguredCatalog): string[] {
  const problems: string[] = [];
  const keys = new Map(catalog.streams.map((configured) => [configured.stream.name as string, (configured.primary_key ?? configured.stream.source_defined_primary_key ?? []) as string[][]]));
  for (const record of records) {
    const key = keys.get(record.stream) ?? [];
    if (key.length === 0) continue;
    const values = key.map((path) => path.reduce<Json>((value, name) => value?.[name], record.data));
    if (values.some((value) => value !== null && typeof value === 'object')) problems.push(`${record.stream}: a primary key value is an object or array in ${JSON.stringify(record.data).slice(0, 200)}`);
    if (values.every((value) => value === null || value === undefined)) problems.push(`${record.stream}: every part of the primary key is null in ${JSON.stringify(record.data).slice(0, 200)}`);
  }
  return problems;
}

/** Catalog streams that emitted no record, leaving out the declared empty ones. */
export function emptyStreams(records: Json[], catalog: ConfiguredCatalog, declaredEmpty: Bypass[]): string[] {
  const seen = new Set(records.map((record) => record.stream));
  const allowed = new Set(declaredEmpty.map((entry) => entry.name));
  return catalog.streams.map((configured) => configured.stream.name as string).filter((name) => !seen.has(name) && !allowed.has(name));
}

/** Each catalog stream: STARTED first, COMPLETE last, only RUNNING between, at least three statuses. */
export function streamStatusViolations(messages: Message[], catalog: ConfiguredCatalog): string[] {
  const byStream = new Map<string, string[]>();
  for (const message of messages) {
    if (message.type !== 'TRACE' || message.trace.type !== 'STREAM_STATUS') continue;
    const descriptor = message.trace.stream_status.stream_descriptor;
    const name = `${descriptor.namespace ?? ''}-${descriptor.name}`;
    byStream.set(name, [...(byStream.get(name) ?? []), message.trace.stream_status.status]);
  }
  const problems: string[] = [];
  const expected = new Set(catalog.streams.map((configured) => `${configured.stream.namespace ?? ''}-${configured.stream.name}`));
  for (const name of expected) if (!byStream.has(name)) problems.push(`stream ${name.slice(1)}: no STREAM_STATUS`);
  for (const [name, statuses] of byStream) {
    if (!expected.has(name)) problems.push(`stream ${name.slice(1)}: statuses for a stream not in the catalog`);
    const middle = statuses.slice(1, -1);
    if (statuses.length < 3 || statuses[0] !== 'STARTED' || statuses.at(-1) !== 'COMPLETE' || middle.some((status) => status !== 'RUNNING')) {
      problems.push(`stream ${name.slice(1)}: statuses ${statuses.join(' > ')}, expected STARTED > RUNNING... > COMPLETE`);
    }
  }
  return problems;
}

/** At least one state per stream, none LEGACY, each with sourceStats.recordCount. */
export function stateMessageViolations(messages: Message[], catalog: ConfiguredCatalog): string[] {
  const states = statesOf(messages);
  const problems: string[] = [];
  if (states.length < catalog.streams.length) problems.push(`${states.length} STATE messages for ${catalog.streams.length} streams`);
  for (const state of states) {
    if (state.type === 'LEGACY' || state.type === undefined) problems.push(`a ${state.type ?? 'typeless'} state: ${JSON.stringify(state).slice(0, 200)}`);
    if (typeof state.sourceStats?.recordCount !== 'number') problems.push(`a state without sourceStats.recordCount: ${JSON.stringify(state).slice(0, 200)}`);
  }
  const stateStreams = new Set(states.map((state) => state.stream?.stream_descriptor?.name));
  for (const configured of catalog.streams) if (!stateStreams.has(configured.stream.name)) problems.push(`stream ${configured.stream.name}: no STATE message`);
  return problems;
}

/** Removes `a/b` or `a/*\/b` paths from a copy of `data` (CAT's ignored_fields). */
export function withoutFields(data: Json, paths: string[]): Json {
  const copy = structuredClone(data);
  const remove = (node: Json, segments: string[]): void => {
    if (node === null || typeof node !== 'object' || segments.length === 0) return;
    const [head, ...rest] = segments as [string, ...string[]];
    const keys = head === '*' ? Object.keys(node) : [head];
    for (const key of keys) {
      if (rest.length === 0) {
        if (Array.isArray(node)) continue;
        delete node[key];
      } else remove(node[key], rest);
    }
  };
  for (const path of paths) remove(copy, path.split('/'));
  return copy;
}

/** A stable text for a record's data: keys sorted at every level, array order kept. */
export function canonical(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Keeps only the keys `shape` has, at every level (CAT's extra_fields). */
function projectOnto(actual: Json, shape: Json): Json {
  if (shape === null || typeof shape !== 'object' || Array.isArray(shape) || actual === null || typeof actual !== 'object') return actual;
  return Object.fromEntries(Object.keys(shape).map((key) => [key, projectOnto(actual[key], shape[key])]));
}

/** One stream's actual records against the expected ones, with CAT's exact_order / extra_fields / extra_records. */
export function expectedRecordsViolations(stream: string, expected: Json[], actual: Json[], options: ExpectRecords, ignored: string[]): string[] {
  const clean = (records: Json[]) => records.map((data) => withoutFields(data, ignored));
  const want = clean(expected);
  const got = clean(actual);
  const problems: string[] = [];
  if (options.exact_order === true) {
    if (got.length < want.length) problems.push(`${stream}: ${got.length} records, ${want.length} expected`);
    for (const [index, record] of want.entries()) {
      if (index >= got.length) break;
      const gotRecord = options.extra_fields === true ? projectOnto(got[index], record) : got[index];
      if (canonical(gotRecord) !== canonical(record)) problems.push(`${stream} record ${index}: got ${canonical(got[index]).slice(0, 300)}, expected ${canonical(record).slice(0, 300)}`);
    }
    if (options.extra_records === false && got.length > want.length) problems.push(`${stream}: ${got.length - want.length} records more than expected`);
    return problems;
  }
  // As CAT: sets, so order and repeats do not matter.
  const gotSet = new Set(got.map(canonical));
  const wantSet = new Set(want.map(canonical));
  for (const record of wantSet) if (!gotSet.has(record)) problems.push(`${stream}: missing expected record ${record.slice(0, 300)}`);
  if (options.extra_records === false) {
    for (const record of gotSet) if (!wantSet.has(record)) problems.push(`${stream}: unexpected record ${record.slice(0, 300)}`);
  }
  return problems;
}

/** The ignored field paths of a stream. */
export const ignoredPaths = (ignored: Record<string, Bypass[]> | undefined, stream: string): string[] => (ignored?.[stream] ?? []).map((field) => field.name);

/** Records grouped by stream, as data. */
export function dataByStream(records: Json[]): Map<string, Json[]> {
  const byStream = new Map<string, Json[]>();
  for (const record of records) byStream.set(record.stream, [...(byStream.get(record.stream) ?? []), record.data]);
  return byStream;
}

/** The last state of each stream, as a state input (no stats: the connector must not need them). */
export function lastStatesOf(states: Json[]): Json[] {
  const byStream = new Map<string, Json>();
  for (const state of states) byStream.set(state.stream.stream_descriptor.name, { type: state.type, stream: state.stream });
  return [...byStream.values()];
}

export interface Checkpoint {
  /** The state to resume from. */
  state: Json;
  /** Records emitted before it, by its own and the earlier states' sourceStats. */
  recordsBefore: number;
}

/** CAT's checkpoints of one stream's read: consecutive equal states merged, states after no record dropped. */
export function checkpoints(messages: Message[]): Checkpoint[] {
  const merged: { state: Json; count: number }[] = [];
  for (const state of statesOf(messages)) {
    const count = state.sourceStats?.recordCount ?? 0;
    const last = merged.at(-1);
    if (last !== undefined && canonical(last.state.stream) === canonical(state.stream)) last.count += count;
    else merged.push({ state, count });
  }
  let cumulative = 0;
  return merged
    .filter((entry) => entry.count > 0)
    .map((entry) => {
      cumulative += entry.count;
      return { state: { type: entry.state.type, stream: entry.state.stream }, recordsBefore: cumulative };
    });
}

/** Which checkpoints to resume from, as CAT picks them: the last of fewer than three, else every len/5th, not the first or last. */
export function checkpointsToResume<T>(items: T[]): T[] {
  if (items.length < 3) return items.slice(-1);
  const step = Math.max(1, Math.floor(items.length / 5));
  return items.filter((_, index) => index > 0 && index < items.length - 1 && index % step === 0);
}

/** A cursor value made comparable: date-times as epoch milliseconds (a space or a T, zone or UTC), anything else as it is. */
function comparableCursor(value: Json): Json {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(value)) return value;
  const iso = value.replace(' ', 'T');
  return Date.parse(/(Z|[+-]\d{2}:?\d{2})$/.test(iso) || iso.length === 10 ? iso : `${iso}Z`);
}

/**
 * CAT 0.11.5's check of a first incremental read: every record's cursor value is at or before the
 * value its stream's final state keeps at `cursor_paths` (default: the cursor field's last name).
 * Returns the violations and how many records could be compared (CAT wants at least one).
 */
export function cursorAfterStateViolations(messages: Message[], catalog: ConfiguredCatalog, cursorPaths: Record<string, (string | number)[]> = {}): { violations: string[]; compared: number } {
  const finalStates = new Map(lastStatesOf(statesOf(messages)).map((state) => [state.stream.stream_descriptor.name as string, state.stream.stream_state as Json]));
  const cursors = new Map(catalog.streams.map((configured) => [configured.stream.name as string, configured.cursor_field ?? []]));
  const violations: string[] = [];
  let compared = 0;
  for (const record of recordsOf(messages)) {
    const cursor = cursors.get(record.stream);
    if (cursor === undefined || cursor.length === 0) continue;
    const path = cursorPaths[record.stream] ?? [cursor.at(-1)!];
    const stateValue = path.reduce<Json>((node, key) => (node === undefined || node === null ? undefined : node[key]), finalStates.get(record.stream));
    if (stateValue === undefined) continue;
    const recordValue = cursor.reduce<Json>((node, key) => node?.[key], record.data);
    compared += 1;
    const [fromRecord, fromState] = [comparableCursor(recordValue), comparableCursor(stateValue)];
    // CAT parses both sides the same way: a state value of another kind (say, a date-time with a suffix) fails it.
    if (typeof fromRecord !== typeof fromState) {
      violations.push(`${record.stream}: the state's value ${JSON.stringify(stateValue)} (at ${path.join('.')}) is not comparable with a record's cursor ${JSON.stringify(recordValue)}`);
      continue;
    }
    if (fromRecord > fromState) violations.push(`${record.stream}: a record's cursor ${JSON.stringify(recordValue)} is after the state's ${JSON.stringify(stateValue)} (at ${path.join('.')})`);
  }
  return { violations, compared };
}
