import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check } from '../support/cli.js';
import { configuredCatalog, configWith, discoverStreams, read, type ReadResult, type Schema } from '../support/read.js';
import { deleteObject, putObject, testClient } from '../support/s3-client.js';

// Quotes as people leave them (a stray one, a hand edit, backslash escapes) and numbers wider than a
// DOUBLE, generated here. The quote is never guessed: a stray one fails loudly, never changes values.
const PREFIX = 'csv-quoting/';
const client = testClient();

/** `count` rows `i,n<i>,<2i>` from `from`, one per line. */
const rows = (from: number, count: number) => Array.from({ length: count }, (_, index) => `${from + index},n${from + index},${(from + index) * 2}`).join('\n') + '\n';
/** A multi-line quoted note of about `bytes` bytes, with doubled quotes inside. */
const longNote = (bytes: number) => `"${'a long note, ""quoted"" words\n'.repeat(Math.ceil(bytes / 32))}"`;

const FILES: [string, Buffer | string][] = [
  // A file ending in a quote that never closes: an upload cut off, or a stray quote.
  ['stray-eof/data.csv', 'id,name\n1,a\n2,b\n3,"ccc'],
  // An older file with quoted fields, then (newest: "a-" wins a tie in time) a hand edit with a quote mid-field.
  ['mid-field/b-old.csv', 'id,desc\n2,"hello"\n3,"say ""hi"""\n4,"a, b"\n'],
  ['mid-field/a-new.csv', 'id,desc\n1,12" pipe\n'],
  // Backslash-escaped quotes (some tools write them), and Windows paths that hold backslashes.
  ['backslash/data.csv', 'id,desc\n1,"say \\"hi\\""\n2,plain\n'],
  ['paths/data.csv', 'id,path\n1,"C:\\dir\\x"\n2,"a\\\\b"\n3,"say ""hi"""\n'],
  // 100,000 rows with an unclosed quote at line 50,002: inside check's 1 MiB sample, far from its end.
  ['unclosed-mid/data.csv', 'id,name,v\n' + rows(0, 50_000) + '50000,"n50000,100000\n' + rows(50_001, 49_999)],
  // Legitimate quoted multi-line fields longer than 64 KiB: one of 300 KiB early, then short rows past the sample...
  ['long-field/data.csv', 'id,note\n1,short\n2,' + longNote(300 << 10) + '\n' + Array.from({ length: 60_000 }, (_, index) => `${index + 3},row ${index + 3}`).join('\n') + '\n'],
  // ...and records of about 100 KiB each, so the sample always ends inside one.
  ['long-records/data.csv', 'id,note\n' + Array.from({ length: 30 }, (_, index) => `${index + 1},${longNote(100 << 10)}`).join('\n') + '\n'],
  // An unclosed quote at line 3 of a file larger (decompressed) than the largest sample, 64 MiB.
  ['unclosed-huge/data.csv.gz', gzipSync('id,name\n1,a\n2,"b\n' + 'x,y\n'.repeat(18 << 20))],
  // Integers past BIGINT, past HUGEINT, and decimals past what a DOUBLE holds.
  [
    'numbers/data.csv',
    'id,acct,huge,small_dec,long_dec\n' +
      '1,12345678901234567890,1234567890123456789012345678901234567890,1.5,0.12345678901234567890\n' +
      '2,98765432109876543210,-9876543210987654321098765432109876543210,0.30000000000000004,2.5\n' +
      '3,-170141183460469231731687303715884105727,7,-2.25,\n',
  ],
];

beforeAll(async () => {
  for (const [key, body] of FILES) await putObject(client, PREFIX + key, body);
}, 120_000);

afterAll(async () => {
  for (const [key] of FILES) await deleteObject(client, PREFIX + key);
});

const stream = (name: string, folder: string, format: Record<string, unknown> = {}) => ({ name, globs: [`${PREFIX}${folder}/*`], format: { filetype: 'csv', ...format } });

async function readAll(streams: unknown[]): Promise<{ result: ReadResult; schemas: Schema[] }> {
  const config = configWith(streams);
  const schemas = await discoverStreams(config);
  return { result: await read(config, configuredCatalog(schemas, { sync_mode: 'full_refresh' })), schemas };
}

const errorOf = (result: ReadResult) => result.messages.find((message) => message.type === 'TRACE' && message.trace.type === 'ERROR')?.trace.error;
const values = (result: ReadResult, column: string) => result.records.map((record) => record.data[column]);

describe('a stray quote is never read around', () => {
  it('fails check and read on a quote that never closes, naming the file, the line and format.quote_char', async () => {
    const checked = await check(configWith([stream('stray', 'stray-eof')]));
    expect(checked.status).toBe('FAILED');
    expect(checked.message).toContain(`s3://source-s3-test/${PREFIX}stray-eof/data.csv`);
    expect(checked.message).toMatch(/line 4 has a quoted field that is never closed/);
    expect(checked.message).toContain('format.quote_char to "" (no quoting)');

    const config = configWith([stream('stray', 'stray-eof')]);
    const schemas = await discoverStreams(config);
    expect(Object.keys(schemas[0]!.json_schema.properties)).toContain('name');
    const result = await read(config, configuredCatalog(schemas, { sync_mode: 'full_refresh' }));
    expect(result.code).not.toBe(0);
    expect(errorOf(result)?.failure_type).toBe('config_error');
    expect(errorOf(result)?.message).toMatch(/stray-eof\/data\.csv could not be read as CSV: line 4 has a quoted field that is never closed/);
    expect(values(result, 'name')).not.toContain('"ccc');

  });

  it('reads the quote as an ordinary character when the format turns quoting off', async () => {
    const { result } = await readAll([stream('stray', 'stray-eof', { quote_char: '' })]);
    expect(result.code, result.stderr).toBe(0);
    expect(values(result, 'name')).toEqual(['a', 'b', '"ccc']);
  });

  it('keeps quoting on for every file when the newest one has a quote in the middle of a field', async () => {
    const { result } = await readAll([stream('mixed', 'mid-field')]);
    expect(result.code, result.stderr).toBe(0);
    const byId = Object.fromEntries(result.records.map((record) => [record.data.id, record.data.desc]));
    expect(byId).toEqual({ 1: '12" pipe', 2: 'hello', 3: 'say "hi"', 4: 'a, b' });
  });
});

describe('the escape character is never guessed', () => {
  it('keeps backslashes in quoted fields as they are (Windows paths)', async () => {
    const { result } = await readAll([stream('paths', 'paths')]);
    expect(result.code, result.stderr).toBe(0);
    expect(values(result, 'path')).toEqual(['C:\\dir\\x', 'a\\\\b', 'say "hi"']);
  });

  it('fails a backslash-escaped file by default, naming format.escape_char, and reads it when the format says so', async () => {
    const checked = await check(configWith([stream('bs', 'backslash')]));
    expect(checked.status).toBe('FAILED');
    expect(checked.message).toContain('backslash/data.csv could not be read as CSV: line 2 has a quoted field that is never closed');
    expect(checked.message).toContain('set format.escape_char to "\\\\"');

    const { result } = await readAll([stream('bs', 'backslash', { escape_char: '\\' })]);
    expect(result.code, result.stderr).toBe(0);
    expect(values(result, 'desc')).toEqual(['say "hi"', 'plain']);
  });
});

describe("check's sample and an unclosed quote", () => {
  it('fails check on a quote left open at line 50,002 of its 1 MiB sample, as read fails', async () => {
    const checked = await check(configWith([stream('unclosed', 'unclosed-mid')]));
    expect(checked.status).toBe('FAILED');
    expect(checked.message).toContain('unclosed-mid/data.csv could not be read as CSV');
    expect(checked.message).toMatch(/line 50002 /);
    expect(checked.message).toContain('format.quote_char');
  });

  it('passes legitimate quoted multi-line fields longer than 64 KiB', async () => {
    for (const folder of ['long-field', 'long-records']) {
      const checked = await check(configWith([stream('notes', folder)]));
      expect(checked.status, checked.message).toBe('SUCCEEDED');
    }
    const { result } = await readAll([stream('notes', 'long-records')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.records).toHaveLength(30);
    expect(result.records.every((record) => (record.data.note as string).startsWith('a long note, "quoted" words\n'))).toBe(true);
  });

  it('names the line of a quote still open at the largest sample (64 MiB)', async () => {
    const checked = await check(configWith([stream('huge', 'unclosed-huge')]));
    expect(checked.status).toBe('FAILED');
    expect(checked.message).toContain('unclosed-huge/data.csv.gz could not be read as CSV: a quote opened at line 3 is not closed within the first 67108864 bytes');
    expect(checked.message).toContain('format.quote_char');
  });
});

describe('numbers wider than a DOUBLE', () => {
  it('types integers past BIGINT as integers and emits every digit; past HUGEINT and over-long decimals as exact text', async () => {
    const { result, schemas } = await readAll([stream('numbers', 'numbers')]);
    expect(result.code, result.stderr).toBe(0);
    const properties = schemas[0]!.json_schema.properties;
    expect(properties.acct.type).toEqual(['null', 'integer']);
    expect(properties.huge.type).toEqual(['null', 'string']);
    expect(properties.small_dec.type).toEqual(['null', 'number']);
    expect(properties.long_dec.type).toEqual(['null', 'string']);
    // JSON.parse would round them: the emitted text itself must hold every digit.
    expect(result.stdout).toContain('"acct":12345678901234567890,');
    expect(result.stdout).toContain('"acct":98765432109876543210,');
    expect(result.stdout).toContain('"acct":-170141183460469231731687303715884105727,');
    expect(values(result, 'huge')).toEqual(['1234567890123456789012345678901234567890', '-9876543210987654321098765432109876543210', '7']);
    expect(values(result, 'long_dec')).toEqual(['0.12345678901234567890', '2.5', null]);
    expect(values(result, 'small_dec')).toEqual([1.5, 0.30000000000000004, -2.25]);
  });
});
