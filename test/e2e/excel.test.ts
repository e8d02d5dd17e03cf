import CFB from 'cfb';
import XLSX from 'xlsx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check } from '../support/cli.js';
import { configuredCatalog, configWith, discoverStreams, expectRecordsValid, lastStates, read } from '../support/read.js';
import { deleteObject, putObject, testClient } from '../support/s3-client.js';

/**
 * Excel streams end to end: workbooks written by SheetJS (`xlsx`), a different library than the
 * reader's, uploaded to the local S3 server and read through the CLI.
 */
const PREFIX = 'excel-format/';
const HEADER = ['id', 'name', '', 'Name', 'amount', 'when', 'day', 'at', 'ok', 'pct', 'code', 'site'];

/** A cell with a number format (SheetJS writes `z` as the cell style's format code). */
const formatted = (v: number, z: string) => ({ t: 'n', v, z });
/** 2024-01-02 is serial 45293 in the 1900 date system and 1462 days fewer in the 1904 one. */
const SERIAL_2024_01_02 = 45293;

function salesSheet(date1904: boolean): XLSX.WorkSheet {
  const serial = (days: number) => SERIAL_2024_01_02 + days - (date1904 ? 1462 : 0);
  const sheet = XLSX.utils.aoa_to_sheet([
    HEADER,
    [1, 'Ann', null, 'x', 10.5, formatted(serial(0) + 0.5, 'yyyy-mm-dd hh:mm:ss'), formatted(serial(0), 'yyyy-mm-dd'), formatted(0.75, 'hh:mm'), true, formatted(0.25, '0%'), '00123456789012345678901', 'acme'],
    [2, 'Bob', null, null, 3, formatted(serial(1), 'yyyy-mm-dd hh:mm:ss'), formatted(serial(1), 'd-mmm-yy'), null, false, formatted(1.5, '0.0%'), 'A-1', null],
    [3, 'Cy'],
  ]);
  // A formula cell is its cached result; an error cell (#DIV/0!) is null; a hyperlink cell is its text.
  sheet['E4'] = { t: 'n', v: 21, f: 'E2*2' };
  sheet['B3'] = { t: 'e', v: 0x07, w: '#DIV/0!' };
  sheet['L2'] = { t: 's', v: 'acme', l: { Target: 'https://example.com/acme' } };
  // Merged B4:D4: the value is in its first cell, the others are empty.
  sheet['!merges'] = [{ s: { r: 3, c: 1 }, e: { r: 3, c: 3 } }];
  // Trailing empty rows and columns in the sheet's range (formatted but blank cells).
  sheet['!ref'] = 'A1:P9';
  return sheet;
}

function workbook(sheets: Record<string, XLSX.WorkSheet>, options: { date1904?: boolean; sst?: boolean; bookType?: XLSX.BookType } = {}): Buffer {
  const book = XLSX.utils.book_new();
  for (const [name, sheet] of Object.entries(sheets)) XLSX.utils.book_append_sheet(book, sheet, name);
  if (options.date1904) book.Workbook = { ...(book.Workbook ?? {}), WBProps: { date1904: true } };
  return XLSX.write(book, { type: 'buffer', bookType: options.bookType ?? 'xlsx', bookSST: options.sst ?? true }) as Buffer;
}

/** An Office-encrypted workbook is a compound file holding an EncryptedPackage stream (written with SheetJS's cfb). */
function encryptedWorkbook(): Buffer {
  const container = CFB.utils.cfb_new();
  CFB.utils.cfb_add(container, '/EncryptionInfo', Buffer.from([4, 0, 4, 0, 0x40, 0, 0, 0]));
  CFB.utils.cfb_add(container, '/EncryptedPackage', Buffer.alloc(4096, 7));
  return Buffer.from(CFB.write(container, { type: 'buffer' }) as Uint8Array);
}

const summary = XLSX.utils.aoa_to_sheet([['total'], [33]]);
const FILES: Record<string, Buffer> = {
  'sales/2024-01.xlsx': workbook({ Summary: summary, Data: salesSheet(false) }),
  // The 1904 date system (old Mac Excel) and inline strings instead of a shared string table.
  'sales/2024-02.xlsx': workbook({ Summary: summary, Data: salesSheet(true) }, { date1904: true, sst: false }),
  'empty/blank.xlsx': workbook({ Nothing: XLSX.utils.aoa_to_sheet([]) }),
  'bad/legacy.xls': workbook({ Data: salesSheet(false) }, { bookType: 'xls' }),
  'bad/book.ods': workbook({ Data: salesSheet(false) }, { bookType: 'ods' }),
  'bad/book.xlsb': workbook({ Data: salesSheet(false) }, { bookType: 'xlsb' }),
  'bad/encrypted.xlsx': encryptedWorkbook(),
};
FILES['bad/truncated.xlsx'] = FILES['sales/2024-01.xlsx']!.subarray(0, Math.floor(FILES['sales/2024-01.xlsx']!.length / 2));
const MANY = 40;
for (let index = 0; index < MANY; index += 1) FILES[`many/book-${String(index).padStart(2, '0')}.xlsx`] = workbook({ S: XLSX.utils.aoa_to_sheet([['n', 'label'], [index, `row ${index}`], [index + 0.5, null]]) });

const sales = (sheet?: string) => ({ name: 'sales', globs: ['sales/*.xlsx'], format: { filetype: 'excel', ...(sheet === undefined ? {} : { sheet }) } });

describe('Excel (.xlsx) streams', () => {
  const client = testClient();

  beforeAll(async () => {
    for (const [key, body] of Object.entries(FILES)) await putObject(client, `${PREFIX}${key}`, body);
  });
  afterAll(async () => {
    for (const key of Object.keys(FILES)) await deleteObject(client, `${PREFIX}${key}`);
    await deleteObject(client, `${PREFIX}sales/2024-03.xlsx`);
    client.destroy();
  });

  it('discover names the header as CSV does and types columns by their values', async () => {
    const [stream] = await discoverStreams(configWith([sales('Data')], { path: PREFIX }));
    const properties = stream!.json_schema.properties;
    // Empty header -> column<i>; a repeated name (ignoring case) -> _1; a cell past the header -> column<i>.
    expect(Object.keys(properties)).toEqual(['id', 'name', 'column2', 'Name_1', 'amount', 'when', 'day', 'at', 'ok', 'pct', 'code', 'site', '_ab_source_file_url', '_ab_source_file_last_modified']);
    expect(properties.id.type).toEqual(['null', 'integer']);
    expect(properties.amount.type).toEqual(['null', 'number']);
    expect(properties.name.type).toEqual(['null', 'string']);
    expect(properties.column2.type).toEqual(['null', 'string']);
    expect(properties.when).toMatchObject({ format: 'date-time', airbyte_type: 'timestamp_without_timezone' });
    expect(properties.day).toMatchObject({ format: 'date' });
    expect(properties.at).toMatchObject({ format: 'time' });
    expect(properties.ok.type).toEqual(['null', 'boolean']);
    expect(properties.pct.type).toEqual(['null', 'number']);
    // Long digit strings are text in the sheet and stay text.
    expect(properties.code.type).toEqual(['null', 'string']);
  });

  it('read gives each value as the sheet shows it, in both date systems, incrementally by file', async () => {
    const config = configWith([sales('data')], { path: PREFIX });
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'incremental', cursor_field: ['_ab_source_file_last_modified'] });
    const first = await read(config, catalog);
    expect(first.code, first.stderr).toBe(0);
    expectRecordsValid(first.records, catalog);
    expect(first.records).toHaveLength(6);
    for (const file of ['2024-01', '2024-02']) {
      const rows = first.records.filter((record) => record.data._ab_source_file_url.endsWith(`${file}.xlsx`)).map((record) => record.data);
      expect(rows.map((row) => row.id)).toEqual([1, 2, 3]);
      expect(rows[0]).toMatchObject({ name: 'Ann', column2: null, Name_1: 'x', amount: 10.5, when: '2024-01-02T12:00:00.000000', day: '2024-01-02', at: '18:00:00', ok: true, pct: 0.25, code: '00123456789012345678901', site: 'acme' });
      expect(rows[1]).toMatchObject({ name: null, Name_1: null, amount: 3, when: '2024-01-03T00:00:00.000000', day: '2024-01-03', at: null, ok: false, pct: 1.5, code: 'A-1', site: null });
      // A row shorter than the header: nulls; a formula: its cached result; merged cells: the first.
      expect(rows[2]).toMatchObject({ name: 'Cy', column2: null, Name_1: null, amount: 21, when: null, ok: null });
    }
    const again = await read(config, catalog, lastStates(first.messages));
    expect(again.code, again.stderr).toBe(0);
    expect(again.records).toEqual([]);
    await putObject(client, `${PREFIX}sales/2024-03.xlsx`, workbook({ Data: XLSX.utils.aoa_to_sheet([['id', 'when'], [4, formatted(SERIAL_2024_01_02 + 9, 'yyyy-mm-dd hh:mm')]]) }));
    const third = await read(config, catalog, lastStates(again.messages));
    expect(third.code, third.stderr).toBe(0);
    expect(third.records.map((record) => [record.data.id, record.data.when])).toEqual([[4, '2024-01-11T00:00:00.000000']]);
    // The later tests read sales/*.xlsx as the two workbooks with a Summary sheet.
    await deleteObject(client, `${PREFIX}sales/2024-03.xlsx`);
  });

  it('reads incrementally by a date-time column of the sheet', async () => {
    const config = configWith([{ ...sales('Data'), globs: ['sales/2024-0[12].xlsx'] }], { path: PREFIX });
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'incremental', cursor_field: ['when'] });
    const first = await read(config, catalog);
    expect(first.code, first.stderr).toBe(0);
    expect(first.records).toHaveLength(6);
    const state = lastStates(first.messages);
    expect(JSON.stringify(state)).toContain('2024-01-03');
    const again = await read(config, catalog, state);
    expect(again.code, again.stderr).toBe(0);
    // Only rows at the saved maximum may come again (the cursor is inclusive); older rows never.
    for (const record of again.records) expect(record.data.when).toBe('2024-01-03T00:00:00.000000');
  });

  it('reads the first sheet by default', async () => {
    const config = configWith([sales()], { path: PREFIX });
    const [stream] = await discoverStreams(config);
    expect(Object.keys(stream!.json_schema.properties)).toEqual(['total', '_ab_source_file_url', '_ab_source_file_last_modified']);
    const result = await read(config, configuredCatalog([stream!], { sync_mode: 'full_refresh' }));
    expect(result.code, result.stderr).toBe(0);
    expect(result.records.map((record) => record.data.total)).toEqual([33, 33]);
  });

  it('reads many small workbooks in batches', async () => {
    const config = configWith([{ name: 'many', globs: ['many/*.xlsx'], format: { filetype: 'excel' } }], { path: PREFIX });
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    expect(catalog.streams[0].stream.json_schema.properties.n.type).toEqual(['null', 'number']);
    const result = await read(config, catalog);
    expect(result.code, result.stderr).toBe(0);
    expect(result.records).toHaveLength(2 * MANY);
    const values = result.records.map((record) => record.data.n).sort((a, b) => a - b);
    expect(values.slice(0, 4)).toEqual([0, 0.5, 1, 1.5]);
    expect(result.records.filter((record) => record.data.label === 'row 39')).toHaveLength(1);
  });

  it('an empty sheet has no columns and no records', async () => {
    const config = configWith([{ name: 'empty', globs: ['empty/*.xlsx'], format: { filetype: 'excel' } }], { path: PREFIX });
    const [stream] = await discoverStreams(config);
    expect(Object.keys(stream!.json_schema.properties)).toEqual(['_ab_source_file_url', '_ab_source_file_last_modified']);
    const result = await read(config, configuredCatalog([stream!], { sync_mode: 'full_refresh' }));
    expect(result.code, result.stderr).toBe(0);
    expect(result.records).toEqual([]);
  });

  it('a sheet that does not exist fails check, listing the sheets', async () => {
    const result = await check(configWith([sales('Totals')], { path: PREFIX }));
    expect(result.status).toBe('FAILED');
    expect(result.message).toContain('has no sheet named "Totals" (format.sheet); its sheets are "Summary", "Data"');
  });

  it.each([
    ['bad/legacy.xls', /legacy Excel 97-2003 \(\.xls\) workbook, which is not supported: save it as \.xlsx/],
    ['bad/book.ods', /OpenDocument spreadsheet \(\.ods\), which is not supported/],
    ['bad/book.xlsb', /Excel binary workbook \(\.xlsb\), which is not supported/],
    ['bad/encrypted.xlsx', /password-protected \(encrypted\) workbook/],
    ['bad/truncated.xlsx', /truncated\.xlsx is not a readable \.xlsx file/],
  ])('%s fails check with a message saying what it is', async (key, expected) => {
    const result = await check(configWith([{ name: 'bad', globs: [key], format: { filetype: 'excel' } }], { path: PREFIX }));
    expect(result.status).toBe('FAILED');
    expect(result.message).toMatch(expected);
    expect(result.message).toContain(`${PREFIX}${key}`);
  });

  it('a read of a damaged workbook fails naming it', async () => {
    const config = configWith([{ name: 'bad', globs: ['bad/truncated.xlsx'], format: { filetype: 'excel' } }], { path: PREFIX });
    const stream = { name: 'bad', json_schema: { type: 'object', properties: { id: { type: ['null', 'integer'] } } }, supported_sync_modes: ['full_refresh'] };
    const result = await read(config, configuredCatalog([stream], { sync_mode: 'full_refresh' }));
    expect(result.code).not.toBe(0);
    const trace = result.messages.find((message) => message.type === 'TRACE' && message.trace.type === 'ERROR');
    expect(trace?.trace.error.failure_type).toBe('config_error');
    expect(trace?.trace.error.message).toContain('truncated.xlsx is not a readable .xlsx file');
  });

  it('model queries refuse Excel plainly', async () => {
    for (const query of [`SELECT * FROM read_xlsx('s3://BUCKET/${PREFIX}sales/2024-01.xlsx')`, `SELECT * FROM 's3://BUCKET/${PREFIX}sales/2024-01.xlsx'`]) {
      const base = configWith([]);
      const config = { ...base, streams: [{ name: 'q', query: query.replace('BUCKET', String(base.bucket)) }] };
      const result = await check(config);
      expect(result.status).toBe('FAILED');
      expect(result.message).toMatch(/model queries cannot read Excel files .*format\.filetype "excel"/);
    }
  });
});
