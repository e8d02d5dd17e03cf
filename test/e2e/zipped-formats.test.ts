import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKET } from '../support/constants.js';
import { avroJsFile } from '../support/avro-files.js';
import { pdfOf, reportDocx } from '../support/documents.js';
import { configuredCatalog, configWith, discoverStreams, expectRecordsValid, read } from '../support/read.js';
import { deleteObject, putObject, testClient } from '../support/s3-client.js';

const require = createRequire(import.meta.url);
const XLSX = require('xlsx') as typeof import('xlsx');

/**
 * Converted formats (Avro, Excel, documents) inside a .zip made by the zip tool: each member is
 * staged from the zip, then converted as a file of its own; raw-file transfer copies the zip itself.
 */
const PREFIX = 'zipped-formats/';
const ZIP_KEY = `${PREFIX}bundle.zip`;
const work = mkdtempSync(join(tmpdir(), 'zipped-formats-'));
let zipBytes: Buffer;

async function bundle(): Promise<Buffer> {
  const dir = join(work, 'bundle');
  mkdirSync(join(dir, 'docs'), { recursive: true });
  const schema = { type: 'record', name: 'Row', fields: [{ name: 'id', type: 'long' }, { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } }] };
  writeFileSync(join(dir, 'rows.avro'), await avroJsFile(schema, [{ id: 1, at: Date.parse('2024-05-01T00:00:00Z') }, { id: 2, at: Date.parse('2024-05-02T12:30:00Z') }], { codec: 'deflate' }));
  const book = XLSX.utils.book_new();
  XLSX.utils.book_append_sheet(book, XLSX.utils.aoa_to_sheet([['id', 'name'], [1, 'Ada'], [2, 'Grace']]), 'People');
  writeFileSync(join(dir, 'people.xlsx'), XLSX.write(book, { type: 'buffer', bookType: 'xlsx' }) as Buffer);
  writeFileSync(join(dir, 'docs', 'report.pdf'), await pdfOf([['Zipped report']]));
  writeFileSync(join(dir, 'docs', 'plan.docx'), await reportDocx());
  execFileSync('zip', ['-q', '-r', join(work, 'bundle.zip'), '.'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  return readFileSync(join(work, 'bundle.zip'));
}

describe('converted formats inside a zip', () => {
  const client = testClient();
  beforeAll(async () => {
    zipBytes = await bundle();
    await putObject(client, ZIP_KEY, zipBytes);
  });
  afterAll(async () => {
    await deleteObject(client, ZIP_KEY);
    client.destroy();
    rmSync(work, { recursive: true, force: true });
  });

  it('reads the Avro, Excel and document members of one zip, each naming its member', async () => {
    // The default stream of each type reads the zip's members of that type (by extension).
    const url = (member: string) => `s3://${BUCKET}/${ZIP_KEY}#${member}`;
    const defaults = (fileType: string) => configWith([], { path: PREFIX, file_type: fileType });
    const [avroStream] = await discoverStreams(defaults('avro'));
    expect(avroStream!.json_schema.properties.at.format).toBe('date-time');
    const avroRead = await read(defaults('avro'), configuredCatalog([avroStream!], { sync_mode: 'full_refresh' }));
    expect(avroRead.code, avroRead.stderr).toBe(0);
    expect(avroRead.records.map((record) => [record.data.id, record.data.at, record.data._ab_source_file_url])).toEqual([
      [1, '2024-05-01T00:00:00.000000Z', url('rows.avro')],
      [2, '2024-05-02T12:30:00.000000Z', url('rows.avro')],
    ]);

    const [excelStream] = await discoverStreams(defaults('excel'));
    const excelCatalog = configuredCatalog([excelStream!], { sync_mode: 'full_refresh' });
    const excelRead = await read(defaults('excel'), excelCatalog);
    expect(excelRead.code, excelRead.stderr).toBe(0);
    expectRecordsValid(excelRead.records, excelCatalog);
    expect(excelRead.records.map((record) => [record.data.id, record.data.name, record.data._ab_source_file_url])).toEqual([
      [1, 'Ada', url('people.xlsx')],
      [2, 'Grace', url('people.xlsx')],
    ]);

    const [docStream] = await discoverStreams(defaults('document'));
    const docRead = await read(defaults('document'), configuredCatalog([docStream!], { sync_mode: 'full_refresh' }));
    expect(docRead.code, docRead.stderr).toBe(0);
    const docs = Object.fromEntries(docRead.records.map((record) => [record.data._ab_source_file_url, record.data]));
    expect(Object.keys(docs).sort()).toEqual([url('docs/plan.docx'), url('docs/report.pdf')]);
    expect(docs[url('docs/report.pdf')].content).toContain('Zipped report');
    expect(docs[url('docs/plan.docx')].content).toContain('# Quarterly plan');
    expect(docs[url('docs/plan.docx')].document_key).toBe(`${ZIP_KEY}#docs/plan.docx`);
  });

  it('raw-file transfer copies the zip itself, byte for byte, as one file', async () => {
    const staging = mkdtempSync(join(work, 'staging-'));
    const config = configWith([{ name: 'files', globs: ['*.zip'] }], { path: PREFIX, delivery_method: { delivery_type: 'use_file_transfer' } });
    const result = await read(config, configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' }), undefined, { AIRBYTE_STAGING_DIRECTORY: staging });
    expect(result.code, result.stderr).toBe(0);
    expect(result.records).toHaveLength(1);
    const copied = readFileSync(result.records[0]!.file_reference.staging_file_url);
    expect(createHash('sha256').update(copied).digest('hex')).toBe(createHash('sha256').update(zipBytes).digest('hex'));
    expect(result.records[0]!.file_reference.source_file_relative_path).toBe('bundle.zip');
  });
});
