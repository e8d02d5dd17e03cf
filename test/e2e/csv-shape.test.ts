import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check } from '../support/cli.js';
import { configuredCatalog, configWith, discoverStreams, read, type ReadResult, type Schema } from '../support/read.js';
import { deleteObject, putObject, testClient } from '../support/s3-client.js';

// CSV files as people and their tools make them, not as DuckDB writes them.
const PREFIX = 'csv-shape/';
const client = testClient();
const rows = (from: number, to: number) => Array.from({ length: to - from }, (_, index) => `${from + index},name ${from + index},${(from + index) * 10}`);
const LATE = 200_000;
const FILES: Record<string, Buffer | string> = {
  // A spreadsheet export: BOM, CRLF, semicolons, decimal commas, quoted fields with line breaks and quotes.
  'excel/export.csv': Buffer.concat([
    Buffer.from([0xef, 0xbb, 0xbf]),
    Buffer.from('id;name;amount\r\n1;"Smith; John\r\nsecond line";10,5\r\n2;"say ""hi""";20\r\n3;plain;30\r\n'),
  ]),
  // Hand edits: a row with an extra field, or a missing one, at line 3 (inside DuckDB's sniff sample)...
  'extra-early/data.csv': ['id,name,amount', ...rows(0, 1), '1,name 1,10,oops', ...rows(2, 50)].join('\n') + '\n',
  'missing-early/data.csv': ['id,name,amount', ...rows(0, 1), '1,name 1', ...rows(2, 50)].join('\n') + '\n',
  // ...and at line 200,002, far past it.
  'extra-late/data.csv': ['id,name,amount', ...rows(0, LATE), `${LATE},name ${LATE},1,oops`, ...rows(LATE + 1, LATE + 10)].join('\n') + '\n',
  // Two exports concatenated: the header comes again in the middle.
  'concat/both.csv': ['id,name,amount', ...rows(0, 5), 'id,name,amount', ...rows(5, 10)].join('\n') + '\n',
  // An upload cut off mid-row.
  'truncated/cut.csv': ['id,name,amount', ...rows(0, 20)].join('\n') + '\n21,"name 2',
  // latin-1 bytes in a file the config says is utf-8.
  'latin1/data.csv': Buffer.from('id,city\n1,Z\u00fcrich\n2,S\u00e3o Paulo\n', 'latin1'),
  // A hand edit in a CRLF file: some lines end in LF only.
  'mixed-endings/data.csv': 'id,name,amount\r\n1,a,10\n2,b,20\r\n3,c,30\n4,d,40\r\n',
  'mixed-endings/more.csv.gz': gzipSync('id,name,amount\r\n5,e,50\n6,f,60\r\n'),
  // A semicolon file read with a comma as its declared delimiter.
  'semicolons/data.csv': 'id;name;amount\n1;a;10\n2;b;20\n',
  // Files of one stream with their columns in another order.
  'reordered/2024-01.csv': 'id,name,amount\n1,a,10\n',
  'reordered/2024-02.csv': 'amount,id,name\n20,2,b\n',
  // A row holding personal data, far longer than an error may quote.
  'long-row/data.csv': `id,note\n1,ok\n2,${'secret-'.repeat(700)},extra\n`,
  // One folder where a stream's "**" also matches Parquet-named and JSON Lines files.
  'mixed-types/a.csv': 'id,name\n1,a\n',
  'mixed-types/b.jsonl': '{"id": 2, "name": "b"}\n',
  'mixed-types/c.parquet': 'PAR1 not really',
  // A row with a 10 MB field (a pasted document), past DuckDB's default 2,000,000-byte row limit.
  'long-field/data.csv': `id,blob,v\n1,short,1\n2,${'x'.repeat(10_000_000)},2\n3,after,3\n`,
  // An unclosed quote at line 2, then thousands of rows of personal data a quoting error could echo.
  'open-quote-pii/data.csv': ['id,name,v', '1,"open,1', ...Array.from({ length: 60_000 }, (_, index) => `${index + 2},ssn-${100_000_000 + index},${index}`)].join('\n') + '\n',
  // JSON Lines under a .csv name.
  'json-named-csv/items.csv': '{"sku": 1, "title": "a, b"}\n{"sku": 2, "title": "c"}\n',
};

beforeAll(async () => {
  for (const [key, body] of Object.entries(FILES)) await putObject(client, PREFIX + key, body);
}, 60_000);

afterAll(async () => {
  for (const key of Object.keys(FILES)) await deleteObject(client, PREFIX + key);
});

const stream = (name: string, folder: string, extra: Record<string, unknown> = {}) => ({
  name,
  globs: [`${PREFIX}${folder}/*`],
  format: { filetype: 'csv', ...((extra.format as object | undefined) ?? {}) },
  ...Object.fromEntries(Object.entries(extra).filter(([key]) => key !== 'format')),
});

async function readAll(streams: unknown[]): Promise<{ result: ReadResult; catalog: Schema; schemas: Schema[] }> {
  const config = configWith(streams);
  const schemas = await discoverStreams(config);
  const catalog = configuredCatalog(schemas, { sync_mode: 'full_refresh' });
  return { result: await read(config, catalog), catalog, schemas };
}

const errorOf = (result: ReadResult) => result.messages.find((message) => message.type === 'TRACE' && message.trace.type === 'ERROR')?.trace.error;
const rejectedCount = (result: ReadResult) => result.states.reduce((total, state) => total + (state.sourceStats?.rejectedRecordCount ?? 0), 0);
const dataColumns = (record: Schema) => Object.keys(record.data).filter((key) => !key.startsWith('_ab_')).sort();

describe('a spreadsheet export (BOM, CRLF, semicolons, quoted line breaks)', () => {
  it('is read with every column, the quoted line break and quotes kept', async () => {
    const { result, schemas } = await readAll([stream('excel', 'excel')]);
    expect(result.code, result.stderr).toBe(0);
    expect(Object.keys(schemas[0]!.json_schema.properties)).toEqual(['id', 'name', 'amount', '_ab_source_file_url', '_ab_source_file_last_modified']);
    expect(result.records.map((record) => [record.data.id, record.data.name, record.data.amount])).toEqual([
      [1, 'Smith; John\r\nsecond line', '10,5'],
      [2, 'say "hi"', '20'],
      [3, 'plain', '30'],
    ]);
  });

  it('passes check, parsing all its rows', async () => {
    const { status, message } = await check(configWith([stream('excel', 'excel')]));
    expect(status, message).toBe('SUCCEEDED');
    expect(message).toContain('(3 columns, 3 rows parsed)');
  });
});

describe('a row with an extra or a missing field behaves the same wherever it is', () => {
  it.each([
    ['extra-early', 3, 'has 4 fields, expected 3'],
    ['missing-early', 3, 'has 2 fields, expected 3'],
    ['extra-late', LATE + 2, 'has 4 fields, expected 3'],
  ])('%s: discover keeps the columns, read fails naming the file, line %i and the counts', async (folder, line, counts) => {
    const { result, schemas } = await readAll([stream('bad', folder)]);
    expect(Object.keys(schemas[0]!.json_schema.properties).filter((key) => !key.startsWith('_ab_'))).toEqual(['id', 'name', 'amount']);
    expect(result.code).toBe(1);
    const error = errorOf(result);
    expect(error).toMatchObject({ failure_type: 'config_error', stream_descriptor: { name: 'bad' } });
    expect(error.message).toContain(`s3://source-s3-test/${PREFIX}${folder}/data.csv could not be read as CSV: line ${line} ${counts}`);
    expect(error.message).toContain('on_error to skip');
    // Rows before the bad one may have gone out, but every one of them whole.
    for (const record of result.records) expect(dataColumns(record)).toEqual(['amount', 'id', 'name']);
  });

  it.each([
    ['extra-early', 49],
    ['missing-early', 49],
    ['extra-late', LATE + 9],
  ])('%s with on_error skip: the bad row is left out and counted, every other row keeps all its columns', async (folder, good) => {
    const { result } = await readAll([stream('bad', folder, { on_error: 'skip' })]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.records).toHaveLength(good);
    expect(rejectedCount(result)).toBe(1);
    for (const record of result.records) {
      expect(dataColumns(record)).toEqual(['amount', 'id', 'name']);
      expect(record.data.amount).toBe(record.data.id * 10);
    }
  });

  it('check fails on a bad row in its sample, naming the line, unless on_error is skip', async () => {
    const failed = await check(configWith([stream('bad', 'extra-early')]));
    expect(failed.status).toBe('FAILED');
    expect(failed.message).toContain(`${PREFIX}extra-early/data.csv could not be read as CSV: line 3 has 4 fields, expected 3`);
    const skipping = await check(configWith([stream('bad', 'extra-early', { on_error: 'skip' })]));
    expect(skipping.status, skipping.message).toBe('SUCCEEDED');
    expect(skipping.message).toContain('(3 columns, 49 rows parsed)');
  });
});

describe('messy files', () => {
  it('a repeated header line (concatenated exports) is a malformed row: named by default, skipped and counted with on_error skip', async () => {
    const failing = await readAll([stream('concat', 'concat')]);
    expect(failing.result.code).toBe(1);
    // The header in discover's sample makes every column text: the repeated line is found by its values.
    expect(errorOf(failing.result).message).toContain('concat/both.csv could not be read as CSV: its header line comes again 1 time among its rows');
    const skipping = await readAll([stream('concat', 'concat', { on_error: 'skip' })]);
    expect(skipping.result.code).toBe(0);
    expect(skipping.result.records.map((record) => Number(record.data.id))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(skipping.result.records.every((record) => record.data.name !== 'name')).toBe(true);
    expect(rejectedCount(skipping.result)).toBe(1);
  });

  it('an upload cut off mid-row fails naming its last line', async () => {
    const { result } = await readAll([stream('cut', 'truncated')]);
    expect(result.code).toBe(1);
    expect(errorOf(result).message).toContain('truncated/cut.csv could not be read as CSV: line 22 has a quoted field that is never closed (a stray quote, or a file cut off mid-row) (the line starts "21,\\"name 2")');
  });

  it('latin-1 bytes declared utf-8 name format.encoding; with latin-1 set they are read right', async () => {
    const failing = await readAll([stream('cities', 'latin1')]).catch((error: Error) => error);
    const message = failing instanceof Error ? failing.message : errorOf(failing.result)?.message;
    expect(message).toContain('latin1/data.csv could not be read as CSV: line 2 is not valid UTF-8');
    expect(message).toContain('format.encoding');
    const { result } = await readAll([stream('cities', 'latin1', { format: { encoding: 'latin-1' } })]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.records.map((record) => record.data.city)).toEqual(['Z\u00fcrich', 'S\u00e3o Paulo']);
  });

  it('mixed CRLF and LF line endings in one file (plain and gzip) are read, without stray carriage returns', async () => {
    const { result } = await readAll([stream('mixed', 'mixed-endings')]);
    expect(result.code, result.stderr + JSON.stringify(errorOf(result))).toBe(0);
    const values = result.records.map((record) => [record.data.id, record.data.name, record.data.amount]);
    expect(values.sort((a, b) => a[0] - b[0])).toEqual([1, 2, 3, 4, 5, 6].map((id) => [id, 'abcdef'[id - 1], id * 10]));
  });

  it('a file that parses to one column while its header holds a delimiter is an error naming format.delimiter', async () => {
    const { status, message } = await check(configWith([stream('semi', 'semicolons', { format: { delimiter: ',' } })]));
    expect(status).toBe('FAILED');
    expect(message).toContain(`${PREFIX}semicolons/data.csv parses to a single column with delimiter comma, but its header "id;name;amount" holds semicolon characters`);
    expect(message).toContain('format.delimiter');
  });

  it('files with their columns in another order are mapped by header name, never shifted', async () => {
    const { result } = await readAll([stream('reordered', 'reordered')]);
    expect(result.code, result.stderr).toBe(0);
    const values = result.records.map((record) => [record.data.id, record.data.name, record.data.amount]);
    expect(values.sort((a, b) => a[0] - b[0])).toEqual([
      [1, 'a', 10],
      [2, 'b', 20],
    ]);
  });

  it('an error quotes no more than a short start of the row', async () => {
    const { result } = await readAll([stream('long', 'long-row')]);
    expect(result.code).toBe(1);
    const output = result.stdout + result.stderr;
    expect(output).toContain('line 3 has 3 fields, expected 2');
    const longest = Math.max(...[...output.matchAll(/(secret-)+/g)].map((match) => match[0].length));
    expect(longest).toBeLessThanOrEqual(200);
  });
});

describe('check tells the truth', () => {
  it('fails a primary_key the files do not have, naming it and the columns', async () => {
    const { status, message } = await check(configWith([stream('excel', 'excel', { primary_key: ['customer_id'] })]));
    expect(status).toBe('FAILED');
    expect(message).toContain(`Stream "excel": primary_key "customer_id" is not a column of s3://source-s3-test/${PREFIX}excel/export.csv (columns: id, name, amount)`);
  });

  it('fails a CSV stream whose globs also match JSON Lines and Parquet files', async () => {
    const { status, message } = await check(configWith([{ name: 'wide', globs: [`${PREFIX}mixed-types/**`] }]));
    expect(status).toBe('FAILED');
    expect(message).toContain('Stream "wide" reads csv files, but it also matches files of another type:');
    expect(message).toContain(`${PREFIX}mixed-types/b.jsonl (jsonl)`);
    expect(message).toContain(`${PREFIX}mixed-types/c.parquet (parquet)`);
    expect(message).toContain("Narrow the stream's globs");
  });

  it('fails a JSON Lines file read as CSV', async () => {
    const { status, message } = await check(configWith([stream('items', 'json-named-csv')]));
    expect(status).toBe('FAILED');
    expect(message).toContain(`${PREFIX}json-named-csv/items.csv looks like JSON Lines`);
  });
});

describe('rows as long or as private as real ones', () => {
  it('reads a row with a 10 MB field whole', async () => {
    const { result } = await readAll([stream('long_field', 'long-field')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.records.map((record) => [record.data.id, String(record.data.blob).length, record.data.v])).toEqual([
      [1, 5, 1],
      [2, 10_000_000, 2],
      [3, 5, 3],
    ]);
  });

  it("never echoes the rows a quoting error swallowed: not in check's logs, not in a read's TRACE", async () => {
    const config = configWith([stream('open_quote', 'open-quote-pii')]);
    const checked = await check(config);
    expect(checked.status).toBe('FAILED');
    expect(checked.result.stdout).not.toContain('ssn-100000010');
    expect(checked.result.stdout.length).toBeLessThan(5_000);
    const catalog = configuredCatalog(await discoverStreams(configWith([stream('open_quote', 'open-quote-pii', { format: { quote_char: '' } })])), { sync_mode: 'full_refresh' });
    const failed = await read(config, catalog);
    expect(failed.code).toBe(1);
    const trace = failed.stdout.split('\n').find((line) => line.includes('"ERROR"')) ?? '';
    expect(trace).toContain('open-quote-pii/data.csv');
    expect(trace).not.toContain('ssn-100000010');
    expect(trace.length).toBeLessThan(3_000);
  });
});
