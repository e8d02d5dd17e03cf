// The big-file cases of `npm run bench`: one large file per stream, read by the real CLI with the
// catalog `discover` gives, against DuckDB alone writing the same RECORD lines from the same local
// file to /dev/null, measured in the same run. Also the connector's peak RSS (process tree) and
// peak staging disk.
//
// Two datasets, as issue 12 asks ("measure against DuckDB writing the same envelope on data where
// DuckDB is fast, and report both"):
// - flights: dates, small integers and short repeated strings (DuckDB is fast on these: the
//   envelope of 3M rows in ~1 s); the targets are judged on it;
// - wide: unique strings, doubles and timestamps (DuckDB itself is slow on these, which flatters
//   the ratio); reported next to it, as the benchmark measured before issue 12.
import { DuckDBInstance } from '@duckdb/node-api';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { uploadFilesTo } from './local-s3.mjs';
import { duckdbAloneSeconds } from './bench-duckdb.mjs';
import { discoveredCatalog, runConnector } from './bench-run.mjs';
import { readerSql } from '../dist/engine/readers.js';

const AIRPORTS = "['ATL','DFW','DEN','ORD','LAX','JFK','LAS','MCO','MIA','CLT','SEA','PHX','EWR','SFO','IAH','BOS','FLL','MSP','LGA','DTW']";
const CARRIERS = "['AA','DL','UA','WN','B6','AS','NK','F9','G4','HA','MQ','OO','YX','9E','OH']";

/** A flights-like table of `rows` rows (~37 bytes a row as CSV, ~1.6 bytes as Parquet). */
function flights(rows) {
  return `SELECT DATE '2023-01-01' + (i // 8300)::INTEGER AS flight_date, ${CARRIERS}[1 + i % 15] AS carrier,
    (100 + (i * 7919) % 6000)::INTEGER AS flight_number, ${AIRPORTS}[1 + (i * 31) % 20] AS origin, ${AIRPORTS}[1 + (i * 17) % 20] AS dest,
    ((i * 13) % 90 - 15)::SMALLINT AS dep_delay, ((i * 11) % 100 - 20)::SMALLINT AS arr_delay, (200 + (i * 37) % 2500)::SMALLINT AS distance
    FROM range(${rows}) t(i)`;
}

/** The benchmark's data before issue 12: a unique string, a double and a timestamp per row. */
function wide(rows) {
  return `SELECT i AS id, 'name-' || i AS name, round(i * 1.37, 2) AS amount,
    TIMESTAMP '2024-01-01' + INTERVAL (i) SECOND AS updated_at, i % 3 = 0 AS active FROM range(${rows}) t(i)`;
}

/** Bytes of CSV a flights row takes, measured on a sample, to size the big CSV in MB. */
const FLIGHTS_CSV_BYTES_PER_ROW = 37.5;

/**
 * The files to read: name -> { path, format, rows }. Sizes: BENCH_ROWS (3,000,000) rows for the
 * Parquet files and the wide CSV; BENCH_BIG_CSV_MB (1,024) MB for the flights CSV.
 */
async function generate(work, { rows, bigCsvMegabytes, includeWide }) {
  const csvRows = Math.max(1, Math.round((bigCsvMegabytes * 1e6) / FLIGHTS_CSV_BYTES_PER_ROW));
  const files = {
    flights_parquet: { path: join(work, 'flights.parquet'), format: 'parquet', rows, select: flights(rows) },
    flights_csv: { path: join(work, 'flights.csv'), format: 'csv', rows: csvRows, select: flights(csvRows) },
  };
  if (includeWide) {
    files.wide_parquet = { path: join(work, 'wide.parquet'), format: 'parquet', rows, select: wide(rows) };
    files.wide_csv = { path: join(work, 'wide.csv'), format: 'csv', rows, select: wide(rows) };
  }
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const connection = await instance.connect();
  try {
    for (const file of Object.values(files)) {
      await connection.run(`COPY (${file.select}) TO '${file.path}' (FORMAT ${file.format}${file.format === 'csv' ? ', HEADER true' : ''})`);
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return files;
}

function fileFormat(format) {
  return format === 'csv' ? { filetype: 'csv', encoding: 'utf-8', header: true, skipRows: 0 } : { filetype: 'parquet' };
}

/**
 * Generates and uploads the files, then per stream: the connector's read (discovered catalog,
 * stdout through a pipe), and DuckDB alone on the local file. The model query row reads the flights
 * Parquet through `SELECT * FROM 's3://...'` (its worker process counts in the RSS).
 */
export async function benchBigFiles({ endpoint, credentials, bucket, work, baseConfig, log }) {
  const rows = Number(process.env.BENCH_ROWS ?? 3_000_000);
  const bigCsvMegabytes = Number(process.env.BENCH_BIG_CSV_MB ?? 1024);
  const includeWide = process.env.BENCH_WIDE !== '0';
  log(`big files: generating ${rows.toLocaleString('en-US')}-row Parquet files and a ${bigCsvMegabytes} MB CSV...`);
  const files = await generate(work, { rows, bigCsvMegabytes, includeWide });
  await uploadFilesTo(endpoint, credentials, bucket, Object.fromEntries(Object.entries(files).map(([name, file]) => [`big/${name}.${file.format}`, file.path])));

  const streams = Object.entries(files).map(([name, file]) => ({ name, globs: [`big/${name}.${file.format}`], format: { filetype: file.format } }));
  streams.push({ name: 'flights_query', query: `SELECT * FROM 's3://${bucket}/big/flights_parquet.parquet'` });
  const configPath = join(work, 'config-big.json');
  writeFileSync(configPath, JSON.stringify({ ...baseConfig, streams }));
  const catalog = discoveredCatalog(configPath, join(work, 'catalog-big-all.json'), 'full_refresh');

  const results = [];
  for (const stream of streams) {
    const file = files[stream.name] ?? files.flights_parquet;
    const isQuery = stream.query !== undefined;
    const catalogPath = join(work, `catalog-big-${stream.name}.json`);
    writeFileSync(catalogPath, JSON.stringify({ streams: catalog.streams.filter((configured) => configured.stream.name === stream.name) }));
    log(`big files: ${stream.name} (${(statSync(file.path).size / 1e6).toFixed(0)} MB)...`);
    const connector = await runConnector(['read', '--config', configPath, '--catalog', catalogPath], { work, output: 'grep' });
    if (connector.records !== file.rows) throw new Error(`${stream.name}: the connector emitted ${connector.records} records, expected ${file.rows}`);
    const duckdb = await duckdbAloneSeconds({
      stream: stream.name,
      describedFrom: readerSql(file.path, fileFormat(file.format)),
      // A query stream's records have no file columns.
      constants: isQuery ? {} : { _ab_source_file_url: `s3://${bucket}/big/${stream.name}.${file.format}`, _ab_source_file_last_modified: new Date().toISOString() },
    });
    results.push({ name: stream.name, format: isQuery ? 'query' : file.format, dataset: stream.name.split('_')[0], rows: file.rows, megabytes: statSync(file.path).size / 1e6, connector, duckdb });
  }
  return { rows, bigCsvMegabytes, results };
}
