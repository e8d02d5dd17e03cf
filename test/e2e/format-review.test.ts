import XLSX from 'xlsx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configuredCatalog, configWith, discoverStreams, expectRecordsValid, read } from '../support/read.js';
import { deleteObject, putObject, testClient } from '../support/s3-client.js';

/**
 * Review of the converted formats: inputs people and attackers make that once lost data silently
 * or held unbounded memory. Each file is written by another tool's writer (SheetJS, the docx
 * library) or is such a file edited the way an attacker would.
 */
const PREFIX = 'format-review/';

function sheetFile(rows: unknown[][]): Buffer {
  const book = XLSX.utils.book_new();
  XLSX.utils.book_append_sheet(book, XLSX.utils.aoa_to_sheet(rows), 'Data');
  return XLSX.write(book, { type: 'buffer', bookType: 'xlsx' }) as Buffer;
}

describe('converted formats under review', () => {
  const client = testClient();
  const keys: string[] = [];
  const put = async (key: string, body: Buffer) => {
    keys.push(`${PREFIX}${key}`);
    await putObject(client, `${PREFIX}${key}`, body);
  };

  beforeAll(async () => {
    // Headers that are names of Object.prototype members: each is a column like any other.
    await put('proto/book.xlsx', sheetFile([['__proto__', 'constructor', 'toString', 'b'], [1, 'c', 3, 4]]));
  });
  afterAll(async () => {
    for (const key of keys) await deleteObject(client, key);
    client.destroy();
  });

  it('an Excel column named __proto__ is in the schema and in every record', async () => {
    const config = configWith([{ name: 'proto', globs: ['proto/*.xlsx'], format: { filetype: 'excel' } }], { path: PREFIX });
    const streams = await discoverStreams(config);
    expect(Object.keys(streams[0]!.json_schema.properties as object)).toEqual(['__proto__', 'constructor', 'toString', 'b', '_ab_source_file_url', '_ab_source_file_last_modified']);
    const catalog = configuredCatalog(streams, { sync_mode: 'full_refresh' });
    const result = await read(config, catalog);
    expect(result.code, result.stderr).toBe(0);
    expect(result.records).toHaveLength(1);
    const data = result.records[0]!.data as Record<string, unknown>;
    expect(Object.hasOwn(data, '__proto__')).toBe(true);
    expect(Object.entries(data).slice(0, 4)).toEqual([['__proto__', 1], ['constructor', 'c'], ['toString', 3], ['b', 4]]);
    expectRecordsValid(result.records, catalog);
  });
});
