import { existsSync, readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { Bucket } from '../../src/s3/bucket.js';
import type { S3Settings } from '../../src/s3/settings.js';
import { StagingArea } from '../../src/s3/staging.js';
import { describeSample, firstRows, stageSample } from '../../src/streams/sample.js';
import { endpoint } from '../support/cli.js';
import { BUCKET, EXTERNAL_ID, ROLE_ARN, ROLE_BASE_KEY_ID, ROLE_BASE_SECRET, USER_KEY_ID, USER_SECRET } from '../support/constants.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { FIXTURES, MANY_COUNT, MANY_PREFIX } from '../support/fixtures.js';
import { deleteObject, putObject, testClient } from '../support/s3-client.js';
import { StsServer } from '../support/sts-server.js';

const settings = (overrides: Partial<S3Settings> = {}): S3Settings => ({
  bucket: BUCKET,
  region: 'us-east-1',
  endpoint: endpoint(),
  forcePathStyle: true,
  credentials: { auth_type: 'iam_user', aws_access_key_id: USER_KEY_ID, aws_secret_access_key: USER_SECRET },
  ...overrides,
});

const ignoreSecrets = () => undefined;

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

describe('Bucket listing', () => {
  it('follows continuation tokens across pages', async () => {
    const bucket = new Bucket(settings(), ignoreSecrets);
    const objects = await collect(bucket.list(MANY_PREFIX, 5));
    expect(objects.map((object) => object.key)).toEqual(
      Array.from({ length: MANY_COUNT }, (_, index) => `${MANY_PREFIX}part-${String(index).padStart(3, '0')}.csv`),
    );
    expect(bucket.requests).toBe(Math.ceil(MANY_COUNT / 5));
    expect(objects.every((object) => object.size > 0 && object.lastModified instanceof Date)).toBe(true);
    bucket.destroy();
  });
});

describe('role credentials', () => {
  const sts = new StsServer([ROLE_BASE_KEY_ID]);
  const previous = process.env.AWS_ENDPOINT_URL_STS;
  beforeAll(async () => {
    process.env.AWS_ENDPOINT_URL_STS = await sts.start();
  });
  afterAll(async () => {
    if (previous === undefined) delete process.env.AWS_ENDPOINT_URL_STS;
    else process.env.AWS_ENDPOINT_URL_STS = previous;
    await sts.stop();
  });

  const roleSettings = () =>
    settings({
      credentials: { auth_type: 'iam_role', role_arn: ROLE_ARN, external_id: EXTERNAL_ID, aws_access_key_id: ROLE_BASE_KEY_ID, aws_secret_access_key: ROLE_BASE_SECRET },
    });

  it('are reused while fresh', async () => {
    sts.calls.length = 0;
    sts.credentialLifetimeSeconds = 3600;
    const bucket = new Bucket(roleSettings(), ignoreSecrets);
    await bucket.hasAnyObject('csv/');
    await bucket.hasAnyObject('parquet/');
    expect(sts.calls).toHaveLength(1);
    bucket.destroy();
  });

  it('are refreshed before they expire, during a long sync', async () => {
    sts.calls.length = 0;
    // Inside the SDK's five-minute refresh window: every request must refresh first.
    sts.credentialLifetimeSeconds = 120;
    const seen: string[] = [];
    const bucket = new Bucket(roleSettings(), (secret) => secret !== undefined && seen.push(secret));
    await bucket.hasAnyObject('csv/');
    await bucket.hasAnyObject('parquet/');
    await bucket.hasAnyObject('jsonl/');
    expect(sts.calls.length).toBeGreaterThanOrEqual(3);
    expect(seen.length).toBeGreaterThan(0);
    bucket.destroy();
  });
});

describe('staging', () => {
  let staging: StagingArea;
  let engine: Engine;
  let proxy: FaultProxy;
  let bucket: Bucket;
  beforeAll(async () => {
    staging = await StagingArea.create();
    engine = await Engine.create(staging.dir);
    proxy = new FaultProxy(endpoint());
    bucket = new Bucket(settings({ endpoint: await proxy.start() }), ignoreSecrets);
  });
  afterAll(async () => {
    await engine.close();
    bucket.destroy();
    await proxy.stop();
    await staging.close();
  });

  const object = async (key: string) => (await collect(bucket.list(key))).find((candidate) => candidate.key === key)!;

  it('downloads a whole object to a private file', async () => {
    const people = await object(FIXTURES.peopleCsv);
    const staged = await staging.download(bucket, people);
    expect(statSync(staged.path).size).toBe(people.size);
    expect(statSync(staged.path).mode & 0o077).toBe(0);
    expect(statSync(staging.dir).mode & 0o077).toBe(0);
    expect(staged.bytesFetched).toBe(people.size);
    expect(readFileSync(staged.path, 'utf8').split('\n')[0]).toBe('id,name,score,joined');
    await staging.release(staged);
    expect(existsSync(staged.path)).toBe(false);
  });

  it.each([FIXTURES.peopleCsv, FIXTURES.peopleGz, FIXTURES.peopleZst])('samples the head of %s decompressed, cut at a line end', async (key) => {
    const people = await object(key);
    const staged = await staging.head(bucket, people, 300);
    const text = readFileSync(staged.path, 'utf8');
    expect(staged.path).toMatch(/\.csv$/);
    expect(text.length).toBeLessThanOrEqual(300);
    expect(text.endsWith('\n')).toBe(true);
    expect(text.startsWith('id,name,score,joined\n')).toBe(true);
    expect(staged.complete).toBe(false);
    await staging.release(staged);
  });

  it('samples a Parquet file through its footer and first row group only', async () => {
    const events = await object(FIXTURES.eventsParquet);
    proxy.bytesByKey.clear();
    const format = { filetype: 'parquet' } as const;
    const sample = await stageSample(bucket, staging, engine, events, format);
    expect(sample.hasRows).toBe(true);
    expect(await describeSample(engine, sample, format)).toEqual([
      { name: 'event_id', type: 'BIGINT' },
      { name: 'kind', type: 'VARCHAR' },
      { name: 'amount', type: 'DECIMAL(21,1)' },
      { name: 'at', type: 'TIMESTAMP' },
    ]);
    const rows = await firstRows(engine, sample, format, 5);
    expect(rows.map((row) => row.event_id)).toEqual(['0', '1', '2', '3', '4']);
    // Three row groups: a sample fetches about one of them plus the footer.
    const fetched = proxy.bytesFor(FIXTURES.eventsParquet);
    expect(fetched).toBe(sample.staged.bytesFetched);
    expect(fetched).toBeLessThan(events.size * 0.5);
    // Sparse on disk too.
    expect(statSync(sample.staged.path).blocks * 512).toBeLessThan(events.size * 0.5);
    await staging.release(sample.staged);
  });

  it('keeps memory bounded on a file that expands a thousandfold, fetching one small range', async () => {
    const client = testClient();
    const line = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n';
    const expanded = Buffer.alloc(256 << 20, line);
    await putObject(client, 'bomb/expands.csv.gz', gzipSync(expanded, { level: 9 }));
    try {
      const staged = await staging.head(bucket, await object('bomb/expands.csv.gz'), 1 << 20);
      expect(staged.bytesFetched).toBe(64 << 10);
      const size = statSync(staged.path).size;
      expect(size).toBeLessThanOrEqual(1 << 20);
      expect(size % line.length).toBe(0);
      await staging.release(staged);
    } finally {
      await deleteObject(client, 'bomb/expands.csv.gz');
      client.destroy();
    }
  });

  it('refuses a .gz that is not gzip data as a config_error naming the file', async () => {
    const client = testClient();
    await putObject(client, 'fake/plain.csv.gz', 'id,name\n1,a\n');
    try {
      const error = await staging.head(bucket, await object('fake/plain.csv.gz'), 1 << 20).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ failureType: 'config_error', message: expect.stringContaining('s3://source-s3-test/fake/plain.csv.gz is not valid gzip data') });
    } finally {
      await deleteObject(client, 'fake/plain.csv.gz');
      client.destroy();
    }
  });

  it('grows a sample to hold a first record longer than it, up to a cap', async () => {
    const client = testClient();
    const longLine = `{"blob": "${'x'.repeat(9000)}"}\n{"blob": "short"}\n`;
    await putObject(client, 'long/record.jsonl', longLine);
    try {
      const staged = await staging.head(bucket, await object('long/record.jsonl'), 4096);
      expect(readFileSync(staged.path, 'utf8')).toBe(longLine);
      await staging.release(staged);
      const error = await staging.head(bucket, await object('long/record.jsonl'), 1024, undefined, 4096).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ failureType: 'config_error', message: expect.stringContaining('The first record of s3://source-s3-test/long/record.jsonl is longer than 4096 bytes') });
    } finally {
      await deleteObject(client, 'long/record.jsonl');
      client.destroy();
    }
  });

  it('removes its directory on close', async () => {
    const area = await StagingArea.create();
    await area.download(bucket, await object(FIXTURES.semicolonCsv));
    await area.close();
    expect(existsSync(area.dir)).toBe(false);
  });
});
