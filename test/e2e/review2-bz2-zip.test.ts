import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check } from '../support/cli.js';
import { BUCKET } from '../support/constants.js';
import { configuredCatalog, configWith, discoverStreams, read, type ReadResult } from '../support/read.js';
import { deleteObject, putObject, testClient } from '../support/s3-client.js';

// Crafted .bz2 and .zip files (made by the bzip2 tool and Python's zipfile, then patched as an attacker would).
const PREFIX = 'review2/';
const client = testClient();
const work = mkdtempSync(join(tmpdir(), 'source-s3-review2-'));
const KEYS: string[] = [];

const python = (script: string) => execFileSync('python3', ['-c', script], { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] });
const bzip2 = (name: string, text: string | Buffer) => {
  writeFileSync(join(work, name), text);
  execFileSync('bzip2', ['-k', '-f', name], { cwd: work });
  return readFileSync(join(work, `${name}.bz2`));
};

/** The central directory entries of a zip: the offset of each. */
function directoryEntries(zip: Buffer): number[] {
  const at: number[] = [];
  for (let index = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])); index >= 0; index = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), index + 4)) at.push(index);
  return at;
}

beforeAll(async () => {
  // A bzip2 bomb as `cat` makes one: a stream with real rows, then 2,000 streams of 45 MB of line
  // breaks each (about 50 bytes apiece): 100 kB that decompress to 90 GB.
  const rows = bzip2('rows.csv', 'id,v\n1,1\n2,4\n');
  const run = bzip2('run.csv', Buffer.alloc(45_000_000, 0x0a));
  const bomb = Buffer.concat([rows, ...Array<Buffer>(2_000).fill(run)]);

  // Two members whose directory entries point at the same bytes: the second is a copy of the first's entry but its name.
  python(`import zipfile\nwith zipfile.ZipFile('pair.zip', 'w', zipfile.ZIP_DEFLATED) as z:\n  z.writestr('one.csv', 'id,v\\n1,1\\n2,4\\n')\n  z.writestr('two.csv', 'id,v\\n3,9\\n')\n`);
  const pair = readFileSync(join(work, 'pair.zip'));
  const [first, second] = directoryEntries(pair) as [number, number];
  const shared = Buffer.from(pair);
  // crc, sizes (16..28) and local header offset (42..46) of the first entry; names are the same length.
  pair.copy(shared, second + 16, first + 16, first + 28);
  pair.copy(shared, second + 42, first + 42, first + 46);

  // A zip holding a .csv.bz2 of many 100 kB blocks (bzip2 -1): decoded a block at a time as the reader takes it.
  const squares = 'id,v\n' + Array.from({ length: 300_000 }, (_, id) => `${id},${id * id}\n`).join('');
  writeFileSync(join(work, 'squares.csv'), squares);
  execFileSync('bzip2', ['-1', '-k', '-f', 'squares.csv'], { cwd: work });
  execFileSync('zip', ['-q', 'nested.zip', 'squares.csv.bz2'], { cwd: work });

  const entries: [string, Buffer][] = [
    ['nested/nested.zip', readFileSync(join(work, 'nested.zip'))],
    ['bomb/runs.csv.bz2', bomb],
    ['shared/pair.zip', shared],
    ['honest/pair.zip', pair],
  ];
  for (const [key, body] of entries) {
    KEYS.push(PREFIX + key);
    await putObject(client, PREFIX + key, body);
  }
}, 120_000);

afterAll(async () => {
  for (const key of KEYS) await deleteObject(client, key);
  rmSync(work, { recursive: true, force: true });
});

const stream = (name: string, glob: string) => ({ name, globs: [`${PREFIX}${glob}`], format: { filetype: 'csv' } });
const url = (key: string) => `s3://${BUCKET}/${PREFIX}${key}`;
const errorOf = (result: ReadResult) => result.messages.find((message) => message.type === 'TRACE' && message.trace.type === 'ERROR')?.trace.error;
const FULL = { sync_mode: 'full_refresh' as const };

describe('bzip2 bombs', () => {
  it('check and discover of 100 kB that decompress to 90 GB decode only the sample: the blocks past it are never decoded', async () => {
    // Before: every block held back for the sample's end check was decoded at once, each into a JS array (an hour, GBs).
    const config = configWith([stream('runs', 'bomb/*')]);
    const { status, message } = await check(config);
    expect(status, message).toBe('SUCCEEDED');
    const [schema] = await discoverStreams(config);
    expect(Object.keys(schema!.json_schema.properties)).toEqual(expect.arrayContaining(['id', 'v']));
  }, 60_000);
});

describe('bzip2 inside a zip', () => {
  it('a zip member named .csv.bz2 of many blocks reads every row once, in order', async () => {
    const config = configWith([stream('nested', 'nested/*')]);
    const result = await read(config, configuredCatalog(await discoverStreams(config), FULL));
    expect(result.code, result.stderr).toBe(0);
    const ids = result.records.map((record) => record.data.id);
    expect(ids).toEqual(Array.from({ length: 300_000 }, (_, id) => id));
    expect(result.records.every((record) => record.data.v === record.data.id ** 2)).toBe(true);
    expect(result.records[0]!.data._ab_source_file_url).toBe(url('nested/nested.zip#squares.csv.bz2'));
  }, 120_000);
});

describe('zips whose directory entries share bytes', () => {
  it('two members pointing at the same data are refused, naming both, instead of reading its rows twice', async () => {
    const config = configWith([stream('pair', 'shared/*')]);
    const catalog = configuredCatalog(await discoverStreams(configWith([stream('pair', 'honest/*')])), FULL);
    const result = await read(config, catalog);
    expect(result.code).toBe(1);
    expect(errorOf(result).message).toContain(`${url('shared/pair.zip')} cannot be read as a zip: members "one.csv" and "two.csv" share bytes`);
    expect(result.records).toHaveLength(0);
  });

  it('the same zip as Python wrote it reads each member once', async () => {
    const config = configWith([stream('pair', 'honest/*')]);
    const result = await read(config, configuredCatalog(await discoverStreams(config), FULL));
    expect(result.code, result.stderr).toBe(0);
    expect(result.records.map((record) => `${record.data._ab_source_file_url.split('#')[1]}:${record.data.id}`).sort()).toEqual(['one.csv:1', 'one.csv:2', 'two.csv:3']);
  });
});
