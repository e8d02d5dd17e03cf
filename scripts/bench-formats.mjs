// The formats case of `npm run bench`: the same rows (id, name, amount, updated_at, active) as
// Avro (avsc, deflate), Excel (SheetJS), .csv.bz2 (the bzip2 tool), a .zip of the CSV (the zip tool)
// and plain CSV, each read by the real CLI with its discovered catalog, against DuckDB alone writing
// the same RECORD lines from the rows as Parquet (DuckDB at its fastest on them), in the same run.
// Excel is written by SheetJS in memory, so it has fewer rows (BENCH_EXCEL_ROWS); its baseline is
// measured on a Parquet file of its own rows.
import { DuckDBInstance } from '@duckdb/node-api';
import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { uploadFilesTo } from './local-s3.mjs';
import { duckdbAloneSeconds } from './bench-duckdb.mjs';
import { discoveredCatalog, runConnector } from './bench-run.mjs';
import { readerSql } from '../dist/engine/readers.js';

const require = createRequire(import.meta.url);
const START = Date.UTC(2024, 0, 1);

const row = (i) => ({ id: i, name: `name-${i}`, amount: Math.round(i * 137) / 100, updated_at: START + i * 1000, active: i % 3 === 0 });

async function duckdbFiles(work, rows, excelRows) {
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const connection = await instance.connect();
  const select = (n) => `SELECT i AS id, 'name-' || i AS name, round(i * 1.37, 2) AS amount, TIMESTAMP '2024-01-01' + INTERVAL (i) SECOND AS updated_at, i % 3 = 0 AS active FROM range(${n}) t(i)`;
  try {
    await connection.run(`COPY (${select(rows)}) TO '${join(work, 'formats.parquet')}' (FORMAT parquet)`);
    await connection.run(`COPY (${select(excelRows)}) TO '${join(work, 'formats-excel.parquet')}' (FORMAT parquet)`);
    await connection.run(`COPY (${select(rows)}) TO '${join(work, 'formats.csv')}' (FORMAT csv, HEADER true)`);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function avroFile(path, rows) {
  const avsc = require('avsc');
  const type = avsc.Type.forSchema({
    type: 'record',
    name: 'Row',
    fields: [
      { name: 'id', type: 'long' },
      { name: 'name', type: 'string' },
      { name: 'amount', type: 'double' },
      { name: 'updated_at', type: { type: 'long', logicalType: 'timestamp-millis' } },
      { name: 'active', type: 'boolean' },
    ],
  });
  const encoder = new avsc.streams.BlockEncoder(type, { codec: 'deflate' });
  // avsc writes the header's schema from the type; keep the logical type as written.
  encoder._schema = type.schema({ exportAttrs: true });
  const out = createWriteStream(path);
  encoder.pipe(out);
  for (let i = 0; i < rows; i++) if (!encoder.write(row(i))) await new Promise((resolve) => encoder.once('drain', resolve));
  encoder.end();
  await new Promise((resolve) => out.on('finish', resolve));
}

function excelFile(path, rows) {
  const XLSX = require('xlsx');
  const data = [['id', 'name', 'amount', 'updated_at', 'active']];
  for (let i = 0; i < rows; i++) {
    const r = row(i);
    data.push([r.id, r.name, r.amount, new Date(r.updated_at), r.active]);
  }
  const book = XLSX.utils.book_new();
  XLSX.utils.book_append_sheet(book, XLSX.utils.aoa_to_sheet(data, { cellDates: true, dateNF: 'yyyy-mm-dd hh:mm:ss' }), 'Rows');
  writeFileSync(path, XLSX.write(book, { type: 'buffer', bookType: 'xlsx' }));
}

const hasTool = (name) => spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;

/** Generates, uploads and reads each format; returns one result per stream. */
export async function benchFormats({ endpoint, credentials, bucket, work, baseConfig, log }) {
  const rows = Number(process.env.BENCH_FORMAT_ROWS ?? 1_000_000);
  const excelRows = Math.min(rows, Number(process.env.BENCH_EXCEL_ROWS ?? 200_000));
  log(`formats: generating ${rows.toLocaleString('en-US')} rows as Parquet, CSV, Avro, .bz2, .zip and ${excelRows.toLocaleString('en-US')} as Excel...`);
  await duckdbFiles(work, rows, excelRows);
  await avroFile(join(work, 'formats.avro'), rows);
  excelFile(join(work, 'formats.xlsx'), excelRows);
  const files = {
    csv: { key: 'formats/plain/formats.csv', path: join(work, 'formats.csv'), rows, format: { filetype: 'csv' } },
    avro: { key: 'formats/avro/formats.avro', path: join(work, 'formats.avro'), rows, format: { filetype: 'avro' } },
    excel: { key: 'formats/excel/formats.xlsx', path: join(work, 'formats.xlsx'), rows: excelRows, format: { filetype: 'excel' }, parquet: join(work, 'formats-excel.parquet') },
  };
  if (hasTool('bzip2')) {
    execFileSync('sh', ['-c', `bzip2 -c '${join(work, 'formats.csv')}' > '${join(work, 'formats.csv.bz2')}'`]);
    files.bz2 = { key: 'formats/bz2/formats.csv.bz2', path: join(work, 'formats.csv.bz2'), rows, format: { filetype: 'csv' } };
  } else log('formats: no bzip2 tool here; the .bz2 row is left out');
  if (hasTool('zip')) {
    execFileSync('zip', ['-q', '-j', join(work, 'formats-csv.zip'), join(work, 'formats.csv')]);
    files.zip = { key: 'formats/zip/formats-csv.zip', path: join(work, 'formats-csv.zip'), rows, format: { filetype: 'csv' } };
  } else log('formats: no zip tool here; the .zip row is left out');
  await uploadFilesTo(endpoint, credentials, bucket, Object.fromEntries(Object.values(files).map((file) => [file.key, file.path])));

  const streams = Object.entries(files).map(([name, file]) => ({ name: `format_${name}`, globs: [file.key], format: file.format }));
  const configPath = join(work, 'config-formats.json');
  writeFileSync(configPath, JSON.stringify({ ...baseConfig, streams }));
  const catalog = discoveredCatalog(configPath, join(work, 'catalog-formats-all.json'), 'full_refresh');
  const results = [];
  for (const [name, file] of Object.entries(files)) {
    const stream = `format_${name}`;
    const catalogPath = join(work, `catalog-formats-${name}.json`);
    writeFileSync(catalogPath, JSON.stringify({ streams: catalog.streams.filter((configured) => configured.stream.name === stream) }));
    log(`formats: ${name} (${(statSync(file.path).size / 1e6).toFixed(1)} MB)...`);
    const connector = await runConnector(['read', '--config', configPath, '--catalog', catalogPath], { work, output: 'grep' });
    if (connector.records !== file.rows) throw new Error(`${stream}: the connector emitted ${connector.records} records, expected ${file.rows}`);
    const duckdb = await duckdbAloneSeconds({
      stream,
      describedFrom: readerSql(file.parquet ?? join(work, 'formats.parquet'), { filetype: 'parquet' }),
      constants: { _ab_source_file_url: `s3://${bucket}/${file.key}`, _ab_source_file_last_modified: new Date().toISOString() },
    });
    results.push({ name, rows: file.rows, megabytes: statSync(file.path).size / 1e6, connector, duckdb });
  }
  return { rows, excelRows, results };
}
