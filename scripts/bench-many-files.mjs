// The many-small-files case of `npm run bench`: a bucket of N small CSV files
// (default 2,000 x 500 rows; BENCH_FILES, BENCH_FILE_ROWS), read incrementally by
// the real CLI, against the floor measured in the same run: fetching every
// object with 16 concurrent GETs plus DuckDB reading the same local files in one
// query and writing the RECORD lines to /dev/null. Also reports the STATE output
// of the sync (messages, total bytes, largest), which should not grow with
// files x history.
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { localS3Client } from './local-s3.mjs';
import { duckdbAloneSeconds } from './bench-duckdb.mjs';
import { readerSql } from '../dist/engine/readers.js';
import { sqlString } from '../dist/engine/sql.js';

const CONCURRENCY = 16;

/** Runs `work` over `items`, at most `limit` at once. */
async function eachConcurrently(items, limit, work) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]);
  }));
}

function smallCsv(file, rows) {
  const lines = ['id,name,amount,updated_at,active'];
  for (let row = 0; row < rows; row++) {
    const id = file * rows + row;
    lines.push(`${id},name-${id},${(id * 1.37).toFixed(2)},2024-01-01 00:00:${String(row % 60).padStart(2, '0')},${id % 3 === 0}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * DuckDB alone, at its fastest: the same RECORD lines from the local files in one query, to
 * /dev/null. The columns come from one file; the rest are read without sniffing (sniffing each of
 * many small files costs DuckDB ~18 ms a file here: 200 files took 3.7 s sniffed, 0.03 s not).
 */
function duckdbOverFiles(directory, firstFile) {
  return duckdbAloneSeconds({
    stream: 'bench_many',
    describedFrom: readerSql(firstFile, { filetype: 'csv', encoding: 'utf-8', header: true, skipRows: 0 }),
    readerFor: (described) => {
      const columns = described.map((row) => `${sqlString(String(row.column_name))}: ${sqlString(String(row.column_type))}`).join(', ');
      return `read_csv(${sqlString(join(directory, '*.csv'))}, auto_detect = false, header = true, columns = {${columns}})`;
    },
    constants: { _ab_source_file_url: 's3://bench-bucket/bench/many/file.csv', _ab_source_file_last_modified: new Date().toISOString() },
  });
}

/** Seconds to GET every object, 16 at a time, bodies read and dropped. */
async function fetchAll(endpoint, [keyId, secret], bucket, keys) {
  const client = localS3Client(endpoint, keyId, secret);
  const started = process.hrtime.bigint();
  try {
    await eachConcurrently(keys, CONCURRENCY, async (key) => {
      const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      await response.Body.transformToByteArray();
    });
  } finally {
    client.destroy();
  }
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/**
 * Generates and uploads the files, runs the connector (through `runConnector`, which counts RECORD
 * and STATE lines) and the floor, and returns the measurements.
 */
export async function benchManyFiles({ endpoint, credentials, bucket, work, writeConfig, runConnector }) {
  const files = Number(process.env.BENCH_FILES ?? 2000);
  const rows = Number(process.env.BENCH_FILE_ROWS ?? 500);
  const directory = join(work, 'many');
  mkdirSync(directory, { recursive: true });
  const keys = [];
  for (let file = 0; file < files; file++) {
    const name = `part-${String(file).padStart(6, '0')}.csv`;
    writeFileSync(join(directory, name), smallCsv(file, rows));
    keys.push(`bench/many/${name}`);
  }
  const client = localS3Client(endpoint, ...credentials);
  try {
    await eachConcurrently(keys, CONCURRENCY, (key) => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: smallCsv(Number(/(\d+)\.csv$/.exec(key)[1]), rows) })));
  } finally {
    client.destroy();
  }
  const args = writeConfig({ name: 'bench_many', globs: ['bench/many/*.csv'], format: { filetype: 'csv' } }, 'incremental');
  const connector = await runConnector(args, { countLines: true });
  if (connector.records !== files * rows) throw new Error(`many files: the connector emitted ${connector.records} records, expected ${files * rows}`);
  const fetch = await fetchAll(endpoint, credentials, bucket, keys);
  const duckdb = await duckdbOverFiles(directory, join(directory, 'part-000000.csv'));
  return { files, rows, connector, fetch, duckdb };
}
