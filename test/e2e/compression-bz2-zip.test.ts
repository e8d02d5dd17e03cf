import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check, runCli, writeTempFile } from '../support/cli.js';
import { BUCKET } from '../support/constants.js';
import { configuredCatalog, configWith, discoverStreams, read, readUntilKilled, rememberedKeys, type ReadResult, type Schema } from '../support/read.js';
import { deleteObject, putObject, testClient } from '../support/s3-client.js';
import { useFaultProxy } from '../support/proxy-hooks.js';

// .bz2 and .zip as the bzip2 and zip tools and Python's zipfile make them, uploaded to the local S3 server.
const PREFIX = 'bz2zip/';
const client = testClient();
const work = mkdtempSync(join(tmpdir(), 'source-s3-bz2zip-'));
const FILES = new Map<string, Buffer>();

/** id,v with v = id²: a wrong, lost or cut row shows. */
const squares = (from: number, to: number, header = true) =>
  (header ? 'id,v\n' : '') + Array.from({ length: to - from }, (_, index) => `${from + index},${(from + index) ** 2}\n`).join('');
const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, index) => from + index);

/** Runs a tool in `dir` and returns the bytes of `output` there. */
function made(dir: string, command: string, args: string[], output: string): Buffer {
  execFileSync(command, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  return readFileSync(join(dir, output));
}

function folder(name: string, files: Record<string, string>): string {
  const dir = join(work, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/** A copy of a zip with the first central directory entry changed by `patch` (given the entry's offset): a crafted archive. */
function patchDirectory(zip: Buffer, patch: (bytes: Buffer, at: number) => void): Buffer {
  const copy = Buffer.from(zip);
  patch(copy, copy.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])));
  return copy;
}

const python = (script: string, dir: string) => execFileSync('python3', ['-c', script], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });

beforeAll(async () => {
  const bz = folder('bz', { 'big.csv': squares(0, 200_000), 'a.csv': squares(0, 1_000), 'b.csv': squares(1_000, 3_000, false), 'rows.jsonl': '{"id": 1, "v": 1}\n{"id": 2, "v": 4}\n' });
  const big = made(bz, 'bzip2', ['-k', '-f', 'big.csv'], 'big.csv.bz2');
  // pbzip2/lbzip2 write one bzip2 stream per block: the same as `cat a.bz2 b.bz2`.
  const multi = Buffer.concat([made(bz, 'bzip2', ['-k', '-f', 'a.csv'], 'a.csv.bz2'), made(bz, 'bzip2', ['-k', '-f', 'b.csv'], 'b.csv.bz2')]);
  const zips = folder('zips', {
    'data/one.csv': squares(0, 10),
    'data/two.csv': squares(10, 25),
    'data/__MACOSX/data/._one.csv': 'resource fork',
    'weird/a#b.csv': squares(100, 103),
  });
  // zip -r adds the folder entry data/ too: skipped as not a file.
  const toolZip = made(zips, 'zip', ['-q', '-r', 'tool.zip', 'data'], 'tool.zip');
  const hashZip = made(zips, 'zip', ['-q', '-r', 'hash.zip', 'weird'], 'hash.zip');
  python(
    `import zipfile\nwith zipfile.ZipFile('z64.zip', 'w', zipfile.ZIP_DEFLATED) as z:\n  z.writestr(zipfile.ZipInfo('in/deep.csv'), ${JSON.stringify(squares(0, 5_000))}, compress_type=zipfile.ZIP_DEFLATED)\n  with z.open('stored.csv', 'w', force_zip64=True) as f: f.write(${JSON.stringify(squares(5_000, 5_010))}.encode())\n`,
    zips,
  );
  python(
    `import zipfile\nwith zipfile.ZipFile('attack.zip', 'w', zipfile.ZIP_DEFLATED) as z:\n  z.writestr('../../etc/evil.csv', 'id,v\\n1,1\\n')\n  z.writestr('/abs/path.csv', 'id,v\\n2,4\\n')\n`,
    zips,
  );
  python(
    `import zipfile\nwith zipfile.ZipFile('lzma.zip', 'w', zipfile.ZIP_LZMA) as z:\n  z.writestr('packed.csv', 'id,v\\n1,1\\n')\n`,
    zips,
  );
  python(`import zipfile\nwith zipfile.ZipFile('many.zip', 'w') as z:\n  [z.writestr('m/%05d.csv' % i, 'id,v\\n%d,%d\\n' % (i, i * i)) for i in range(300)]\n`, zips);
  const bigZip = (() => {
    const dir = folder('bigzip', { 'part1.csv': squares(0, 60_000), 'part2.csv': squares(60_000, 120_000) });
    return made(dir, 'zip', ['-q', 'parts.zip', 'part1.csv', 'part2.csv'], 'parts.zip');
  })();
  const entries: [string, Buffer][] = [
    ['bz/big.csv.bz2', big],
    ['multi/both.csv.bz2', multi],
    ['cut-bz/1-good.csv', Buffer.from(squares(0, 10))],
    ['cut-bz/2-cut.csv.bz2', big.subarray(0, Math.floor(big.length * 0.6))],
    ['cut-tail-bz/data.csv.bz2', made(bz, 'bzip2', ['-k', '-f', 'a.csv'], 'a.csv.bz2').subarray(0, -4)],
    ['jsonl-bz/rows.jsonl.bz2', made(bz, 'bzip2', ['-k', '-f', 'rows.jsonl'], 'rows.jsonl.bz2')],
    ['zip/tool.zip', toolZip],
    ['hash/hash.zip', hashZip],
    ['z64/z64.zip', readFileSync(join(zips, 'z64.zip'))],
    ['attack/attack.zip', readFileSync(join(zips, 'attack.zip'))],
    ['lzma/lzma.zip', readFileSync(join(zips, 'lzma.zip'))],
    ['many/many.zip', readFileSync(join(zips, 'many.zip'))],
    ['cut-zip/tool.zip', toolZip.subarray(0, toolZip.length - 30)],
    ['parts/parts.zip', bigZip],
    ['crafted/bomb.zip', patchDirectory(bigZip, (directory, at) => directory.writeUInt32LE(1_000, at + 24))],
    ['crafted/crc.zip', patchDirectory(bigZip, (directory, at) => directory.writeUInt32LE(directory.readUInt32LE(at + 16) ^ 1, at + 16))],
    ['default/plain.csv', Buffer.from(squares(900, 902))],
    ['default/packed.csv.bz2', made(bz, 'bzip2', ['-k', '-f', 'a.csv'], 'a.csv.bz2')],
    ['default/archive.zip', toolZip],
  ];
  for (const [key, body] of entries) {
    FILES.set(key, body);
    await putObject(client, PREFIX + key, body);
  }
}, 180_000);

afterAll(async () => {
  for (const key of FILES.keys()) await deleteObject(client, PREFIX + key);
  rmSync(work, { recursive: true, force: true });
});

const stream = (name: string, glob: string, filetype = 'csv') => ({ name, globs: [`${PREFIX}${glob}`], format: { filetype } });
const errorOf = (result: ReadResult) => result.messages.find((message) => message.type === 'TRACE' && message.trace.type === 'ERROR')?.trace.error;
const INCREMENTAL: { sync_mode: 'incremental'; cursor_field: string[] } = { sync_mode: 'incremental', cursor_field: ['_ab_source_file_last_modified'] };

async function fullRead(streams: unknown[], state?: unknown): Promise<ReadResult & { catalog: Schema }> {
  const config = configWith(streams);
  const catalog = configuredCatalog(await discoverStreams(config), INCREMENTAL);
  return { ...(await read(config, catalog, state)), catalog };
}

const url = (key: string) => `s3://${BUCKET}/${PREFIX}${key}`;

describe('bzip2', () => {
  it('a file made by bzip2 reads every row, streamed through the FIFO (past SOURCE_S3_STREAM_MIN_BYTES) or staged', async () => {
    const config = configWith([stream('bz', 'bz/*')]);
    const catalog = configuredCatalog(await discoverStreams(config), INCREMENTAL);
    expect(Object.keys(catalog.streams[0].stream.json_schema.properties)).toEqual(['id', 'v', '_ab_source_file_url', '_ab_source_file_last_modified']);
    for (const env of [{}, { SOURCE_S3_STREAM_MIN_BYTES: '1000' }] as Record<string, string>[]) {
      const result = await read(config, catalog, undefined, env);
      expect(result.code, result.stderr).toBe(0);
      expect(result.records).toHaveLength(200_000);
      expect(result.records.at(-1)!.data).toMatchObject({ id: 199_999, v: 199_999 ** 2, _ab_source_file_url: url('bz/big.csv.bz2') });
    }
  });

  it('every stream of a multi-stream file (as pbzip2 writes, or cat a.bz2 b.bz2) is read', async () => {
    const result = await fullRead([stream('multi', 'multi/*')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.records.map((record) => record.data.id)).toEqual(ids(0, 3_000));
  });

  it('JSON Lines .bz2 reads', async () => {
    const result = await fullRead([stream('jb', 'jsonl-bz/*', 'jsonl')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.records.map((record) => record.data.v)).toEqual([1, 4]);
  });

  it('a cut-off upload fails read naming its URL, after the intact file, and is not recorded as synced', async () => {
    const config = configWith([stream('cut', 'cut-bz/*')]);
    const catalog = configuredCatalog(await discoverStreams(configWith([stream('cut', 'cut-bz/1-good.csv')])), INCREMENTAL);
    for (const env of [{}, { SOURCE_S3_STREAM_MIN_BYTES: '1000' }] as Record<string, string>[]) {
      const result = await read(config, catalog, undefined, env);
      expect(result.code).toBe(1);
      expect(errorOf(result).message).toContain(`${url('cut-bz/2-cut.csv.bz2')} is cut off: its bzip2 data ends early`);
      expect(result.records.map((record) => record.data.id)).toEqual(ids(0, 10));
      expect(rememberedKeys(result.states.at(-1)!.stream.stream_state)).toEqual([`${PREFIX}cut-bz/1-good.csv`]);
    }
  });

  it('a file cut inside its end-of-stream marker fails check, not read as shorter', async () => {
    const { status, message } = await check(configWith([stream('tail', 'cut-tail-bz/*')]));
    expect(status).toBe('FAILED');
    expect(message).toContain(`${url('cut-tail-bz/data.csv.bz2')} is cut off`);
  });
});

describe('zip', () => {
  it('members of a zip made by `zip -r` are files of the stream, named key.zip#member; folders and __MACOSX are skipped', async () => {
    const result = await fullRead([stream('z', 'zip/*')]);
    expect(result.code, result.stderr).toBe(0);
    const members = [`${PREFIX}zip/tool.zip#data/one.csv`, `${PREFIX}zip/tool.zip#data/two.csv`];
    expect([...new Set(result.records.map((record) => record.data._ab_source_file_url))].sort()).toEqual(members.map((key) => `s3://${BUCKET}/${key}`));
    expect(result.records.map((record) => record.data.id).sort((a, b) => a - b)).toEqual(ids(0, 25));
    expect(rememberedKeys(result.states.at(-1)!.stream.stream_state).sort()).toEqual(members);
    // unzip -l (the tool's own listing) shows the folder entry and the resource fork that were skipped.
    const listing = execFileSync('unzip', ['-l', join(work, 'zips', 'tool.zip')]).toString();
    expect(listing).toContain('data/__MACOSX/data/._one.csv');
    expect(listing).toMatch(/\sdata\/\n/);
  });

  it('an unchanged zip is not read again; its members are remembered one by one', async () => {
    const first = await fullRead([stream('parts', 'parts/*')]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.records).toHaveLength(120_000);
    const again = await read(configWith([stream('parts', 'parts/*')]), first.catalog, [first.states.at(-1)]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.records).toHaveLength(0);
  });

  it('a sync killed inside a zip resumes without losing a row', async () => {
    const config = configWith([stream('parts', 'parts/*')]);
    const catalog = configuredCatalog(await discoverStreams(config), INCREMENTAL);
    const env = { SOURCE_S3_CHECKPOINT_RECORDS: '5000', SOURCE_S3_CHECKPOINT_SECONDS: '0' };
    const args = ['read', '--config', writeTempFile('config.json', config), '--catalog', writeTempFile('catalog.json', catalog)];
    const before = await readUntilKilled(args, env, (message) => message.type === 'STATE');
    const state = before.filter((message) => message.type === 'STATE').at(-1)!.state;
    const seen = new Set(before.filter((message) => message.type === 'RECORD').map((message) => message.record.data.id));
    expect(seen.size).toBeGreaterThan(0);
    expect(seen.size).toBeLessThan(120_000);
    const after = await read(config, catalog, [state], env);
    expect(after.code, after.stderr).toBe(0);
    for (const record of after.records) seen.add(record.data.id);
    expect(seen.size).toBe(120_000);
  });

  it('Python zipfile: a ZIP64 member and a stored one, and a member in a folder, read with their paths', async () => {
    const result = await fullRead([stream('z64', 'z64/*')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.records.map((record) => record.data.id).sort((a, b) => a - b)).toEqual(ids(0, 5_010));
    expect(new Set(result.records.map((record) => record.data._ab_source_file_url))).toEqual(new Set([url('z64/z64.zip#in/deep.csv'), url('z64/z64.zip#stored.csv')]));
  });

  it('a member name holding # stays whole in the URL', async () => {
    const result = await fullRead([stream('hash', 'hash/*')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.records.map((record) => record.data._ab_source_file_url)).toEqual(Array(3).fill(url('hash/hash.zip#weird/a#b.csv')));
  });

  it('member names with ../ and absolute paths are only names in the URL: read as members (a member is staged under a sanitized base name)', async () => {
    const result = await fullRead([stream('attack', 'attack/*')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.records.map((record) => record.data._ab_source_file_url).sort()).toEqual([url('attack/attack.zip#../../etc/evil.csv'), url('attack/attack.zip#/abs/path.csv')].sort());
  });

  it('a member compressed with LZMA fails with a clear error naming the member and method', async () => {
    const result = await read(
      configWith([stream('lz', 'lzma/*')]),
      configuredCatalog([{ name: 'lz', json_schema: { type: 'object', properties: { id: { type: ['null', 'integer'] } } }, supported_sync_modes: ['full_refresh'] }], { sync_mode: 'full_refresh' }),
    );
    expect(result.code).toBe(1);
    expect(errorOf(result).message).toContain(`${url('lzma/lzma.zip#packed.csv')} is compressed with lzma, which is not read`);
  });

  it('a zip of 300 members reads every one', async () => {
    const result = await fullRead([stream('many', 'many/*')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.records.map((record) => record.data.id).sort((a, b) => a - b)).toEqual(ids(0, 300));
  });

  it('a cut-off zip fails check naming it (no end-of-central-directory record)', async () => {
    const { status, message } = await check(configWith([stream('cutzip', 'cut-zip/*')]));
    expect(status).toBe('FAILED');
    expect(message).toContain(`${url('cut-zip/tool.zip')} cannot be read as a zip`);
  });
});

describe('crafted and flaky zips', () => {
  const proxied = useFaultProxy();
  const catalogOf = async (glob: string) => configuredCatalog(await discoverStreams(configWith([stream('parts', glob)])), INCREMENTAL);

  it('a member that inflates past the size its directory declares (a zip bomb lies so) fails at once, naming it', async () => {
    const result = await read(configWith([stream('parts', 'crafted/bomb.zip')]), await catalogOf('parts/*'));
    expect(result.code).toBe(1);
    expect(errorOf(result).message).toContain(`${url('crafted/bomb.zip#part1.csv')} expands past the 1000 bytes its zip directory declares`);
    expect(result.records.filter((record) => record.data._ab_source_file_url.endsWith('#part1.csv'))).toHaveLength(0);
  });

  it('a member whose CRC-32 does not match fails naming it, with none of its rows', async () => {
    const result = await read(configWith([stream('parts', 'crafted/crc.zip')]), await catalogOf('parts/*'));
    expect(result.code).toBe(1);
    expect(errorOf(result).message).toContain(`${url('crafted/crc.zip#part1.csv')} is corrupt: its CRC-32 does not match`);
    expect(result.records.filter((record) => record.data._ab_source_file_url.endsWith('#part1.csv'))).toHaveLength(0);
  });

  it('bodies cut by the network (no Content-Length) are resumed: every row of every member once', async () => {
    const catalog = await catalogOf('parts/*');
    const rule = proxied.proxy().inject({ get: `${PREFIX}parts/parts.zip` }, { kind: 'cut', afterBytes: 40_000, contentLength: false }, 6);
    const result = await read(configWith([stream('parts', 'parts/*')], { endpoint: proxied.endpoint() }), catalog, undefined, { SOURCE_S3_MAX_ATTEMPTS: '20' });
    expect(result.code, result.stderr).toBe(0);
    expect(rule.hits).toBeGreaterThanOrEqual(4);
    const seen = result.records.map((record) => record.data.id).sort((a, b) => a - b);
    expect(seen).toEqual(ids(0, 120_000));
  });

  it('a member body cut at every attempt fails the stream with a transient_error, no row of it emitted', async () => {
    const catalog = await catalogOf('parts/*');
    proxied.proxy().clearFaults();
    proxied.proxy().inject({ get: `${PREFIX}parts/parts.zip` }, { kind: 'cut', afterBytes: 40_000, contentLength: true }, 1_000);
    const result = await read(configWith([stream('parts', 'parts/*')], { endpoint: proxied.endpoint() }), catalog, undefined, { SOURCE_S3_MAX_ATTEMPTS: '2' });
    expect(result.code).toBe(1);
    const error = errorOf(result);
    expect(error.failure_type).toBe('transient_error');
    expect(error.message).toContain(url('parts/parts.zip'));
    expect(result.records).toHaveLength(0);
  });
});

describe('default stream and model queries', () => {
  it('the default stream reads .csv, .csv.bz2 and the .csv members of a .zip', async () => {
    const config = configWith([], { path: `${PREFIX}default` });
    const catalog = configuredCatalog(await discoverStreams(config), INCREMENTAL);
    const read1 = await read(config, catalog);
    expect(read1.code, read1.stderr).toBe(0);
    const urls = new Set(read1.records.map((record) => record.data._ab_source_file_url));
    expect(urls).toEqual(new Set([url('default/plain.csv'), url('default/packed.csv.bz2'), url('default/archive.zip#data/one.csv'), url('default/archive.zip#data/two.csv')]));
    expect(read1.records).toHaveLength(2 + 1_000 + 25);
  });

  it.each([
    ['bz/big.csv.bz2', 'a bzip2 file'],
    ['zip/tool.zip', 'a zip archive'],
  ])('a model query over %s says plainly it cannot read it', async (key, what) => {
    const config = configWith([{ name: 'q', query: `SELECT count(*) AS n FROM '${url(key)}'` }]);
    const discovered = await runCli(['discover', '--config', writeTempFile('config.json', config)]);
    expect(discovered.code).toBe(1);
    const message = discovered.messages.find((m) => m.type === 'TRACE')!.trace.error.message as string;
    expect(message).toContain(`reads "${url(key)}" (at line 1, column 27): ${what}, which model queries cannot read`);
    expect(message).toContain('Read it with a file stream whose globs match it');
  });
});
