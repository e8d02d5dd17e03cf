import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check, runCli, writeTempFile } from '../support/cli.js';
import { avscFile } from '../support/avro-files.js';
import { BUCKET } from '../support/constants.js';
import { configuredCatalog, configWith, discoverStreams, read, type ReadResult } from '../support/read.js';
import { deleteObject, putObject, testClient } from '../support/s3-client.js';

const PREFIX = 'avro-damaged/';
const SCHEMA = { type: 'record', name: 'Row', fields: [{ name: 'id', type: 'int' }, { name: 'text', type: 'string' }] };
const ROWS = Array.from({ length: 200 }, (_, id) => ({ id, text: `row ${id} ${'x'.repeat(40)}` }));
const SYNC = Buffer.from('0123456789abcdef');

const errorOf = (result: ReadResult) => result.messages.find((message) => message.type === 'TRACE' && message.trace.type === 'ERROR')?.trace.error;
const url = (key: string) => `s3://${BUCKET}/${PREFIX}${key}`;

/** A stream of one damaged file, read with a catalog of the good file's columns. */
async function readOne(key: string): Promise<ReadResult> {
  const config = configWith([{ name: 'one', globs: [key], format: { filetype: 'avro' } }], { path: PREFIX });
  const catalog = configuredCatalog(
    [{ name: 'one', json_schema: { type: 'object', properties: { id: { type: ['null', 'integer'] }, text: { type: ['null', 'string'] } } }, supported_sync_modes: ['full_refresh'] }],
    { sync_mode: 'full_refresh' },
  );
  return read(config, catalog);
}

describe('damaged and unusual Avro files', () => {
  const client = testClient();
  const files = new Map<string, Buffer>();

  beforeAll(async () => {
    const whole = await avscFile(SCHEMA, ROWS, { codec: 'deflate', blockSize: 1000, syncMarker: SYNC });
    files.set('good.avro', whole);
    // An interrupted upload: the last block cut in half.
    files.set('cut.avro', whole.subarray(0, whole.length - 300));
    // A sync marker overwritten (a byte flipped in the first one after the header's).
    const flipped = Buffer.from(whole);
    const second = flipped.indexOf(SYNC, flipped.indexOf(SYNC) + SYNC.length);
    flipped[second + 5] ^= 0xff;
    files.set('bad-sync.avro', flipped);
    // A snappy block whose CRC does not match its data.
    const snappy = Buffer.from(await avscFile(SCHEMA, ROWS.slice(0, 3), { codec: 'snappy', syncMarker: SYNC }));
    const crcAt = snappy.lastIndexOf(SYNC) - 1;
    snappy[crcAt] ^= 0x01;
    files.set('bad-crc.avro', snappy);
    // A codec this reader does not know, named in the header (as a bzip2 writer would).
    const plain = await avscFile(SCHEMA, ROWS.slice(0, 2), { syncMarker: SYNC });
    files.set('bzip2.avro', Buffer.from(plain.toString('latin1').replace('\u0008null', '\u000abzip2'), 'latin1'));
    files.set('not-avro.avro', Buffer.from('id,text\n1,a\n'));
    files.set('empty.avro', Buffer.alloc(0));
    files.set('ints.avro', await avscFile('int', [1, 2, 3]));
    for (const [key, body] of files) await putObject(client, `${PREFIX}${key}`, body);
  });
  afterAll(async () => {
    for (const key of files.keys()) await deleteObject(client, `${PREFIX}${key}`);
    client.destroy();
  });

  it('the intact file reads whole, across its blocks', async () => {
    const result = await readOne('good.avro');
    expect(result.code, result.stderr).toBe(0);
    expect(result.records.map((record) => record.data.id)).toEqual(ROWS.map((row) => row.id));
  });

  it('a cut file fails the read naming it, with no row of it emitted', async () => {
    const result = await readOne('cut.avro');
    expect(result.code).toBe(1);
    expect(errorOf(result)).toMatchObject({ failure_type: 'config_error' });
    expect(errorOf(result)!.message).toMatch(new RegExp(`^${url('cut.avro')} could not be read as Avro: it ends inside block \\d+ \\(which starts at byte \\d+\\), at byte ${files.get('cut.avro')!.length}: the object is cut short`));
    expect(result.records).toHaveLength(0);
  });

  it('a cut file larger than the sample prefix: check and discover read its whole first blocks quietly', async () => {
    // 4 MiB sample prefix: a file past it, cut at its end, is sampled from its start only.
    const big = await avscFile(SCHEMA, Array.from({ length: 120_000 }, (_, id) => ({ id, text: `row ${id} ${'y'.repeat(30)}` })), { blockSize: 64 * 1024 });
    expect(big.length).toBeGreaterThan(4 * 1024 * 1024);
    await putObject(client, `${PREFIX}big/cut.avro`, big.subarray(0, big.length - 10));
    try {
      const config = configWith([{ name: 'big', globs: ['big/*.avro'], format: { filetype: 'avro' } }], { path: PREFIX });
      const { status, message } = await check(config);
      expect(status, message).toBe('SUCCEEDED');
      const [stream] = await discoverStreams(config);
      expect(Object.keys(stream!.json_schema.properties)).toEqual(['id', 'text', '_ab_source_file_url', '_ab_source_file_last_modified']);
      const result = await read(config, configuredCatalog([stream!], { sync_mode: 'full_refresh' }));
      expect(result.code).toBe(1);
      expect(errorOf(result)!.message).toContain(`${url('big/cut.avro')} could not be read as Avro: it ends inside block`);
    } finally {
      await deleteObject(client, `${PREFIX}big/cut.avro`);
    }
  });

  it.each([
    ['bad-sync.avro', /it has a sync marker after block 1 \(at byte \d+\) that differs from its header's: the file is damaged/],
    ['bad-crc.avro', /it has a snappy block whose checksum does not match its data \(the file is damaged\) \(block 1, at byte \d+\)/],
    ['bzip2.avro', /it uses the codec "bzip2", which this connector cannot read \(it reads null, deflate, snappy and zstandard\)/],
    ['not-avro.avro', /it does not start with the Avro magic bytes "Obj\\x01": it is not an Avro object container file/],
    ['ints.avro', /it holds int values, not records: only Avro files whose schema is a record can be read as rows/],
  ])('%s fails the read with a clear config error naming the file', async (key, reason) => {
    const result = await readOne(key);
    expect(result.code).toBe(1);
    const error = errorOf(result)!;
    expect(error.failure_type).toBe('config_error');
    expect(error.message.startsWith(`${url(key)} could not be read as Avro: `), error.message).toBe(true);
    expect(error.message).toMatch(reason);
  });

  it('an empty object has no rows', async () => {
    const result = await readOne('empty.avro');
    expect(result.code, result.stderr).toBe(0);
    expect(result.records).toHaveLength(0);
  });

  it('on_error skip is refused for Avro: it has no malformed rows to skip', async () => {
    const config = configWith([{ name: 'one', globs: ['good.avro'], format: { filetype: 'avro' }, on_error: 'skip' }], { path: PREFIX });
    const { status, message } = await check(config);
    expect(status).toBe('FAILED');
    expect(message).toMatch(/on_error skip applies to CSV \(malformed rows\) and documents \(files that cannot be parsed\) only; avro files have no malformed rows to skip/);
  });

  it.each([
    ['FROM a URL', `SELECT * FROM 's3://${BUCKET}/${PREFIX}good.avro'`, `reads "s3://${BUCKET}/${PREFIX}good.avro": Avro is read by file streams only`],
    ['read_avro()', `SELECT * FROM read_avro('s3://${BUCKET}/${PREFIX}good.avro')`, 'uses read_avro() (at line 1, column 15): Avro is read by file streams only'],
  ])('a model query reading Avro (%s) is refused plainly', async (_name, query, expected) => {
    const config = configWith([{ name: 'q', query }]);
    const result = await runCli(['discover', '--config', writeTempFile('config.json', config)]);
    expect(result.code).toBe(1);
    const message = result.messages.find((m) => m.type === 'TRACE')!.trace.error.message as string;
    expect(message).toContain(expected);
    expect(message).toContain('Define a file stream with format {"filetype": "avro"}');
  });
});
