import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { crc32, createDeflateRaw, deflateRawSync } from 'node:zlib';
import XLSX from 'xlsx';
import yauzl from 'yauzl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cleanEnv, runCli, writeTempFile, type AirbyteMessageLike } from '../support/cli.js';
import { longDocx } from '../support/documents.js';
import { configuredCatalog, configWith, discoverStreams, expectRecordsValid, read } from '../support/read.js';
import { deleteObject, putObject, testClient } from '../support/s3-client.js';

/**
 * Review of the converted formats: inputs people and attackers make that once lost data silently
 * or held unbounded memory. Each file is written by another tool's writer (SheetJS, the docx
 * library) or is such a file edited the way an attacker would.
 */
const PREFIX = 'format-review/';

function sheetFile(rows: unknown[][], options: { sharedStrings?: boolean } = {}): Buffer {
  const book = XLSX.utils.book_new();
  XLSX.utils.book_append_sheet(book, XLSX.utils.aoa_to_sheet(rows), 'Data');
  return XLSX.write(book, { type: 'buffer', bookType: 'xlsx', bookSST: options.sharedStrings ?? false }) as Buffer;
}

const MiB = 1024 * 1024;
/** What the lying .docx inflates to beyond what it declares: far more than a reader may hold. */
const BOMB_PADDING = 768 * MiB;
const REPORT_RSS = join(import.meta.dirname, '..', '..', 'scripts', 'report-rss.mjs');

/** A zip's parts, inflated (read with yauzl, the zip reader the connector uses for .xlsx). */
async function zipParts(zip: Buffer): Promise<Map<string, Buffer>> {
  const file = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.fromBuffer(zip, { lazyEntries: true }, (error, opened) => (error ? reject(error) : resolve(opened))));
  const parts = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    file.on('entry', (entry: yauzl.Entry) => {
      file.openReadStream(entry, async (error, stream) => {
        if (error) return reject(error);
        const chunks: Buffer[] = [];
        for await (const chunk of stream) chunks.push(chunk as Buffer);
        parts.set(entry.fileName, Buffer.concat(chunks));
        file.readEntry();
      });
    });
    file.on('end', resolve);
    file.on('error', reject);
    file.readEntry();
  });
  return parts;
}

/** `chunks` raw-deflated one at a time (a few hundred KB for hundreds of MB of repeated text). */
async function deflated(chunks: Iterable<Buffer>): Promise<{ data: Buffer; crc: number; size: number }> {
  const deflate = createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => out.push(chunk));
  const done = new Promise((resolve) => deflate.on('end', resolve));
  let crc = 0;
  let size = 0;
  for (const chunk of chunks) {
    crc = crc32(chunk, crc);
    size += chunk.length;
    if (!deflate.write(chunk)) await new Promise((resolve) => deflate.once('drain', resolve));
  }
  deflate.end();
  await done;
  return { data: Buffer.concat(out), crc, size };
}

function* repeated(head: Buffer, unit: Buffer, times: number, tail: Buffer = Buffer.alloc(0)): Generator<Buffer> {
  yield head;
  const perChunk = Math.max(1, Math.floor(MiB / unit.length));
  const chunk = Buffer.concat(Array.from({ length: perChunk }, () => unit));
  for (let done = 0; done < times; done += perChunk) yield times - done >= perChunk ? chunk : chunk.subarray(0, (times - done) * unit.length);
  yield tail;
}

/**
 * A zip archive written by hand (local headers, central directory), each part deflated, with the
 * uncompressed size an attacker chooses to declare for it.
 */
function zipOf(parts: { name: string; data: Buffer; crc: number; declaredSize: number }[]): Buffer {
  const locals: Buffer[] = [];
  const directory: Buffer[] = [];
  let offset = 0;
  for (const part of parts) {
    const name = Buffer.from(part.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt32LE(part.crc >>> 0, 14);
    local.writeUInt32LE(part.data.length, 18);
    local.writeUInt32LE(part.declaredSize, 22);
    local.writeUInt16LE(name.length, 26);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(20, 4);
    entry.writeUInt16LE(20, 6);
    entry.writeUInt16LE(8, 10);
    entry.writeUInt32LE(part.crc >>> 0, 16);
    entry.writeUInt32LE(part.data.length, 20);
    entry.writeUInt32LE(part.declaredSize, 24);
    entry.writeUInt16LE(name.length, 28);
    entry.writeUInt32LE(offset, 42);
    locals.push(local, name, part.data);
    directory.push(entry, name);
    offset += local.length + name.length + part.data.length;
  }
  const directoryBytes = Buffer.concat(directory);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(parts.length, 8);
  end.writeUInt16LE(parts.length, 10);
  end.writeUInt32LE(directoryBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directoryBytes, end]);
}

/**
 * A .docx written by the docx library whose word/document.xml is followed by `padding` bytes of
 * white space, while its zip directory declares the part's original size: a zip bomb that lies.
 */
async function docxWithLyingSize(padding: number): Promise<Buffer> {
  const parts = await zipParts(await longDocx(20));
  const entries = [];
  for (const [name, bytes] of parts) {
    if (name === 'word/document.xml') {
      const bomb = await deflated(repeated(bytes, Buffer.from(' '), padding));
      entries.push({ name, data: bomb.data, crc: bomb.crc, declaredSize: bytes.length });
    } else {
      entries.push({ name, data: deflateRawSync(bytes), crc: crc32(bytes), declaredSize: bytes.length });
    }
  }
  return zipOf(entries);
}

const avsc = createRequire(import.meta.url)('avsc') as typeof import('avsc');

/**
 * An Avro container of records without fields (each encodes in zero bytes) whose one block claims
 * `count` records: the header written by avsc's own type for it, the block by hand.
 */
function avroClaiming(count: bigint): Buffer {
  const header = avsc.Type.forSchema({
    type: 'record',
    name: 'org.apache.avro.file.Header',
    fields: [
      { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
      { name: 'meta', type: { type: 'map', values: 'bytes' } },
      { name: 'sync', type: { type: 'fixed', name: 'Sync', size: 16 } },
    ],
  });
  const sync = Buffer.alloc(16, 0x5a);
  const schema = { type: 'record', name: 'Ping', fields: [] };
  const head = header.toBuffer({ magic: Buffer.from('Obj\x01', 'latin1'), meta: { 'avro.schema': Buffer.from(JSON.stringify(schema)), 'avro.codec': Buffer.from('null') }, sync });
  // Zig-zag varints: the count, then a data size of 0.
  const varint = (value: bigint) => {
    const bytes: number[] = [];
    let zigzag = value << 1n;
    while (zigzag >= 0x80n) {
      bytes.push(Number((zigzag & 0x7fn) | 0x80n));
      zigzag >>= 7n;
    }
    bytes.push(Number(zigzag));
    return Buffer.from(bytes);
  };
  return Buffer.concat([head, varint(count), varint(0n), sync]);
}

function errorTrace(messages: AirbyteMessageLike[]): { message: string; failure_type: string } | undefined {
  return (messages as any[]).find((message) => message.type === 'TRACE' && message.trace.type === 'ERROR')?.trace.error;
}

/** A SheetJS workbook whose shared string table is replaced by `entries` empty strings (`<si/>`), five bytes each. */
async function workbookWithEmptyStrings(entries: number): Promise<Buffer> {
  const parts = await zipParts(sheetFile([['name'], ['Ann']], { sharedStrings: true }));
  if (!parts.has('xl/sharedStrings.xml')) throw new Error('SheetJS wrote no shared string table');
  const list = [];
  for (const [name, bytes] of parts) {
    const part =
      name === 'xl/sharedStrings.xml'
        ? await deflated(repeated(Buffer.from('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>name</t></si><si><t>Ann</t></si>'), Buffer.from('<si/>'), entries, Buffer.from('</sst>')))
        : { data: deflateRawSync(bytes), crc: crc32(bytes), size: bytes.length };
    list.push({ name, data: part.data, crc: part.crc, declaredSize: part.size });
  }
  return zipOf(list);
}

/** A SheetJS workbook edited by hand: its sheet's cell A3 names shared string 99 of a table of 3. */
async function workbookWithDanglingString(): Promise<Buffer> {
  const parts = await zipParts(sheetFile([['name'], ['Ann'], ['Bob']], { sharedStrings: true }));
  const list = [];
  for (const [name, bytes] of parts) {
    let data = bytes;
    if (name === 'xl/worksheets/sheet1.xml') {
      const xml = bytes.toString('utf8');
      const edited = xml.replace(/(<c r="A3"[^>]*t="s"[^>]*><v>)\d+(<\/v>)/, '$199$2');
      if (edited === xml) throw new Error('SheetJS wrote A3 differently than expected');
      data = Buffer.from(edited);
    }
    list.push({ name, data: deflateRawSync(data), crc: crc32(data), declaredSize: data.length });
  }
  return zipOf(list);
}

/** Runs `read` with the peak RSS reported on stderr (scripts/report-rss.mjs). */
async function readWithPeakRss(config: Record<string, unknown>, catalog: unknown): Promise<{ code: number | null; stdout: string; peakBytes: number }> {
  const child = spawn(process.execPath, ['--import', REPORT_RSS, CLI, 'read', '--config', writeTempFile('config.json', config), '--catalog', writeTempFile('catalog.json', catalog)], {
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, peakBytes: Number(/BENCH_MAX_RSS_KB=(\d+)/.exec(stderr)?.[1]) * 1024 };
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
    // A note typed far right of the table (Z2): one more column, not 23 empty ones between.
    const noted = XLSX.utils.aoa_to_sheet([['a', 'b'], [1, 'x'], [2, 'y']]);
    noted['Z2'] = { t: 's', v: 'see note' };
    noted['!ref'] = 'A1:Z3';
    const book = XLSX.utils.book_new();
    XLSX.utils.book_append_sheet(book, noted, 'Data');
    await put('noted/book.xlsx', XLSX.write(book, { type: 'buffer', bookType: 'xlsx' }) as Buffer);
    await put('strings/book.xlsx', await workbookWithEmptyStrings(17_000_000));
    await put('dangling/book.xlsx', await workbookWithDanglingString());
    await put('claims/pings.avro', avroClaiming(1n << 52n));
    await put('bomb/plan.docx', await docxWithLyingSize(BOMB_PADDING));
    await put('bomb/notes.md', Buffer.from('# Notes\n\nkept\n'));
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

  it('a .docx whose zip directory understates a part is refused before it is inflated in memory', async () => {
    const config = configWith([{ name: 'docs', globs: ['bomb/*'], format: { filetype: 'document' }, on_error: 'skip' }], { path: PREFIX });
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    const result = await readWithPeakRss(config, catalog);
    expect(result.code, result.stdout.slice(-2000)).toBe(0);
    const records = result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, any>).filter((message) => message.type === 'RECORD');
    const byKey = Object.fromEntries(records.map((message) => [message.record.data.document_key, message.record.data]));
    expect(byKey[`${PREFIX}bomb/notes.md`]?.content).toBe('# Notes\n\nkept\n');
    const bomb = byKey[`${PREFIX}bomb/plan.docx`];
    expect(bomb?.content).toBeNull();
    expect(bomb?._ab_source_file_parse_error).toMatch(/inflates past the size its directory declares/);
    // JSZip (mammoth's zip reader) would inflate the whole part before comparing its size.
    expect(result.peakBytes, `peak RSS ${(result.peakBytes / MiB).toFixed(0)} MiB`).toBeLessThan(BOMB_PADDING / 2);
  });

  it('an Excel cell past the header adds its own column only, and rows after it stay as wide as they are', async () => {
    const config = configWith([{ name: 'noted', globs: ['noted/*.xlsx'], format: { filetype: 'excel' } }], { path: PREFIX });
    const streams = await discoverStreams(config);
    expect(Object.keys(streams[0]!.json_schema.properties as object)).toEqual(['a', 'b', 'column25', '_ab_source_file_url', '_ab_source_file_last_modified']);
    const catalog = configuredCatalog(streams, { sync_mode: 'full_refresh' });
    const result = await read(config, catalog);
    expect(result.code, result.stderr).toBe(0);
    expect(result.records.map((record) => [record.data.a, record.data.b, record.data.column25])).toEqual([
      [1, 'x', 'see note'],
      [2, 'y', null],
    ]);
    expectRecordsValid(result.records, catalog);
  });

  it('an Avro block claiming 2^52 zero-byte records fails naming the file instead of writing rows for ever', async () => {
    const config = configWith([{ name: 'pings', globs: ['claims/*.avro'], format: { filetype: 'avro' } }], { path: PREFIX });
    const expected = /claims\/pings\.avro could not be read as Avro: it has a block \(1, at byte \d+\) that claims 4503599627370496 records in 0 bytes/;
    const discovered = await runCli(['discover', '--config', writeTempFile('config.json', config)]);
    expect(discovered.code).not.toBe(0);
    expect(errorTrace(discovered.messages)?.message).toMatch(expected);
    // A catalog from an earlier discover (the file was replaced since): read fails the same way, writing nothing.
    const stream = { name: 'pings', json_schema: { type: 'object', properties: {} }, supported_sync_modes: ['full_refresh'] };
    const result = await read(config, configuredCatalog([stream], { sync_mode: 'full_refresh' }));
    expect(result.code).not.toBe(0);
    expect(result.records).toEqual([]);
    expect(errorTrace(result.messages)).toMatchObject({ failure_type: 'config_error', message: expect.stringMatching(expected) });
  }, 60_000);

  it('an .xlsx whose shared string table holds 17 million empty entries is refused, not held in memory', async () => {
    const config = configWith([{ name: 'strings', globs: ['strings/*.xlsx'], format: { filetype: 'excel' } }], { path: PREFIX });
    const discovered = await runCli(['discover', '--config', writeTempFile('config.json', config)]);
    expect(discovered.code).not.toBe(0);
    expect(errorTrace(discovered.messages)).toMatchObject({
      failure_type: 'config_error',
      message: expect.stringContaining('strings/book.xlsx: its shared string table holds more than 268435456 characters (counting 16 for each entry)'),
    });
  }, 120_000);

  it('an .xlsx cell naming a shared string its table lacks fails the read naming the file, not a silent null', async () => {
    const config = configWith([{ name: 'dangling', globs: ['dangling/*.xlsx'], format: { filetype: 'excel' } }], { path: PREFIX });
    const stream = { name: 'dangling', json_schema: { type: 'object', properties: { name: { type: ['null', 'string'] } } }, supported_sync_modes: ['full_refresh'] };
    const result = await read(config, configuredCatalog([stream], { sync_mode: 'full_refresh' }));
    expect(result.code).not.toBe(0);
    expect(errorTrace(result.messages)).toMatchObject({
      failure_type: 'config_error',
      message: expect.stringContaining('dangling/book.xlsx is a damaged workbook: a cell of sheet "Data" refers to shared string 99, but the table holds 3'),
    });
  });
});
