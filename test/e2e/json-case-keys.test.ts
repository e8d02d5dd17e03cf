import { afterAll, describe, expect, it } from 'vitest';
import { putObject, testClient } from '../support/s3-client.js';
import { configuredCatalog, configWith, discoverStreams, expectRecordsValid, read, type Schema } from '../support/read.js';

// JSON Lines keys that differ only in case are different keys: DuckDB's case-insensitive names
// must not merge, rename or drop them.
const client = testClient();
afterAll(() => client.destroy());

const data = (record: Schema) => {
  const { _ab_source_file_url: _url, _ab_source_file_last_modified: _modified, ...rest } = record.data;
  return rest;
};

describe('JSON Lines keys differing only in case', () => {
  it('discovers both keys by their real names and reads every value of each, in one object or across lines', async () => {
    const prefix = `case-keys/${Date.now()}/`;
    await putObject(client, `${prefix}same-object.jsonl`, '{"id":1,"Name":"x","name":"y"}\n{"id":2,"name":"only-lower"}\n');
    await putObject(client, `${prefix}across-lines.jsonl`, '{"id":1,"Name":"x"}\r\n{"id":2,"name":"y","NAME":3}\r\n');
    const config = configWith([
      { name: 'same_object', globs: [`${prefix}same-object.jsonl`], format: { filetype: 'jsonl' } },
      { name: 'across_lines', globs: [`${prefix}across-lines.jsonl`], format: { filetype: 'jsonl' } },
    ]);
    const streams = await discoverStreams(config);
    const columns = (name: string) => Object.keys(streams.find((stream) => stream.name === name)!.json_schema.properties).filter((column) => !column.startsWith('_ab_'));
    expect(columns('same_object')).toEqual(['id', 'Name', 'name']);
    expect(columns('across_lines')).toEqual(['id', 'Name', 'name', 'NAME']);
    const catalog = configuredCatalog(streams, { sync_mode: 'full_refresh' });

    const result = await read(config, catalog);
    expect(result.code, result.stderr).toBe(0);
    expectRecordsValid(result.records, catalog);
    const records = (stream: string) => result.records.filter((record) => record.stream === stream).map(data);
    expect(records('same_object')).toEqual([
      { id: 1, Name: 'x', name: 'y' },
      { id: 2, Name: null, name: 'only-lower' },
    ]);
    // "NAME" holds a number and the others text: each key of the group is typed to hold them all.
    expect(records('across_lines')).toEqual([
      { id: 1, Name: 'x', name: null, NAME: null },
      { id: 2, Name: null, name: 'y', NAME: '3' },
    ]);
  });

  it('reads them right without catalog columns too (every key, as it is)', async () => {
    const key = `case-keys/${Date.now()}/no-columns.jsonl`;
    await putObject(client, key, '{"id":1,"Name":"x","name":{"deep":[1,2]}}\n{"id":2,"name":"only-lower"}\n');
    const config = configWith([{ name: 'bare', globs: [key], format: { filetype: 'jsonl' } }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    catalog.streams[0].stream.json_schema = { type: 'object', properties: {} };

    const result = await read(config, catalog);
    expect(result.code, result.stderr).toBe(0);
    expect(result.records.map(data)).toEqual([
      { id: 1, Name: 'x', name: { deep: [1, 2] } },
      { id: 2, Name: null, name: 'only-lower' },
    ]);
  });
});
