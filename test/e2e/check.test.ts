import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../support/fixtures.js';
import { check, localConfig } from '../support/cli.js';

const csvStream = (globs: string[], format: Record<string, unknown> = { filetype: 'csv' }) => ({ name: 'people', globs, format });

describe('check against the local S3 server', () => {
  it('succeeds for the default CSV stream under a path, naming the file it parsed', async () => {
    const { status, message, result } = await check(localConfig({ path: '/csv/' }));
    expect(result.code).toBe(0);
    expect(status).toBe('SUCCEEDED');
    expect(message).toContain('stream "csv"');
    expect(message).toMatch(/s3:\/\/source-s3-test\/csv\/.*\.csv/);
  });

  it.each([
    ['plain CSV', FIXTURES.peopleCsv, { filetype: 'csv' }],
    ['gzip CSV', FIXTURES.peopleGz, { filetype: 'csv' }],
    ['zstd CSV', FIXTURES.peopleZst, { filetype: 'csv' }],
    ['semicolon CSV', FIXTURES.semicolonCsv, { filetype: 'csv', delimiter: ';' }],
    ['headerless CSV', FIXTURES.headerlessCsv, { filetype: 'csv', header: false, column_names: ['a', 'b', 'c'] }],
    ['Parquet', FIXTURES.eventsParquet, { filetype: 'parquet' }],
    ['JSON Lines', FIXTURES.itemsJsonl, { filetype: 'jsonl' }],
    ['gzip JSON Lines', FIXTURES.itemsJsonlGz, { filetype: 'jsonl' }],
  ])('parses the first rows of a %s file', async (_label, key, format) => {
    const { status, message } = await check(localConfig({ streams: [csvStream([key], format)] }));
    expect(status, message).toBe('SUCCEEDED');
    expect(message).toContain(`s3://source-s3-test/${key}`);
    expect(message).toMatch(/\(\d+ columns, [1-9]\d* rows parsed\)/);
  });
});
