import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check } from '../support/cli.js';
import { configuredCatalog, configWith, discoverStreams, expectRecordsValid, read, type Schema } from '../support/read.js';
import { deleteObject, putObject, testClient } from '../support/s3-client.js';

/**
 * Files as other tools write them (Gnumeric, fastavro, pandoc, groff, Ghostscript, iconv), committed
 * under test/fixtures/other-tools (its README says how each was made), read through the CLI.
 */
const PREFIX = 'other-tools/';
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'other-tools');
const UPLOADS: Record<string, string> = {
  'xlsx/gnumeric-typed.xlsx': 'gnumeric-typed.xlsx',
  'libreoffice/csv-import.xlsx': 'libreoffice-csv-import.xlsx',
  'libreoffice/two-sheets.xlsx': 'libreoffice-two-sheets.xlsx',
  'avro/fastavro-orders-deflate.avro': 'fastavro-orders-deflate.avro',
  'avro-header-only/fastavro-orders-header-only.avro': 'fastavro-orders-header-only.avro',
  'docs/pandoc-notes.docx': 'pandoc-notes.docx',
  'docs/pandoc-notes-tracked-changes.docx': 'pandoc-notes-tracked-changes.docx',
  'docs/groff-paper.pdf': 'groff-paper.pdf',
  'docs/ghostscript-scanned.pdf': 'ghostscript-scanned.pdf',
  'docs/notes.md': 'notes.md',
  'docs/filled-form.pdf': 'filled-form.pdf',
  'text/utf16le-no-bom.txt': 'utf16le-no-bom.txt',
};
const client = testClient();

beforeAll(async () => {
  for (const [key, file] of Object.entries(UPLOADS)) await putObject(client, `${PREFIX}${key}`, readFileSync(join(FIXTURES, file)));
});
afterAll(async () => {
  for (const key of Object.keys(UPLOADS)) await deleteObject(client, `${PREFIX}${key}`);
  client.destroy();
});

async function readAll(streams: unknown[]): Promise<{ properties: Record<string, Schema>; records: Schema[] }> {
  const config = configWith(streams, { path: PREFIX });
  const discovered = await discoverStreams(config);
  const catalog = configuredCatalog(discovered, { sync_mode: 'full_refresh' });
  const result = await read(config, catalog);
  expect(result.code, result.stderr).toBe(0);
  expectRecordsValid(result.records, catalog);
  return { properties: discovered[0]!.json_schema.properties, records: result.records.map((record) => record.data) };
}

describe('files made by other tools', () => {
  it('a Gnumeric workbook: a date-time in a date-only format keeps its time', async () => {
    const { properties, records } = await readAll([{ name: 'sheet', globs: ['xlsx/*.xlsx'], format: { filetype: 'excel' } }]);
    // Gnumeric imports "2024-01-15 10:30" with the format yyyy-mm-dd: the serial still holds 10:30.
    expect(properties.stamp).toMatchObject({ format: 'date-time' });
    expect(properties.day).toMatchObject({ format: 'date' });
    expect(properties.amount).toMatchObject({ type: ['null', 'number'] });
    expect(records.map((record) => [record.id, record.amount, record.day, record.stamp, record.t, record.pct, record.flag])).toEqual([
      [1, 1234, '2024-01-15', '2024-01-15T10:30:00.000000', '10:30:00', 0.05, true],
      [2, 12345678.9, '2024-01-02', '2024-02-01T08:00:05.000000', '18:00:00', 0.125, false],
      [3, -7, '2024-03-15', null, null, null, null],
    ]);
    expect(records[1]!.note).toBe('multi\nline');
  });

  it('LibreOffice workbooks: booleans, error cells, formulas, date formats, currencies, a sheet chosen by name', async () => {
    const imported = await readAll([{ name: 'imported', globs: ['libreoffice/csv-import.xlsx'], format: { filetype: 'excel' } }]);
    expect(imported.properties.ok).toMatchObject({ type: ['null', 'boolean'] });
    expect(imported.properties.ratio).toMatchObject({ type: ['null', 'number'] });
    expect(imported.records.map((record) => [record.id, record.ok, record.ratio, record.when])).toEqual([
      [1, true, null, '2024-01-15T10:30:00.000000'],
      [2, false, 0.5, '2024-01-16T00:00:00.000000'],
    ]);
    // "data" names the sheet "Data" (case is ignored when no sheet matches exactly); the cover sheet is first.
    const book = await readAll([{ name: 'book', globs: ['libreoffice/two-sheets.xlsx'], format: { filetype: 'excel', sheet: 'data' } }]);
    expect(book.properties.ordered).toMatchObject({ format: 'date' });
    expect(book.properties.at).toMatchObject({ format: 'date-time' });
    expect(book.records).toHaveLength(2);
    expect(book.records[0]).toMatchObject({ id: 1, customer: 'Müller & Söhne', ordered: '2024-01-15', shipped: '2024-02-03', at: '2024-02-03T14:45:00.000000', amount: 1234567.891, price: 9.99 });
    expect(book.records[1]).toMatchObject({ id: 2, customer: 'Line one\nLine two', shipped: null, at: '2024-02-29T00:00:00.000000', amount: -0.5, price: 0 });
  });

  it('a fastavro file with namespaces, enums, fixed, maps of arrays and a union of several types', async () => {
    const { properties, records } = await readAll([{ name: 'orders', globs: ['avro/*.avro'], format: { filetype: 'avro' } }]);
    expect(properties.tags).toMatchObject({ type: ['null', 'object'], additionalProperties: { type: ['null', 'array'] } });
    expect(properties.placed).toMatchObject({ format: 'date-time', airbyte_type: 'timestamp_with_timezone' });
    const [first, second] = records;
    expect(first).toMatchObject({
      id: 1,
      status: 'PAID',
      hash: Buffer.from([0, 1, 2, 255]).toString('base64'),
      customer: { name: 'Zoë', address: { city: 'Oslo', zip: null } },
      tags: { a: ['x', 'y'], b: [] },
      amount: 1234.5,
      placed: '2024-01-15T10:30:00.123456Z',
      day: '2024-01-15',
      ref: '00000000-0000-0000-0000-000000000001',
      prev_status: 'NEW',
      other: 42,
      score: 2.5,
    });
    expect(second).toMatchObject({ amount: -0.01, placed: '1969-12-31T23:59:59.000000Z', day: '1900-01-01', customer: { address: null }, other: { name: 'Nested', address: null }, score: null });
  });

  it('an Avro file with a schema and no rows has the schema\'s columns and no records', async () => {
    const stream = { name: 'none', globs: ['avro-header-only/*.avro'], format: { filetype: 'avro' }, primary_key: ['id'] };
    const { properties, records } = await readAll([stream]);
    expect(Object.keys(properties)).toEqual(['id', 'status', 'hash', 'customer', 'tags', 'amount', 'placed', 'day', 'ref', 'prev_status', 'other', 'score', '_ab_source_file_url', '_ab_source_file_last_modified']);
    expect(properties.placed).toMatchObject({ format: 'date-time' });
    expect(records).toEqual([]);
    const checked = await check(configWith([stream], { path: PREFIX }));
    expect(checked.status, checked.message).toBe('SUCCEEDED');
    expect(checked.message).toContain('fastavro-orders-header-only.avro (12 columns, 0 rows parsed)');
  });

  it('documents from pandoc, groff and a scanner', async () => {
    const { records } = await readAll([{ name: 'docs', globs: ['docs/*'], format: { filetype: 'document' } }]);
    const byName = Object.fromEntries(records.map((record) => [String(record.document_key).split('/').pop(), record]));
    expect(byName['pandoc-notes.docx']!.content).toContain('# Results');
    expect(byName['pandoc-notes.docx']!.content).toContain('| North | 1,234 |');
    // Word footnotes as markdown footnotes, not links to anchors markdown does not have.
    expect(byName['pandoc-notes.docx']!.content).toContain('in Q1[^1]. See the table:');
    expect(byName['pandoc-notes.docx']!.content).toMatch(/\n\[\^1\]: Unaudited\.$/);
    expect(byName['pandoc-notes.docx']!.content).not.toContain('#footnote');
    // Tracked changes read as if accepted: insertions in, deletions out.
    expect(byName['pandoc-notes-tracked-changes.docx']!.content).toContain('Kept text, INSERTED WORDS end.');
    expect(byName['pandoc-notes-tracked-changes.docx']!.content).not.toContain('DELETED');
    expect(byName['groff-paper.pdf']!.content).toContain('First paragraph with ligatures: office, affine, flow.');
    expect(byName['notes.md']!.content).toMatch(/^---\ntitle: Quarterly notes\n/);
    // A filled form's values are not in the text the page draws: they follow it, one field a line.
    expect(byName['filled-form.pdf']!.content).toBe('Applicant name:\nname: Jane Q. Public\nagree: Yes\ncountry: Norway');
    // A scan has no text layer: no content, and nothing to call a parse error.
    expect(byName['ghostscript-scanned.pdf']).toMatchObject({ content: '', _ab_source_file_parse_error: null });
  });

  it('UTF-16 text without a byte order mark is a parse error, not text full of NULs', async () => {
    const { records } = await readAll([{ name: 'text', globs: ['text/*.txt'], format: { filetype: 'document' }, on_error: 'skip' }]);
    expect(records).toHaveLength(1);
    expect(records[0]!.content).toBeNull();
    expect(records[0]!._ab_source_file_parse_error).toContain('NUL byte (0x00) on line 1');
  });
});
