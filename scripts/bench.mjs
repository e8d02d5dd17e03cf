// `npm run bench`: every target of issue 12, each measured against its baseline in the same run, on
// a local s3rver with the real CLI as a child process (stdout through a pipe, as an orchestrator
// reads it). Cases (BENCH_CASES, comma-separated; default all): fixed, big, many, state.
// - fixed: the fixed cost of a read (bench-fixed-cost.mjs);
// - big: big Parquet and CSV files and a model query vs DuckDB alone (bench-big-files.mjs);
// - many: many small files vs fetching them all + DuckDB alone (bench-many-files.mjs);
// - state: the STATE output of a 10,000-file incremental sync (bench-many-files.mjs);
// - formats: Avro, Excel, .csv.bz2 and a .zip of the CSV vs DuckDB alone on the rows as Parquet (bench-formats.mjs).
// Generated data lives in a temporary folder (BENCH_WORK_DIR to choose its parent) and is removed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalS3 } from './local-s3.mjs';
import { benchBigFiles } from './bench-big-files.mjs';
import { benchManyFiles, benchStateBytes } from './bench-many-files.mjs';
import { benchFixedCost } from './bench-fixed-cost.mjs';
import { benchFormats } from './bench-formats.mjs';
import { printSummary, printTable } from './bench-report.mjs';

const CASES = ['fixed', 'big', 'many', 'state', 'formats'];
const cases = new Set((process.env.BENCH_CASES ?? CASES.join(',')).split(',').map((name) => name.trim()));
const unknown = [...cases].filter((name) => !CASES.includes(name));
if (unknown.length > 0) throw new Error(`BENCH_CASES names ${unknown.join(', ')}; the cases are ${CASES.join(', ')}`);
const work = mkdtempSync(join(process.env.BENCH_WORK_DIR ?? tmpdir(), 'source-s3-bench-'));
const bucket = 'bench-bucket';
const credentials = ['AKIABENCH0000001', 'bench-secret-not-real'];
const began = process.hrtime.bigint();
const elapsed = () => `${(Number(process.hrtime.bigint() - began) / 1e9).toFixed(0)} s`;
const log = (text) => console.error(`[${elapsed()}] ${text}`);

const { endpoint, stop } = await startLocalS3({ directory: join(work, 's3'), buckets: [bucket], keys: [credentials] });
const baseConfig = {
  bucket,
  endpoint,
  force_path_style: true,
  credentials: { auth_type: 'iam_user', aws_access_key_id: credentials[0], aws_secret_access_key: credentials[1] },
};
const setup = { endpoint, credentials, bucket, work, baseConfig, log };
const summary = [];
const MB = 1e6;
const ratioRow = (name, measured, baseline, baselineNote, target) => {
  const ratio = measured / baseline;
  summary.push({ name, measured: `${measured.toFixed(2)} s`, baseline: `${baseline.toFixed(2)} s ${baselineNote}`, ratio: `${ratio.toFixed(2)}x`, target: `<= ${target}x`, met: ratio <= target });
};
/** Bytes as MB, or KB below 0.1 MB. */
const size = (bytes) => (bytes < 0.1 * MB ? `${(bytes / 1e3).toFixed(1)} KB` : `${(bytes / MB).toFixed(1)} MB`);
const limitRow = (name, bytes, limit, note = '') => {
  summary.push({ name, measured: size(bytes), baseline: '', ratio: '', target: `< ${size(limit)}${note}`, met: bytes < limit });
};
/** A row of a table of reads: the connector's time, rate, memory and disk, and DuckDB alone's time. */
const readRow = ({ name, rows, megabytes, connector, duckdb }, megabyteDigits) => [
  name,
  rows.toLocaleString('en-US'),
  megabytes.toFixed(megabyteDigits),
  connector.seconds.toFixed(2),
  Math.round(rows / connector.seconds).toLocaleString('en-US'),
  (connector.rss / MB).toFixed(0),
  (connector.stagingPeak / MB).toFixed(1),
  duckdb.toFixed(2),
  (connector.seconds / duckdb).toFixed(2),
];
const infoRow = (name, measured) => summary.push({ name, measured, baseline: '', ratio: '', target: '(reported)', met: undefined });

try {
  if (cases.has('fixed')) {
    const fixed = await benchFixedCost(setup);
    console.log(`\nFixed cost of a read (median of ${fixed.runs}): read of one tiny file ${fixed.read.toFixed(3)} s; floors: node ${fixed.node.toFixed(3)} s, node + S3 client ${fixed.nodeSdk.toFixed(3)} s, node + S3 client + DuckDB ${fixed.nodeSdkDuckdb.toFixed(3)} s`);
    summary.push({
      name: 'fixed cost of a read (1 tiny file, median)',
      measured: `${fixed.read.toFixed(2)} s`,
      baseline: `${fixed.nodeSdk.toFixed(2)} s node + S3 client`,
      ratio: `${(fixed.read / fixed.nodeSdk).toFixed(2)}x`,
      target: '< 0.4 s',
      met: fixed.read < 0.4,
    });
  }

  if (cases.has('big')) {
    const big = await benchBigFiles(setup);
    printTable(
      `\nBig files: the connector's read (discovered catalog, stdout piped) vs DuckDB alone writing the same RECORD lines from the local file to /dev/null`,
      ['stream', 'rows', 'file MB', 'connector s', 'rows/s', 'peak RSS MB', 'peak staging MB', 'DuckDB alone s', 'ratio'],
      big.results.map((result) => readRow(result, 0)),
    );
    for (const { name, rows, megabytes, format, dataset, connector, duckdb } of big.results) {
      const label = format === 'query' ? `model query over the flights Parquet (${(rows / 1e6).toFixed(1)}M rows)` : `${dataset} ${format === 'csv' ? 'CSV' : 'Parquet'} (${(rows / 1e6).toFixed(1)}M rows, ${size(megabytes * MB)})`;
      if (format === 'query') infoRow(`${label}: time vs DuckDB alone`, `${connector.seconds.toFixed(2)} s vs ${duckdb.toFixed(2)} s (${(connector.seconds / duckdb).toFixed(2)}x)`);
      else ratioRow(`${label}: read`, connector.seconds, duckdb, 'DuckDB alone', 1.6);
      limitRow(`${label}: peak RSS${format === 'query' ? ' (with its worker)' : ''}`, connector.rss, 512 * MB);
      if (name === 'flights_csv') {
        const note = big.bigCsvMegabytes === 1024 ? '' : ` (target set for 1 GB; this file is ${size(megabytes * MB)})`;
        limitRow(`${label}: peak staging disk`, connector.stagingPeak, 64 * MB, note);
      } else if (format === 'parquet') infoRow(`${label}: peak staging disk (Parquet needs random access)`, `${size(connector.stagingPeak)} for a ${size(megabytes * MB)} file`);
    }
  }

  if (cases.has('many')) {
    const many = await benchManyFiles(setup);
    const floor = many.fetch + many.duckdb;
    const reads = [['discovered catalog', many.connector], ...(many.emptyCatalogRead ? [['empty catalog', many.emptyCatalogRead]] : [])];
    printTable(
      `\nMany small files: an incremental read of every file vs the floor (fetching every object with 16 concurrent GETs + DuckDB reading the local files in one unsniffed query to /dev/null)`,
      ['files', 'catalog', 'connector s', 'per file ms', 'fetch all s', 'DuckDB alone s', 'floor s', 'ratio', 'peak RSS MB', 'STATE msgs', 'STATE MB', 'largest STATE KB'],
      reads.map(([catalog, read]) => [
        `${many.files.toLocaleString('en-US')} x ${many.rows}`,
        catalog,
        read.seconds.toFixed(2),
        ((read.seconds * 1000) / many.files).toFixed(1),
        many.fetch.toFixed(2),
        many.duckdb.toFixed(2),
        floor.toFixed(2),
        (read.seconds / floor).toFixed(2),
        (read.rss / MB).toFixed(0),
        String(read.states.count),
        (read.states.bytes / MB).toFixed(1),
        (read.states.largest / 1e3).toFixed(1),
      ]),
    );
    for (const [catalog, read] of reads) {
      ratioRow(`many small files (${many.files.toLocaleString('en-US')} x ${many.rows} rows, ${catalog}): read`, read.seconds, floor, `(GETs ${many.fetch.toFixed(2)} + DuckDB ${many.duckdb.toFixed(2)})`, 1.5);
    }
  }

  if (cases.has('state')) {
    const state = await benchStateBytes(setup);
    const { count, bytes, largest } = state.connector.states;
    console.log(`\nSTATE of one incremental sync of ${state.files.toLocaleString('en-US')} files x ${state.rows} rows: ${count} STATE messages, ${(bytes / MB).toFixed(2)} MB in all, the largest ${(largest / 1e3).toFixed(1)} KB; read took ${state.connector.seconds.toFixed(1)} s`);
    const label = `STATE of a ${state.files.toLocaleString('en-US')}-file sync`;
    const scaled = state.files === 10_000 ? '' : ` (5 MB scaled from 10,000 files)`;
    limitRow(`${label}: total bytes`, bytes, (5 * MB * state.files) / 10_000, scaled);
    limitRow(`${label}: largest STATE`, largest, 1 * MB);
    infoRow(`${label}: STATE messages`, String(count));
  }

  if (cases.has('formats')) {
    const formats = await benchFormats(setup);
    printTable(
      `\nFormats: the same rows in each format, read by the connector (discovered catalog, stdout piped) vs DuckDB alone writing the same RECORD lines from the rows as Parquet (its fastest)`,
      ['format', 'rows', 'file MB', 'connector s', 'rows/s', 'peak RSS MB', 'peak staging MB', 'DuckDB on Parquet s', 'ratio'],
      formats.results.map((result) => readRow(result, 1)),
    );
    for (const { name, rows, connector, duckdb } of formats.results) {
      infoRow(`${name} (${(rows / 1e6).toFixed(1)}M rows): read vs DuckDB alone on Parquet`, `${connector.seconds.toFixed(2)} s vs ${duckdb.toFixed(2)} s (${(connector.seconds / duckdb).toFixed(2)}x)`);
      limitRow(`${name}: peak RSS`, connector.rss, 512 * MB);
    }
  }

  printSummary(summary);
  console.log(`\nWhole benchmark: ${elapsed()}.`);
} finally {
  stop();
  rmSync(work, { recursive: true, force: true });
}
