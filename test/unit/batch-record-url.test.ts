import { describe, expect, it } from 'vitest';
import { fileUrlOfRecord } from '../../src/streams/batch-reader.js';

describe('fileUrlOfRecord', () => {
  it("finds the record's own file URL, after data values that quote the same field name", () => {
    const data = { note: '"_ab_source_file_url":"s3://evil/x"', _ab_source_file_url: 's3://b/dir/a "quoted" \\ key.csv', _ab_source_file_last_modified: '2024-01-01T00:00:00.000Z' };
    const line = Buffer.from(JSON.stringify({ type: 'RECORD', record: { stream: 's', data, emitted_at: 1 } }));
    expect(fileUrlOfRecord(line)).toBe('s3://b/dir/a "quoted" \\ key.csv');
  });

  it('is undefined for a line without one', () => {
    expect(fileUrlOfRecord(Buffer.from('{"type":"RECORD","record":{"data":{}}}'))).toBeUndefined();
  });
});
