import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check } from '../support/cli.js';
import { longDocx, pdfOf, reportDocx } from '../support/documents.js';
import { configuredCatalog, configWith, discoverStreams, expectRecordsValid, lastStates, read, type Schema } from '../support/read.js';
import { deleteObject, putObject, testClient } from '../support/s3-client.js';

// Documents as other tools write them: pdfkit and the docx library (real writers), Notepad-style
// UTF-16 text, markdown with a BOM and CRLF, and the broken ones people upload.
const PREFIX = 'documents/';
const client = testClient();
const FILES: Record<string, Buffer | string> = {};
const MANY = 60;
const BIG_TEXT_BYTES = 17 * 2 ** 20;

const byKey = (records: Schema[]) => Object.fromEntries(records.map((record) => [record.data.document_key.slice(PREFIX.length), record.data]));
const docs = (name: string, globs: string[], extra: Record<string, unknown> = {}) => ({ name, globs, format: { filetype: 'document' }, ...extra });

beforeAll(async () => {
  const report = await pdfOf([['Quarterly report', 'Revenue grew by 12% in Q3.'], ['Second page: Ünïcödé']]);
  Object.assign(FILES, {
    'good/report.pdf': report,
    'good/plan.docx': await reportDocx(),
    'good/notepad.txt': Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Grüße\r\nzweite Zeile\r\n', 'utf16le')]),
    'good/readme.md': '\uFEFF# Read me\r\n\r\n* one\r\n* two\r\n',
    'bad/locked.pdf': await pdfOf([['secret']], { userPassword: 'pw' }),
    'bad/truncated.pdf': report.subarray(0, 400),
    'bad/not-a-zip.docx': 'This was saved as text, then renamed.\n',
    'bad/latin1.txt': Buffer.from('caf\xe9 au lait\nline two\n', 'latin1'),
    'bad/data.csv': 'id,name\n1,a\n',
    'big/thousand-pages.pdf': await pdfOf(Array.from({ length: 1000 }, (_, page) => [`Page ${page + 1} text`])),
    'big/huge.txt': `${'0123456789abcdef'.repeat(BIG_TEXT_BYTES / 16 - 1)}${'x'.repeat(15)}\n`,
    'bomb/long.docx': await longDocx(8_000_000),
  });
  for (let index = 0; index < MANY; index += 1) FILES[`many/note-${String(index).padStart(3, '0')}.md`] = `# Note ${index}\n`;
  for (const [key, body] of Object.entries(FILES)) await putObject(client, `${PREFIX}${key}`, body);
}, 120_000);

afterAll(async () => {
  for (const key of Object.keys(FILES)) await deleteObject(client, `${PREFIX}${key}`);
  client.destroy();
});

describe('document streams (PDF, Word, text, markdown)', () => {
  const config = configWith([docs('good', ['good/*'])], { path: PREFIX });

  it('discover declares content, document_key and the parse error, keyed by document_key', async () => {
    const [stream] = await discoverStreams(config);
    expect(Object.keys(stream!.json_schema.properties)).toEqual(['content', 'document_key', '_ab_source_file_parse_error', '_ab_source_file_url', '_ab_source_file_last_modified']);
    expect(stream!.source_defined_primary_key).toEqual([['document_key']]);
  });

  it('check parses a sample', async () => {
    const result = await check(config);
    expect(result.status, result.message).toBe('SUCCEEDED');
  });

  it('read gives PDF text page by page, Word as markdown, UTF-16 and BOM text decoded', async () => {
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    const result = await read(config, catalog);
    expect(result.code, result.stderr).toBe(0);
    expectRecordsValid(result.records, catalog);
    const records = byKey(result.records);
    expect(Object.keys(records).sort()).toEqual(['good/notepad.txt', 'good/plan.docx', 'good/readme.md', 'good/report.pdf']);
    for (const record of Object.values(records) as Schema[]) expect(record._ab_source_file_parse_error).toBeNull();
    expect(records['good/report.pdf'].content).toBe('Quarterly report\nRevenue grew by 12% in Q3.\n\f\nSecond page: Ünïcödé');
    expect(records['good/plan.docx'].content).toBe(
      [
        '# Quarterly plan',
        'Revenue is **up** and costs are *flat*.',
        '## Risks',
        '- Supply | demand\n- Hiring\n  - Senior staff\n\n1. Ship it\n2. Measure it',
        '| Region | Sales |\n| --- | --- |\n| North | 1,200 |\n| South \\| East | 980 |',
      ].join('\n\n'),
    );
    expect(records['good/notepad.txt'].content).toBe('Grüße\r\nzweite Zeile\r\n');
    expect(records['good/readme.md'].content).toBe('# Read me\r\n\r\n* one\r\n* two\r\n');
  });

  it('incremental: unchanged documents are not read again, a rewritten one is', async () => {
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'incremental', cursor_field: ['_ab_source_file_last_modified'] });
    const first = await read(config, catalog);
    expect(first.code, first.stderr).toBe(0);
    expect(first.records).toHaveLength(4);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // S3 LastModified has one-second resolution
    await putObject(client, `${PREFIX}good/readme.md`, '# Read me, v2\n');
    const second = await read(config, catalog, lastStates(first.messages));
    expect(second.code, second.stderr).toBe(0);
    expect(second.records.map((record) => [record.data.document_key, record.data.content])).toEqual([[`${PREFIX}good/readme.md`, '# Read me, v2\n']]);
    await putObject(client, `${PREFIX}good/readme.md`, FILES['good/readme.md']!);
  });
});

describe('documents that cannot be parsed', () => {
  it('on_error skip: a record with content null and the reason, the stream goes on', async () => {
    const config = configWith([docs('bad', ['bad/*'], { on_error: 'skip' })], { path: PREFIX });
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    const result = await read(config, catalog);
    expect(result.code, result.stderr).toBe(0);
    expectRecordsValid(result.records, catalog);
    const records = byKey(result.records);
    expect(Object.keys(records).sort()).toEqual(['bad/data.csv', 'bad/latin1.txt', 'bad/locked.pdf', 'bad/not-a-zip.docx', 'bad/truncated.pdf']);
    for (const record of Object.values(records) as Schema[]) expect(record.content).toBeNull();
    expect(records['bad/locked.pdf']._ab_source_file_parse_error).toMatch(/encrypted with a password/);
    expect(records['bad/truncated.pdf']._ab_source_file_parse_error).toMatch(/not a valid PDF/);
    expect(records['bad/not-a-zip.docx']._ab_source_file_parse_error).toMatch(/zip archive, and this file is not one/);
    expect(records['bad/latin1.txt']._ab_source_file_parse_error).toBe('it is not UTF-8 text: byte 0xe9 on line 1 is not valid UTF-8 (save the file as UTF-8)');
    expect(records['bad/data.csv']._ab_source_file_parse_error).toMatch(/^\.csv is not a document type this connector reads \(\.md, \.markdown, \.txt, \.pdf, \.docx\)/);
  });

  it('on_error fail (the default): the read fails naming the file and the way out', async () => {
    const config = configWith([docs('locked', ['bad/locked.pdf'])], { path: PREFIX });
    const catalog = configuredCatalog([{ name: 'locked', json_schema: { type: 'object', properties: {} }, supported_sync_modes: ['full_refresh'] }], { sync_mode: 'full_refresh' });
    const result = await read(config, catalog);
    expect(result.code).not.toBe(0);
    const trace = result.messages.find((message) => message.type === 'TRACE' && message.trace.type === 'ERROR')!;
    expect(trace, result.stdout).toBeDefined();
    expect(trace.trace.error.failure_type).toBe('config_error');
    expect(trace.trace.error.message).toMatch(/s3:\/\/[^ ]+\/documents\/bad\/locked\.pdf could not be parsed as a document: the PDF is encrypted/);
    expect(trace.trace.error.message).toMatch(/on_error to skip/);
    expect(result.records).toEqual([]);
  });

  it('check fails on a sampled document it cannot parse, naming it', async () => {
    const result = await check(configWith([docs('latin', ['bad/latin1.txt'])], { path: PREFIX }));
    expect(result.status).toBe('FAILED');
    expect(result.message).toMatch(/bad\/latin1\.txt could not be parsed as a document: it is not UTF-8 text/);
  });

  it('on_error skip is refused for formats with nothing to skip, still', async () => {
    const result = await check(configWith([{ name: 'p', globs: ['*.parquet'], format: { filetype: 'parquet' }, on_error: 'skip' }], { path: PREFIX }));
    expect(result.status).toBe('FAILED');
    expect(result.message).toMatch(/on_error skip applies to CSV \(malformed rows\) and documents/);
  });
});

describe('bounded documents', () => {
  it('a 1,000-page PDF and a 17 MiB text (past DuckDB\'s 16 MB object size) are read whole', async () => {
    const config = configWith([docs('big', ['big/*'])], { path: PREFIX });
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    const result = await read(config, catalog);
    expect(result.code, result.stderr).toBe(0);
    const records = byKey(result.records);
    const pages = (records['big/thousand-pages.pdf'].content as string).split('\n\f\n');
    expect(pages).toHaveLength(1000);
    expect(pages[999]).toBe('Page 1000 text');
    expect(records['big/huge.txt'].content).toHaveLength(BIG_TEXT_BYTES);
    expect(records['big/huge.txt'].content).toBe(FILES['big/huge.txt']);
  });

  it('past SOURCE_S3_DOCUMENT_MAX_BYTES or _MAX_CONTENT_BYTES, or a zip bomb, a document is a parse error', async () => {
    const config = configWith([docs('big', ['big/*', 'bomb/*'], { on_error: 'skip' })], { path: PREFIX });
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    const result = await read(config, catalog, undefined, { SOURCE_S3_DOCUMENT_MAX_BYTES: '600000', SOURCE_S3_DOCUMENT_MAX_CONTENT_BYTES: '4096' });
    expect(result.code, result.stderr).toBe(0);
    const records = byKey(result.records);
    expect(FILES['bomb/long.docx']!.length).toBeLessThan(600_000);
    expect(records['big/huge.txt']._ab_source_file_parse_error).toMatch(/^it is \d+ bytes, more than SOURCE_S3_DOCUMENT_MAX_BYTES \(600000\)/);
    expect(records['big/thousand-pages.pdf']._ab_source_file_parse_error).toMatch(/more than 4096 bytes, the most a record holds \(SOURCE_S3_DOCUMENT_MAX_CONTENT_BYTES\)/);
    expect(records['bomb/long.docx']._ab_source_file_parse_error).toMatch(/would inflate to \d+ bytes, more than 10 times SOURCE_S3_DOCUMENT_MAX_BYTES/);
  });

  it('many small documents are read in batches, one record each', async () => {
    const config = configWith([docs('many', ['many/*'])], { path: PREFIX });
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'incremental', cursor_field: ['_ab_source_file_last_modified'] });
    const result = await read(config, catalog);
    expect(result.code, result.stderr).toBe(0);
    const records = byKey(result.records);
    expect(Object.keys(records)).toHaveLength(MANY);
    for (let index = 0; index < MANY; index += 1) expect(records[`many/note-${String(index).padStart(3, '0')}.md`].content).toBe(`# Note ${index}\n`);
  });
});
