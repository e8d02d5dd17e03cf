// `node scripts/bench-casts.mjs` (after `npm run build`): the cost of casting CSV text to the
// catalog's types in the record SELECT. Generates 3,000,000 rows (never committed) with integer,
// decimal-free amount, date and timestamp columns, then times DuckDB writing the RECORD lines to
// /dev/null: once with every column left as text, once cast to the catalog's types.
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csvReaderSql } from '../dist/engine/csv-dialect.js';

// BENCH_BASELINE=<dir with another build's dist/>: also time that build's casts, in the same process.
const builds = [['this build', '../dist/engine/record-sql.js']];
if (process.env.BENCH_BASELINE) builds.push(['baseline', join(process.env.BENCH_BASELINE, 'dist/engine/record-sql.js')]);

const ROWS = Number(process.env.BENCH_ROWS ?? 3_000_000);
const work = mkdtempSync(join(tmpdir(), 'source-s3-bench-casts-'));
const path = join(work, 'casts.csv');
const TEXT = { kind: 'primitive', name: 'VARCHAR' };
const targets = {
  id: { type: ['null', 'integer'] },
  amount: { type: ['null', 'number'] },
  code: { type: ['null', 'integer'] },
  d: { type: ['null', 'string'], format: 'date' },
  ts: { type: ['null', 'string'], format: 'date-time', airbyte_type: 'timestamp_without_timezone' },
  tz: { type: ['null', 'string'], format: 'date-time', airbyte_type: 'timestamp_with_timezone' },
};

const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
const connection = await instance.connect();
await connection.run("SET TimeZone = 'UTC'");
try {
  await connection.run(`COPY (SELECT i AS id, round(i * 1.37, 2) AS amount, i % 1000 AS code, DATE '2024-01-01' + (i % 3000)::INTEGER AS d,
    TIMESTAMP '2024-01-01' + INTERVAL (i) SECOND AS ts, TIMESTAMPTZ '2024-01-01 00:00:00+00' + INTERVAL (i) SECOND AS tz FROM range(${ROWS}) t(i)) TO '${path}' (FORMAT csv, HEADER true)`);
  const columns = Object.keys(targets).map((name) => ({ name, type: TEXT }));
  const reader = csvReaderSql(path, { delimiter: ',', quote: '"', escape: '"', header: true, skipRows: 0, encoding: 'utf-8' }, columns);
  const time = async (label, recordColumns, recordSelectSql) => {
    const sql = recordSelectSql({ stream: 'casts', reader, columns: recordColumns, constants: { _ab_source_file_url: 's3://b/casts.csv' }, emittedAt: Date.now() });
    const best = [];
    const cpu = [];
    for (let run = 0; run < 3; run++) {
      const started = process.hrtime.bigint();
      const startedCpu = process.cpuUsage();
      await connection.run(`COPY (${sql}) TO '/dev/null' (FORMAT json)`);
      best.push(Number(process.hrtime.bigint() - started) / 1e9);
      const used = process.cpuUsage(startedCpu);
      cpu.push((used.user + used.system) / 1e6);
    }
    // CPU time is steadier than wall time on a shared machine.
    console.log(`${label.padEnd(36)} best of 3: ${Math.min(...best).toFixed(2)} s wall, ${Math.min(...cpu).toFixed(2)} s CPU`);
  };
  console.log(`${ROWS.toLocaleString('en-US')} CSV rows, columns ${Object.keys(targets).join(', ')}`);
  // Builds take turns, so a busy machine slows each about the same.
  const loaded = await Promise.all(builds.map(async ([build, module]) => [build, (await import(module)).recordSelectSql]));
  for (const [build, recordSelectSql] of loaded) await time(`${build}: as text (no casts)`, columns, recordSelectSql);
  for (let round = 0; round < 2; round++) {
    for (const [build, recordSelectSql] of loaded) {
      await time(`${build}: cast to the catalog`, columns.map((column) => ({ ...column, target: targets[column.name] })), recordSelectSql);
    }
  }
} finally {
  connection.closeSync();
  instance.closeSync();
  rmSync(work, { recursive: true, force: true });
}
