import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { BUCKET } from '../support/constants.js';
import { configuredCatalog, configWith, discoverStreams, lastStates, read, rememberedKeys, type Schema } from '../support/read.js';
import { putObject, testClient } from '../support/s3-client.js';
import { STATE_SHARE_OF_OUTPUT } from '../../src/streams/checkpoints.js';

/*
 * The STATE contract of issue 12: few STATEs, each small (a watermark and the files near it), and
 * every one of them a point a sync resumes from without losing a row.
 */

const client = testClient();
afterAll(() => client.destroy());

const folder = (label: string) => `state/${label}-${randomUUID().slice(0, 8)}/`;
/** s3rver (like S3) lists LastModified in whole seconds: a pause past a second orders uploads. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 1100));
const ids = (records: Schema[]) => records.map((record) => record.data.id as number);
const stateLines = (stdout: string) => stdout.split('\n').filter((line) => line.startsWith('{"type":"STATE"'));

async function incrementalStream(name: string, prefix: string) {
  const config = configWith([{ name, globs: [`${prefix}**/*.csv`], format: { filetype: 'csv' } }]);
  const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'incremental' });
  return { config, catalog };
}

/**
 * Resumes from each printed STATE as if the read had died right after it: records printed up to it
 * are kept, the rest must come from the resumed read. Together they hold every row.
 */
async function expectEveryStateResumes(config: Schema, catalog: Schema, stdout: string, allIds: number[], env: Record<string, string> = {}): Promise<number> {
  const lines = stdout.trimEnd().split('\n');
  let resumedFrom = 0;
  for (const [index, line] of lines.entries()) {
    if (!line.startsWith('{"type":"STATE"')) continue;
    const before = lines
      .slice(0, index)
      .filter((earlier) => earlier.startsWith('{"type":"RECORD"'))
      .map((earlier) => (JSON.parse(earlier) as Schema).record.data.id as number);
    const resumed = await read(config, catalog, [(JSON.parse(line) as Schema).state], env);
    expect(resumed.code, resumed.stderr).toBe(0);
    const union = new Set([...before, ...ids(resumed.records)]);
    expect(union.size, `resumed from STATE at line ${index}`).toBe(allIds.length);
    // Files finished before the STATE do not come again: at most the rows of a file in progress do.
    expect(ids(resumed.records).filter((id) => before.includes(id)).length).toBeLessThan(100);
    resumedFrom++;
  }
  return resumedFrom;
}

describe('STATE messages of a sync of many files', () => {
  it('are few and small: a STATE for records only once the output since the last one is 1,024 times its size', async () => {
    const prefix = folder('many');
    const files = 200;
    for (let start = 0; start < files; start += 25) {
      await Promise.all(Array.from({ length: 25 }, (_, offset) => start + offset).map((index) => putObject(client, `${prefix}exports/2026/11/30/part-${String(index).padStart(6, '0')}.csv`, `id,name\n${index},name-${index}\n`)));
    }
    const { config, catalog } = await incrementalStream('many', prefix);
    // Due by records after every file (1 record each); the time rule is kept out of the way.
    const env = { SOURCE_S3_CHECKPOINT_RECORDS: '1', SOURCE_S3_CHECKPOINT_SECONDS: '3600' };
    const first = await read(config, catalog, undefined, env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.records).toHaveLength(files);
    const printed = stateLines(first.stdout);
    const stateBytes = printed.reduce((total, line) => total + line.length + 1, 0);
    const largest = Math.max(...printed.map((line) => line.length));
    console.log(`${files} files: ${printed.length} STATEs, ${stateBytes} bytes of STATE in ${first.stdout.length} bytes of output, largest ${largest}`);
    // Before: one per file and one at the end, each with the whole history (about 100 bytes a file).
    expect(printed.length).toBeLessThan(files / 10);
    expect(stateBytes - printed.at(-1)!.length).toBeLessThanOrEqual(first.stdout.length * STATE_SHARE_OF_OUTPUT);
    // The last one remembers every file, in about 23 bytes each (keys front-coded, times as offsets, versions hashed).
    const blob = lastStates(first.messages)[0]!.stream.stream_state;
    expect(rememberedKeys(blob)).toHaveLength(files);
    expect(JSON.stringify(blob.files).length / files).toBeLessThan(25);
    expect(first.states.reduce((total, state) => total + state.sourceStats.recordCount, 0)).toBe(files);

    const second = await read(config, catalog, lastStates(first.messages), env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.records).toEqual([]);
  });

  it('are each a point to resume from: killed after any STATE, the resumed read loses no row', async () => {
    const prefix = folder('resume');
    const rows = (from: number, count: number) => `id,name\n${Array.from({ length: count }, (_, index) => `${from + index},n${from + index}\n`).join('')}`;
    await putObject(client, `${prefix}a/1.csv`, rows(0, 30));
    await putObject(client, `${prefix}a/2.csv`, rows(100, 5));
    await tick();
    await putObject(client, `${prefix}b/3.csv`, rows(200, 45));
    await tick();
    await putObject(client, `${prefix}b/4.csv`, rows(300, 3));
    const allIds = [...Array.from({ length: 30 }, (_, index) => index), 100, 101, 102, 103, 104, ...Array.from({ length: 45 }, (_, index) => 200 + index), 300, 301, 302];
    const { config, catalog } = await incrementalStream('resumable', prefix);
    // Every safe point printed: after each file, and every 20 records inside one. Files read one by
    // one (SOURCE_S3_BATCH_BYTES=0) have positions inside them; read in a batch, whole files are passed.
    for (const batchBytes of ['0', '67108864']) {
      const env = { SOURCE_S3_CHECKPOINT_RECORDS: '20', SOURCE_S3_CHECKPOINT_SECONDS: '0', SOURCE_S3_BATCH_BYTES: batchBytes };
      const full = await read(config, catalog, undefined, env);
      expect(full.code, full.stderr).toBe(0);
      expect(ids(full.records).sort((x, y) => x - y)).toEqual(allIds);
      const midFile = full.states.filter((state) => state.stream.stream_state.in_progress !== undefined);
      expect(midFile.map((state) => state.stream.stream_state.in_progress.rows)).toEqual(batchBytes === '0' ? [20, 20, 40] : []);
      expect(full.states.length).toBeGreaterThan(2);
      expect(await expectEveryStateResumes(config, catalog, full.stdout, allIds, env)).toBe(full.states.length);
    }
  });
});

describe('a state printed by the version before (state blob version 1)', () => {
  interface V1Fixture {
    objects: { key: string; last_modified: string; body: string }[];
    states: Schema[];
  }
  const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'state-v1-main.json'), 'utf8')) as V1Fixture;

  it('resumes from every STATE it printed with no row lost or emitted twice', async () => {
    // The same objects (same bytes: same sizes and ETags) in a fresh folder, uploaded a second apart like the originals.
    const oldPrefix = 'v1state/';
    const prefix = folder('v1');
    for (const object of fixture.objects) {
      await putObject(client, object.key.replace(oldPrefix, prefix), object.body);
      await tick();
    }
    const listing = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
    const newTime = new Map(listing.Contents!.map((content) => [content.Key!, content.LastModified!.toISOString()]));
    // The printed states, verbatim but for the folder and the upload times (each object's old time becomes its new one).
    const translate = (state: Schema): Schema => {
      let text = JSON.stringify(state).split(oldPrefix).join(prefix);
      for (const object of fixture.objects) text = text.split(object.last_modified).join(newTime.get(object.key.replace(oldPrefix, prefix))!);
      return JSON.parse(text) as Schema;
    };
    const config = configWith([{ name: 'exports', globs: [`${prefix}**/*.csv`], format: { filetype: 'csv' } }]);
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'incremental' });
    // Read order is upload order: the ids of every row, in the order the old version emitted them.
    const allIds = fixture.objects.flatMap((object) => object.body.trim().split('\n').slice(1).map((line) => Number(line.split(',')[0])));
    let emittedBefore = 0;
    for (const [index, state] of fixture.states.entries()) {
      expect(state.stream.stream_state.version).toBe(1);
      emittedBefore += state.sourceStats.recordCount as number;
      const resumed = await read(config, catalog, [translate(state)]);
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(ids(resumed.records), `from state ${index}`).toEqual(allIds.slice(emittedBefore));
      // It goes on in today's version, which the next sync reads: nothing more to read.
      const blob = lastStates(resumed.messages)[0]!.stream.stream_state;
      expect(blob.version).toBe(2);
      const next = await read(config, catalog, lastStates(resumed.messages));
      expect(next.records).toEqual([]);
    }
  });
});
