// The many-small-files case of `npm run bench`: a bucket of N small CSV files
// (default 2,000 x 500 rows; BENCH_FILES, BENCH_FILE_ROWS), read incrementally by
// the real CLI with the catalog `discover` gives (and, with BENCH_EMPTY_CATALOG=1,
// a catalog naming no columns), against the floor measured in the same run:
// fetching every object with 16 concurrent GETs plus DuckDB reading the same local
// files in one unsniffed query and writing the RECORD lines to /dev/null.
//
// The STATE case is here too: BENCH_STATE_FILES (10,000) files of BENCH_STATE_FILE_ROWS (2) rows,
// one incremental sync, measuring its STATE output (messages, total bytes, largest).
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { localS3Client } from './local-s3.mjs';
import { duckdbAloneSeconds } from './bench-duckdb.mjs';
import { discoveredCatalog, emptyCatalog, runConnector } from './bench-run.mjs';
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

/** Writes `files` small CSV files under `work/<folder>` and uploads them as `<folder>/part-N.csv`; returns the keys. */
async function makeFiles({ endpoint, credentials, bucket, work }, folder, files, rows) {
  const directory = join(work, folder);
  mkdirSync(directory, { recursive: true });
  const keys = [];
  for (let file = 0; file < files; file++) {
    const name = `part-${String(file).padStart(6, '0')}.csv`;
    writeFileSync(join(directory, name), smallCsv(file, rows));
    keys.push(`${folder}/${name}`);
  }
  const client = localS3Client(endpoint, ...credentials);
  try {
    await eachConcurrently(keys, CONCURRENCY, (key) => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: smallCsv(Number(/(\d+)\.csv$/.exec(key)[1]), rows) })));
  } finally {
    client.destroy();
  }
  return { directory, keys };
}

/** Writes a config with one CSV stream over `folder` and returns its path. */
function configFor({ work, baseConfig }, name, folder) {
  const configPath = join(work, `config-${name}.json`);
  writeFileSync(configPath, JSON.stringify({ ...baseConfig, streams: [{ name, globs: [`${folder}/*.csv`], format: { filetype: 'csv' } }] }));
  return configPath;
}

/**
 * DuckDB alone, at its fastest: the same RECORD lines from the local files in one query, to
 * /dev/null. The columns come from one file; the rest are read without sniffing (sniffing each of
 * many small files costs DuckDB ~18 ms a file here: 200 files took 3.7 s sniffed, 0.03 s not).
 */
function duckdbOverFiles(directory, firstFile, folder) {
  return duckdbAloneSeconds({
    stream: 'many_files',
    describedFrom: readerSql(firstFile, { filetype: 'csv', encoding: 'utf-8', header: true, skipRows: 0 }),
    readerFor: (described) => {
      const columns = described.map((row) => `${sqlString(String(row.column_name))}: ${sqlString(String(row.column_type))}`).join(', ');
      return `read_csv(${sqlString(join(directory, '*.csv'))}, auto_detect = false, header = true, columns = {${columns}})`;
    },
    constants: { _ab_source_file_url: `s3://bench-bucket/${folder}/part-000000.csv`, _ab_source_file_last_modified: new Date().toISOString() },
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
 * Many small files: the connector's incremental read (discovered catalog; also an empty catalog
 * with BENCH_EMPTY_CATALOG=1) and the floor (fetch all + DuckDB alone), measured in one run.
 */
export async function benchManyFiles(setup) {
  const { endpoint, credentials, bucket, work, log } = setup;
  const files = Number(process.env.BENCH_FILES ?? 2000);
  const rows = Number(process.env.BENCH_FILE_ROWS ?? 500);
  log(`many files: generating and uploading ${files.toLocaleString('en-US')} CSV files x ${rows} rows...`);
  const { directory, keys } = await makeFiles(setup, 'many', files, rows);
  const configPath = configFor(setup, 'many_files', 'many');
  const readWith = async (catalogPath) => {
    const connector = await runConnector(['read', '--config', configPath, '--catalog', catalogPath], { work, output: 'scan' });
    if (connector.records !== files * rows) throw new Error(`many files: the connector emitted ${connector.records} records, expected ${files * rows}`);
    return connector;
  };
  log('many files: connector read, discovered catalog...');
  discoveredCatalog(configPath, join(work, 'catalog-many.json'), 'incremental');
  const connector = await readWith(join(work, 'catalog-many.json'));
  let emptyCatalogRead;
  if (process.env.BENCH_EMPTY_CATALOG === '1') {
    log('many files: connector read, empty catalog...');
    emptyCatalogRead = await readWith(emptyCatalog(['many_files'], join(work, 'catalog-many-empty.json'), 'incremental'));
  }
  log('many files: the floor (16 concurrent GETs, DuckDB alone)...');
  const fetch = await fetchAll(endpoint, credentials, bucket, keys);
  const duckdb = await duckdbOverFiles(directory, join(directory, 'part-000000.csv'), 'many');
  return { files, rows, connector, emptyCatalogRead, fetch, duckdb };
}

/** The STATE output of one incremental sync of many tiny files (discovered catalog). */
export async function benchStateBytes(setup) {
  const { work, log } = setup;
  const files = Number(process.env.BENCH_STATE_FILES ?? 10_000);
  const rows = Number(process.env.BENCH_STATE_FILE_ROWS ?? 2);
  log(`STATE: generating and uploading ${files.toLocaleString('en-US')} CSV files x ${rows} rows...`);
  await makeFiles(setup, 'tiny', files, rows);
  const configPath = configFor(setup, 'tiny_files', 'tiny');
  discoveredCatalog(configPath, join(work, 'catalog-tiny.json'), 'incremental');
  log('STATE: connector read...');
  const connector = await runConnector(['read', '--config', configPath, '--catalog', join(work, 'catalog-tiny.json')], { work, output: 'scan' });
  if (connector.records !== files * rows) throw new Error(`STATE case: the connector emitted ${connector.records} records, expected ${files * rows}`);
  return { files, rows, connector };
}
