import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check } from '../support/cli.js';
import { avroJsFile, avscFile, type AvroCodec } from '../support/avro-files.js';
import { configuredCatalog, configWith, discoverStreams, expectRecordsValid, lastStates, read, type Schema } from '../support/read.js';
import { deleteObject, putObject, testClient } from '../support/s3-client.js';

const PREFIX = 'avro-e2e/';

/** Every Avro type and logical type this reader maps; `created` (timestamp-micros) is the cursor. */
const EVENT_SCHEMA = {
  type: 'record',
  name: 'Event',
  namespace: 'com.example',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'big', type: 'long' },
    { name: 'small', type: 'int' },
    { name: 'flag', type: 'boolean' },
    { name: 'ratio', type: 'float' },
    { name: 'score', type: 'double' },
    { name: 'name', type: 'string' },
    { name: 'blob', type: 'bytes' },
    { name: 'hash', type: { type: 'fixed', name: 'Hash', size: 4 } },
    { name: 'color', type: { type: 'enum', name: 'Color', symbols: ['RED', 'GREEN'] } },
    { name: 'maybe', type: ['null', 'string'], default: null },
    { name: 'either', type: ['null', 'int', 'string'] },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'counts', type: { type: 'map', values: 'long' } },
    { name: 'inner', type: { type: 'record', name: 'Inner', fields: [{ name: 'a', type: 'int' }, { name: 'when', type: { type: 'long', logicalType: 'timestamp-millis' } }, { name: 'hashes', type: { type: 'array', items: 'Hash' } }] } },
    { name: 'created', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'local', type: ['null', { type: 'long', logicalType: 'local-timestamp-millis' }] },
    { name: 'day', type: { type: 'int', logicalType: 'date' } },
    { name: 'at_ms', type: { type: 'int', logicalType: 'time-millis' } },
    { name: 'at_us', type: { type: 'long', logicalType: 'time-micros' } },
    { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 } },
    { name: 'uid', type: { type: 'string', logicalType: 'uuid' } },
  ],
};

/** Two's complement big-endian, as Avro's decimal holds its unscaled value. */
function decimalBytes(unscaled: bigint): Buffer {
  let hex = (unscaled < 0n ? (1n << 64n) + unscaled : unscaled).toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  const bytes = Buffer.from(hex, 'hex');
  // Shortest form keeping the sign bit.
  let start = 0;
  while (start < bytes.length - 1 && ((bytes[start] === 0 && (bytes[start + 1]! & 0x80) === 0) || (bytes[start] === 0xff && (bytes[start + 1]! & 0x80) !== 0))) start++;
  return bytes.subarray(start);
}

const BASE_MICROS = 1_705_314_600_000_000n; // 2024-01-15T10:30:00Z

function event(id: number, createdOffsetSeconds: number, file: string): Record<string, unknown> {
  return {
    id: BigInt(id),
    big: 9_007_199_254_740_993n + BigInt(id), // past 2^53: a double would round it
    small: -id,
    flag: id % 2 === 0,
    ratio: 0.1,
    score: id === 2 ? Number.NaN : 1.5 + id,
    name: `${file} "row" ${id} é`,
    blob: Buffer.from([0, 255, id]),
    hash: Buffer.from([1, 2, 3, id]),
    color: id % 2 === 0 ? 'RED' : 'GREEN',
    maybe: id % 2 === 0 ? null : { string: `m${id}` },
    either: id % 3 === 0 ? null : id % 3 === 1 ? { int: id } : { string: `s${id}` },
    tags: id === 1 ? [] : ['x', `t${id}`],
    counts: { a: BigInt(id), 'b c': -9_007_199_254_740_993n },
    inner: { a: id, when: 1_705_314_600_123n, hashes: [Buffer.from([9, 9, 9, 9])] },
    created: BASE_MICROS + BigInt(createdOffsetSeconds) * 1_000_000n + 456n,
    local: id % 2 === 0 ? null : { long: 1_705_314_600_007n },
    day: 19_737, // 2024-01-15
    at_ms: 37_800_123, // 10:30:00.123
    at_us: 37_800_000_001n, // 10:30:00.000001
    amount: decimalBytes(BigInt(-12_345 * id)), // -123.45 * id
    uid: `123e4567-e89b-12d3-a456-42661417400${id % 10}`,
  };
}

const rows = (file: string, from: number, count: number, offset: number) => Array.from({ length: count }, (_, index) => event(from + index, offset + index, file));

describe('Avro files (written by avsc and by Apache avro-js)', () => {
  const client = testClient();
  const keys: string[] = [];
  const put = async (key: string, body: Buffer) => {
    keys.push(`${PREFIX}${key}`);
    await putObject(client, `${PREFIX}${key}`, body);
  };
  const config = configWith([{ name: 'events', globs: ['events/*.avro'], format: { filetype: 'avro' } }], { path: PREFIX });

  beforeAll(async () => {
    const codecs: AvroCodec[] = ['null', 'deflate', 'snappy', 'zstandard'];
    for (const [index, codec] of codecs.entries()) {
      // Small blocks: several blocks per file.
      await put(`events/${codec}.avro`, await avscFile(EVENT_SCHEMA, rows(codec, index * 10 + 1, 5, index * 10), { codec, blockSize: 200 }));
    }
    // Apache's own JavaScript writer, with plain numbers for its longs.
    const plain = rows('avro-js', 41, 3, 40).map((row) => JSON.parse(JSON.stringify(row, (_key, value) => (typeof value === 'bigint' ? Number(value) : value))));
    for (const row of plain) Object.assign(row, { big: 41, counts: { a: 1 }, created: Number(BASE_MICROS) + 40_000_000, local: null, amount: decimalBytes(100n), blob: Buffer.from('aj'), hash: Buffer.from('abcd'), inner: { a: 1, when: 0, hashes: [] } });
    await put('events/avro-js.avro', await avroJsFile(EVENT_SCHEMA, plain.map((row) => ({ ...row, maybe: null, either: null, at_us: 0, ratio: 0.5 })), { codec: 'deflate' }));
    // Header only: a writer that wrote no record.
    await put('events/empty.avro', await avscFile(EVENT_SCHEMA, []));
  });
  afterAll(async () => {
    for (const key of keys) await deleteObject(client, key);
    client.destroy();
  });

  it('discover types the columns from the writer schema', async () => {
    const [stream] = await discoverStreams(config);
    const properties = stream!.json_schema.properties as Record<string, Schema>;
    expect(Object.keys(properties)).toEqual([...EVENT_SCHEMA.fields.map((field) => field.name), '_ab_source_file_url', '_ab_source_file_last_modified']);
    expect(properties.id).toEqual({ type: ['null', 'integer'] });
    expect(properties.ratio).toEqual({ type: ['null', 'number'] });
    expect(properties.blob).toEqual({ type: ['null', 'string'], contentEncoding: 'base64' });
    expect(properties.hash).toEqual({ type: ['null', 'string'], contentEncoding: 'base64' });
    expect(properties.color).toEqual({ type: ['null', 'string'] });
    expect(properties.maybe).toEqual({ type: ['null', 'string'] });
    expect(properties.either!.type).toHaveLength(7);
    expect(properties.tags).toEqual({ type: ['null', 'array'], items: { type: ['null', 'string'] } });
    expect(properties.counts).toEqual({ type: ['null', 'object'], additionalProperties: { type: ['null', 'integer'] } });
    expect(properties.inner!.properties.when).toEqual({ type: ['null', 'string'], format: 'date-time', airbyte_type: 'timestamp_with_timezone' });
    expect(properties.created).toEqual({ type: ['null', 'string'], format: 'date-time', airbyte_type: 'timestamp_with_timezone' });
    expect(properties.local).toEqual({ type: ['null', 'string'], format: 'date-time', airbyte_type: 'timestamp_without_timezone' });
    expect(properties.day).toEqual({ type: ['null', 'string'], format: 'date' });
    expect(properties.at_ms).toEqual({ type: ['null', 'string'], format: 'time', airbyte_type: 'time_without_timezone' });
    expect(properties.at_us).toEqual(properties.at_ms);
    expect(properties.amount).toEqual({ type: ['null', 'number'] });
    expect(properties.uid).toEqual({ type: ['null', 'string'] });
  });

  it('check samples a file and parses it', async () => {
    const result = await check(config);
    expect(result.status, result.message).toBe('SUCCEEDED');
    expect(result.message).toMatch(/\.avro \(22 columns, \d+ rows parsed\)/);
  });

  it('read gives every value exactly, from every codec and both writers', async () => {
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    const result = await read(config, catalog);
    expect(result.code, result.stderr).toBe(0);
    expectRecordsValid(result.records, catalog);
    expect(result.records).toHaveLength(4 * 5 + 3);
    const byId = new Map(result.records.map((record) => [Number(record.data.id), record]));
    const two = byId.get(2)!;
    expect(two.data).toMatchObject({
      small: -2,
      flag: true,
      ratio: 0.1,
      name: 'null "row" 2 é',
      blob: Buffer.from([0, 255, 2]).toString('base64'),
      hash: Buffer.from([1, 2, 3, 2]).toString('base64'),
      color: 'RED',
      maybe: null,
      either: 's2',
      tags: ['x', 't2'],
      inner: { a: 2, when: '2024-01-15T10:30:00.123Z', hashes: ['CQkJCQ=='] },
      created: '2024-01-15T10:30:01.000456Z',
      local: null,
      day: '2024-01-15',
      at_ms: '10:30:00.123',
      at_us: '10:30:00.000001',
      amount: -246.9,
      uid: '123e4567-e89b-12d3-a456-426614174002',
    });
    // NaN has no JSON form: the value is null and the record says why.
    expect(two.data.score).toBeNull();
    expect(two.meta?.changes).toEqual([expect.objectContaining({ field: 'score', change: 'NULLED' })]);
    const one = byId.get(1)!;
    expect(one.data).toMatchObject({ score: 2.5, maybe: 'm1', either: 1, tags: [], local: '2024-01-15T10:30:00.007000' });
    // 64-bit longs keep every digit, at the top level and inside a map.
    expect(result.stdout).toContain('"big":9007199254740994');
    expect(result.stdout).toContain('"b c":-9007199254740993');
    // Files of each codec, named by their own URL.
    const files = new Set(result.records.map((record) => String(record.data._ab_source_file_url).replace(/^s3:\/\/[^/]+\//, '')));
    expect([...files].sort()).toEqual(['avro-js', 'deflate', 'null', 'snappy', 'zstandard'].map((name) => `${PREFIX}events/${name}.avro`));
    expect(byId.get(41)!.data).toMatchObject({ name: 'avro-js "row" 41 é', big: 41, ratio: 0.5, amount: 1, blob: 'YWo=' });
  });

  it('reads incrementally by a timestamp column, and only newer rows the next time', async () => {
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'incremental', cursor_field: ['created'] });
    const first = await read(config, catalog);
    expect(first.code, first.stderr).toBe(0);
    expect(first.records).toHaveLength(23);
    const again = await read(config, catalog, lastStates(first.messages));
    expect(again.code, again.stderr).toBe(0);
    expect(again.records).toEqual([]);
    // A new file with one row past the cursor and one before it.
    await put('events/later.avro', await avscFile(EVENT_SCHEMA, [event(100, 3600, 'later'), event(101, -3600, 'later')], { codec: 'snappy' }));
    const third = await read(config, catalog, lastStates(again.messages));
    expect(third.code, third.stderr).toBe(0);
    expect(third.records.map((record) => record.data.id)).toEqual([100]);
    await deleteObject(client, `${PREFIX}events/later.avro`);
  });
});
