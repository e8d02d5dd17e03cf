import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtempSync, rmSync, statSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check, endpoint, localConfig, onlyMessage, runCli, writeTempFile } from '../support/cli.js';
import { BUCKET } from '../support/constants.js';
import { testClient } from '../support/s3-client.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { FIXTURES } from '../support/fixtures.js';

const HUGE_CSV = 'big/huge.csv';
const LARGE_PARQUET = 'big/large.parquet';
const HUGE_BYTES = 1024 * 1024 * 1024;
const SAMPLE_BYTES = 1024 * 1024;

let client: S3Client;
let proxy: FaultProxy;
let proxyEndpoint: string;
let workDir: string;
let largeParquetBytes = 0;

/** 1 GiB of CSV, made on the fly: one 1 MiB block of whole lines, repeated. */
function hugeCsv(): Readable {
  const header = 'id,name,amount,created_at\n';
  let block = '';
  for (let index = 0; block.length < SAMPLE_BYTES - 100; index++) block += `${index},name-${index},${index * 1.5},2024-01-01 00:00:00\n`;
  const blockBuffer = Buffer.from(block);
  let remaining = HUGE_BYTES;
  let first = true;
  return new Readable({
    read() {
      if (remaining === 0) return void this.push(null);
      let chunk = first ? Buffer.concat([Buffer.from(header), blockBuffer]) : blockBuffer;
      first = false;
      if (chunk.length > remaining) chunk = Buffer.from(`${'#'.repeat(remaining - 1)}\n`);
      remaining -= chunk.length;
      this.push(chunk);
    },
  });
}

beforeAll(async () => {
  client = testClient();
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: HUGE_CSV, Body: hugeCsv(), ContentLength: HUGE_BYTES }));

  workDir = mkdtempSync(join(tmpdir(), 'source-s3-big-'));
  const parquetPath = join(workDir, 'large.parquet');
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const connection = await instance.connect();
  await connection.run(
    `COPY (SELECT i AS id, md5(i::VARCHAR) AS hash, random() AS score FROM range(3000000) t(i)) TO '${parquetPath}' (FORMAT parquet)`,
  );
  connection.closeSync();
  instance.closeSync();
  largeParquetBytes = statSync(parquetPath).size;
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: LARGE_PARQUET, Body: createReadStream(parquetPath), ContentLength: largeParquetBytes }));

  proxy = new FaultProxy(endpoint());
  proxyEndpoint = await proxy.start();
}, 300_000);

afterAll(async () => {
  await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: HUGE_CSV }));
  await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: LARGE_PARQUET }));
  client.destroy();
  await proxy.stop();
  rmSync(workDir, { recursive: true, force: true });
});

describe('check reads the first rows of a large Parquet file through one row group', () => {
  it('fetches the footer and the first row group only', async () => {
    proxy.bytesByKey.clear();
    const config = localConfig({ endpoint: proxyEndpoint, streams: [{ name: 'large', globs: [LARGE_PARQUET], format: { filetype: 'parquet' } }] });
    const { status, message } = await check(config);
    expect(status, message).toBe('SUCCEEDED');
    expect(message).toContain('(3 columns, 10 rows parsed)');
    expect(proxy.bytesFor(LARGE_PARQUET)).toBeLessThan(largeParquetBytes / 10);
  });

  it('says plainly when the first row group is too large to sample', async () => {
    const config = localConfig({ endpoint: proxyEndpoint, streams: [{ name: 'large', globs: [LARGE_PARQUET], format: { filetype: 'parquet' } }] });
    const { status, message } = await check(config, { env: { SOURCE_S3_SAMPLE_ROW_GROUP_BYTES: '1048576' } });
    expect(status, message).toBe('SUCCEEDED');
    expect(message).toMatch(/\(3 columns, schema read from the footer; rows not sampled: its first row group is \d+ MiB, more than a sample may fetch\)/);
  });
});

describe('discovery reads a bounded number of bytes per file, whatever its size', () => {
  it('fetches 1 MiB of a 1 GiB CSV and only the footer of Parquet files, large or small', async () => {
    proxy.bytesByKey.clear();
    const config = localConfig({
      endpoint: proxyEndpoint,
      streams: [
        { name: 'huge_csv', globs: [HUGE_CSV], format: { filetype: 'csv' } },
        { name: 'large_parquet', globs: [LARGE_PARQUET], format: { filetype: 'parquet' } },
        { name: 'small_parquet', globs: [FIXTURES.eventsParquet], format: { filetype: 'parquet' } },
      ],
    });
    const queryConfig = localConfig({
      endpoint: proxyEndpoint,
      streams: [{ name: 'huge_query', query: `SELECT name, count(*) AS n FROM 's3://source-s3-test/${HUGE_CSV}' JOIN 's3://source-s3-test/${LARGE_PARQUET}' USING (id) GROUP BY name` }],
    });
    const result = await runCli(['discover', '--config', writeTempFile('config.json', config)]);
    expect(result.code, result.stdout).toBe(0);
    const streams = onlyMessage(result, 'CATALOG').catalog.streams as { name: string; json_schema: { properties: Record<string, unknown> } }[];
    expect(Object.keys(streams[0]!.json_schema.properties)).toEqual(['id', 'name', 'amount', 'created_at', '_ab_source_file_url', '_ab_source_file_last_modified']);
    expect(Object.keys(streams[1]!.json_schema.properties)).toEqual(['id', 'hash', 'score', '_ab_source_file_url', '_ab_source_file_last_modified']);

    const csvFetched = proxy.bytesFor(HUGE_CSV);
    expect(csvFetched).toBeGreaterThan(0);
    expect(csvFetched).toBeLessThanOrEqual(SAMPLE_BYTES);
    const largeFetched = proxy.bytesFor(LARGE_PARQUET);
    const smallFetched = proxy.bytesFor(FIXTURES.eventsParquet);
    expect(largeParquetBytes).toBeGreaterThan(20 * 1024 * 1024);
    // The footer read is the same fixed-size tail however large the file is.
    expect(largeFetched).toBeLessThanOrEqual(64 * 1024);
    expect(smallFetched).toBeLessThanOrEqual(64 * 1024);
    console.log(`discover fetched ${csvFetched} bytes of a ${HUGE_BYTES}-byte CSV, ${largeFetched} of a ${largeParquetBytes}-byte Parquet file`);

    // A model query over the same files is described from the same bounded samples.
    proxy.bytesByKey.clear();
    const queried = await runCli(['discover', '--config', writeTempFile('config.json', queryConfig)]);
    expect(queried.code, queried.stdout).toBe(0);
    expect(Object.keys(onlyMessage(queried, 'CATALOG').catalog.streams[0].json_schema.properties)).toEqual(['name', 'n']);
    expect(proxy.bytesFor(HUGE_CSV)).toBeLessThanOrEqual(SAMPLE_BYTES);
    expect(proxy.bytesFor(LARGE_PARQUET)).toBeLessThanOrEqual(64 * 1024);
  });
});
