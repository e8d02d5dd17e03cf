// The fixed cost of a `read` in `npm run bench`: the real CLI reading one tiny CSV file (discovered
// catalog), median of BENCH_FIXED_RUNS (5) runs, next to floors measured the same way: Node alone,
// Node loading the AWS SDK's S3 client, and Node loading it and DuckDB's node API.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { uploadFilesTo } from './local-s3.mjs';
import { discoveredCatalog, median, runConnector } from './bench-run.mjs';

const root = join(import.meta.dirname, '..');

/** Median seconds of `runs` runs of `node --input-type=module -e <code>` in the project folder. */
function nodeFloor(code, runs) {
  const seconds = [];
  for (let run = 0; run < runs; run++) {
    const started = process.hrtime.bigint();
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: root, stdio: 'ignore' });
    if (result.status !== 0) throw new Error(`node -e ${code} exited with ${result.status}`);
    seconds.push(Number(process.hrtime.bigint() - started) / 1e9);
  }
  return median(seconds);
}

export async function benchFixedCost({ endpoint, credentials, bucket, work, baseConfig, log }) {
  const runs = Number(process.env.BENCH_FIXED_RUNS ?? 5);
  log(`fixed cost: ${runs} reads of one tiny file...`);
  const path = join(work, 'tiny.csv');
  writeFileSync(path, 'id,name\n1,one\n2,two\n');
  await uploadFilesTo(endpoint, credentials, bucket, { 'fixed/tiny.csv': path });
  const configPath = join(work, 'config-fixed.json');
  writeFileSync(configPath, JSON.stringify({ ...baseConfig, streams: [{ name: 'tiny', globs: ['fixed/tiny.csv'], format: { filetype: 'csv' } }] }));
  const catalogPath = join(work, 'catalog-fixed.json');
  discoveredCatalog(configPath, catalogPath, 'incremental');
  const reads = [];
  for (let run = 0; run < runs; run++) {
    const connector = await runConnector(['read', '--config', configPath, '--catalog', catalogPath], { work, output: 'scan' });
    if (connector.records !== 2) throw new Error(`fixed cost: the connector emitted ${connector.records} records, expected 2`);
    reads.push(connector.seconds);
  }
  return {
    runs,
    read: median(reads),
    node: nodeFloor('0', runs),
    nodeSdk: nodeFloor("await import('@aws-sdk/client-s3')", runs),
    nodeSdkDuckdb: nodeFloor("await import('@aws-sdk/client-s3'); await import('@duckdb/node-api')", runs),
  };
}
