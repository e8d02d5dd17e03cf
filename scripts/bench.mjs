// `npm run bench`: the record path against DuckDB's own JSON writer, in one run.
// Generates 3,000,000 rows (5 columns) as Parquet and as CSV (never committed),
// uploads them to a local s3rver, runs the real CLI `read` with stdout to
// /dev/null, and times DuckDB alone writing the same RECORD lines from the local
// file with COPY ... TO '/dev/null' (FORMAT json). Prints rows/s, MB/s, peak RSS
// and the ratio connector / DuckDB per format. The `query` row reads the same
// Parquet through a model query (`SELECT * FROM 's3://...'`), which runs in its
// own worker process: its peak RSS is the sum over the connector's process tree.
import { DuckDBInstance } from '@duckdb/node-api';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startLocalS3, uploadFilesTo } from './local-s3.mjs';
import { benchManyFiles } from './bench-many-files.mjs';
import { duckdbAloneSeconds } from './bench-duckdb.mjs';
import { readerSql } from '../dist/engine/readers.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 3_000_000);
const root = join(import.meta.dirname, '..');
const cli = join(root, 'dist', 'main.js');
const work = mkdtempSync(join(tmpdir(), 'source-s3-bench-'));
const bucket = 'bench-bucket';
const keyId = 'AKIABENCH0000001';
const secret = 'bench-secret-not-real';

const select = `SELECT i AS id, 'name-' || i AS name, round(i * 1.37, 2) AS amount,
  TIMESTAMP '2024-01-01' + INTERVAL (i) SECOND AS updated_at, i % 3 = 0 AS active FROM range(${ROWS}) t(i)`;

async function generate() {
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const connection = await instance.connect();
  const files = { parquet: join(work, 'bench.parquet'), csv: join(work, 'bench.csv') };
  await connection.run(`COPY (${select}) TO '${files.parquet}' (FORMAT parquet)`);
  await connection.run(`COPY (${select}) TO '${files.csv}' (FORMAT csv, HEADER true)`);
  connection.closeSync();
  instance.closeSync();
  return files;
}


/** Runs the CLI with stdout to /dev/null (or counted); returns seconds and peak RSS. */
async function runConnector(args, { countLines = false, treeRss = false } = {}) {
  const devNull = openSync('/dev/null', 'w');
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, ['--import', join(import.meta.dirname, 'report-rss.mjs'), cli, ...args], {
    stdio: ['ignore', countLines ? 'pipe' : devNull, 'pipe'],
    env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' },
  });
  let stderr = '';
  let records = 0;
  const states = { count: 0, bytes: 0, largest: 0 };
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  if (countLines) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('{"type":"RECORD"')) records++;
      else if (line.startsWith('{"type":"STATE"')) {
        const bytes = Buffer.byteLength(line) + 1;
        states.count++;
        states.bytes += bytes;
        states.largest = Math.max(states.largest, bytes);
      }
    });
  }
  // A model query's worker is a child of the CLI: its memory counts too, sampled over the whole tree.
  let treePeak = 0;
  const sampler = treeRss ? setInterval(() => (treePeak = Math.max(treePeak, processTreeRss(child.pid))), 20) : undefined;
  const code = await new Promise((resolve) => child.on('close', resolve));
  clearInterval(sampler);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  closeSync(devNull);
  if (code !== 0) throw new Error(`connector exited with ${code}: ${stderr.slice(-2000)}`);
  const rss = Math.max(treePeak, Number(/BENCH_MAX_RSS_KB=(\d+)/.exec(stderr)?.[1] ?? 0) * 1024);
  return { seconds, rss, records, states };
}

/** Resident bytes of a process and all its descendants (from /proc; 0 once gone). */
function processTreeRss(pid) {
  const children = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // Gone meanwhile.
    }
  }
  let total = 0;
  const walk = (id) => {
    try {
      total += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${id}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    } catch {
      // Gone meanwhile.
    }
    for (const child of children.get(id) ?? []) walk(child);
  };
  walk(pid);
  return total;
}

/** DuckDB alone: the same RECORD lines, from the local file, to /dev/null. */
async function runDuckdb(path, format) {
  const fileFormat = format === 'csv' ? { filetype: 'csv', encoding: 'utf-8', header: true, skipRows: 0 } : { filetype: 'parquet' };
  const seconds = await duckdbAloneSeconds({
    stream: `bench_${format}`,
    describedFrom: readerSql(path, fileFormat),
    // A query stream's records have no file columns.
    constants: format === 'query' ? {} : { _ab_source_file_url: `s3://${bucket}/bench/data.${format}`, _ab_source_file_last_modified: new Date().toISOString() },
  });
  return { seconds };
}

function catalogFor(format) {
  return {
    streams: [
      {
        stream: { name: `bench_${format}`, json_schema: { type: 'object', properties: {} }, supported_sync_modes: ['full_refresh', 'incremental'] },
        sync_mode: 'full_refresh',
        destination_sync_mode: 'overwrite',
      },
    ],
  };
}

const { endpoint, stop } = await startLocalS3({ directory: join(work, 's3'), buckets: [bucket], keys: [[keyId, secret]] });
try {
  console.log(`generating ${ROWS.toLocaleString('en-US')} rows as Parquet and CSV...`);
  const files = await generate();
  await uploadFilesTo(endpoint, [keyId, secret], bucket, Object.fromEntries(Object.entries(files).map(([format, path]) => [`bench/data.${format}`, path])));
  const config = {
    bucket,
    endpoint,
    force_path_style: true,
    credentials: { auth_type: 'iam_user', aws_access_key_id: keyId, aws_secret_access_key: secret },
    streams: [
      { name: 'bench_parquet', globs: ['bench/data.parquet'], format: { filetype: 'parquet' } },
      { name: 'bench_csv', globs: ['bench/data.csv'], format: { filetype: 'csv' } },
      { name: 'bench_query', query: `SELECT * FROM 's3://${bucket}/bench/data.parquet'` },
    ],
  };
  const configPath = join(work, 'config.json');
  writeFileSync(configPath, JSON.stringify(config));

  const results = [];
  for (const format of ['parquet', 'csv', 'query']) {
    const catalogPath = join(work, `catalog-${format}.json`);
    writeFileSync(catalogPath, JSON.stringify(catalogFor(format)));
    const args = ['read', '--config', configPath, '--catalog', catalogPath];
    const counted = await runConnector(args, { countLines: true });
    if (counted.records !== ROWS) throw new Error(`${format}: the connector emitted ${counted.records} records, expected ${ROWS}`);
    const connector = await runConnector(args, { treeRss: format === 'query' });
    const file = files[format === 'query' ? 'parquet' : format];
    const duckdb = await runDuckdb(file, format);
    const megabytes = statSync(file).size / 1e6;
    results.push({ format, megabytes, connector, duckdb });
  }

  console.log('');
  console.log('format   | file MB | connector s | rows/s     | MB/s  | peak RSS MB | DuckDB alone s | ratio');
  console.log('---------|---------|-------------|------------|-------|-------------|----------------|------');
  for (const { format, megabytes, connector, duckdb } of results) {
    const row = [
      format.padEnd(8),
      megabytes.toFixed(0).padStart(7),
      connector.seconds.toFixed(2).padStart(11),
      Math.round(ROWS / connector.seconds).toLocaleString('en-US').padStart(10),
      (megabytes / connector.seconds).toFixed(1).padStart(5),
      (connector.rss / 1e6).toFixed(0).padStart(11),
      duckdb.seconds.toFixed(2).padStart(14),
      (connector.seconds / duckdb.seconds).toFixed(2).padStart(5),
    ];
    console.log(row.join(' | '));
  }
  console.log('\nconnector: the real CLI read from the local S3 server (start-up, listing, download, DuckDB, forwarding) with stdout to /dev/null;');
  console.log('DuckDB alone: the same RECORD lines from the local file, COPY ... TO /dev/null (FORMAT json). Target: ratio <= 3.0, peak RSS < 1 GB.');

  console.log('\nmany small files: generating and uploading...');
  const many = await benchManyFiles({
    endpoint,
    credentials: [keyId, secret],
    bucket,
    work,
    runConnector,
    writeConfig: (stream, syncMode) => {
      const manyConfig = join(work, 'config-many.json');
      writeFileSync(manyConfig, JSON.stringify({ ...config, streams: [stream] }));
      const manyCatalog = join(work, 'catalog-many.json');
      writeFileSync(manyCatalog, JSON.stringify({ streams: [{ ...catalogFor('many').streams[0], stream: { ...catalogFor('many').streams[0].stream, name: stream.name }, sync_mode: syncMode, destination_sync_mode: 'append' }] }));
      return ['read', '--config', manyConfig, '--catalog', manyCatalog];
    },
  });
  const floor = many.fetch + many.duckdb;
  console.log('');
  console.log('files | rows each | connector s | per file ms | fetch all (16 GETs) s | DuckDB alone s | floor s | ratio | STATE msgs | STATE MB | largest STATE KB');
  console.log('------|-----------|-------------|-------------|-----------------------|----------------|---------|-------|------------|----------|-----------------');
  console.log(
    [
      String(many.files).padStart(5),
      String(many.rows).padStart(9),
      many.connector.seconds.toFixed(2).padStart(11),
      ((many.connector.seconds * 1000) / many.files).toFixed(1).padStart(11),
      many.fetch.toFixed(2).padStart(21),
      many.duckdb.toFixed(2).padStart(14),
      floor.toFixed(2).padStart(7),
      (many.connector.seconds / floor).toFixed(1).padStart(5),
      String(many.connector.states.count).padStart(10),
      (many.connector.states.bytes / 1e6).toFixed(1).padStart(8),
      (many.connector.states.largest / 1e3).toFixed(1).padStart(16),
    ].join(' | '),
  );
  console.log('\nmany small files: an incremental read of every file by the real CLI, against the floor: fetching every object with 16 concurrent GETs');
  console.log('plus DuckDB reading the same local files in one query to /dev/null. Issue 12 targets: ratio <= 1.5, STATE total < 5 MB for 10,000 files, no STATE over 1 MB.');
} finally {
  stop();
  rmSync(work, { recursive: true, force: true });
}
