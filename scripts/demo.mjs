// `npm run demo`: starts a local S3-compatible server (s3rver) with sample files
// made by DuckDB, then runs the connector's commands against it and shows what
// they print. Nothing is left behind: the server and its files live in a temp dir.
import { DuckDBInstance } from '@duckdb/node-api';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalS3, uploadFilesTo } from './local-s3.mjs';

const root = join(import.meta.dirname, '..');
const cli = join(root, 'dist', 'main.js');
const work = mkdtempSync(join(tmpdir(), 'source-s3-demo-'));
const bucket = 'demo-bucket';
const keyId = 'AKIADEMO00000001';
const secret = 'demo-secret-key-not-a-real-one';
const bold = (text) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);

function section(title) {
  console.log(`\n${bold(`== ${title}`)}`);
}

async function makeSampleFiles() {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const files = {
    'sales/2024/orders-01.csv': [`SELECT i AS order_id, 'customer-' || (i % 17) AS customer, round(random() * 100, 2) AS amount, TIMESTAMP '2024-01-01' + INTERVAL (i) HOUR AS ordered_at FROM range(1000) t(i)`, 'FORMAT csv, HEADER true'],
    'sales/2024/orders-02.csv.gz': [`SELECT i + 1000 AS order_id, 'customer-' || (i % 17) AS customer, round(random() * 100, 2) AS amount, TIMESTAMP '2024-02-01' + INTERVAL (i) HOUR AS ordered_at FROM range(1000) t(i)`, 'FORMAT csv, HEADER true, COMPRESSION gzip'],
    'events/events.parquet': [`SELECT i AS event_id, ['click', 'view', 'buy'][1 + i % 3] AS kind, {'x': i % 640, 'y': i % 480} AS position FROM range(50000) t(i)`, 'FORMAT parquet'],
    'logs/app.jsonl': [`SELECT i AS seq, CASE WHEN i % 10 = 0 THEN 'error' ELSE 'info' END AS level, 'message ' || i AS message FROM range(200) t(i)`, 'FORMAT json'],
  };
  const paths = {};
  for (const [key, [select, options]] of Object.entries(files)) {
    const path = join(work, key.replace(/\//g, '_'));
    await connection.run(`COPY (${select}) TO '${path}' (${options})`);
    paths[key] = path;
  }
  connection.closeSync();
  instance.closeSync();
  return paths;
}


/** The committed format fixtures (each made by another tool's writer: scripts/make-format-fixtures.mjs), by key. */
function formatFixtures() {
  const dir = join(root, 'integration_tests', 'fixtures', 'acceptance-bucket', 'formats');
  const files = {};
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) files[`formats/${join(entry.parentPath, entry.name).slice(dir.length + 1)}`] = join(entry.parentPath, entry.name);
  }
  return files;
}

function run(args, note) {
  console.log(`\n$ source-s3 ${args.join(' ')}${note ? `   # ${note}` : ''}`);
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' } });
  for (const line of result.stdout.split('\n').filter(Boolean)) {
    console.log(line.length > 400 ? `${line.slice(0, 400)}... (${line.length} characters)` : line);
  }
  for (const line of result.stderr.split('\n').filter((text) => text.startsWith('source-s3'))) console.log(`stderr: ${line}`);
  console.log(`(exit code ${result.status})`);
}

const { endpoint, stop } = await startLocalS3({ directory: join(work, 's3'), buckets: [bucket], keys: [[keyId, secret]] });
try {
  section(`Local S3-compatible server at ${endpoint}, bucket ${bucket}`);
  await uploadFilesTo(endpoint, [keyId, secret], bucket, await makeSampleFiles(), (key) => console.log(`  uploaded s3://${bucket}/${key}`));

  const credentials = { auth_type: 'iam_user', aws_access_key_id: keyId, aws_secret_access_key: secret };
  const config = {
    bucket,
    endpoint,
    force_path_style: true,
    credentials,
    streams: [
      { name: 'orders', globs: ['sales/**/*.csv', 'sales/**/*.csv.gz'], format: { filetype: 'csv' }, primary_key: ['order_id'] },
      { name: 'events', globs: ['events/*.parquet'], format: { filetype: 'parquet' } },
      { name: 'logs', globs: ['logs/*.jsonl'], format: { filetype: 'jsonl' } },
    ],
  };
  const configPath = join(work, 'config.json');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  section('Config');
  console.log(JSON.stringify({ ...config, credentials: { ...credentials, aws_secret_access_key: '<secret>' } }, null, 2));

  section('spec: the configuration the connector accepts');
  run(['spec']);

  section('check: credentials, bucket, and a readable first file per stream (reads a bounded sample)');
  run(['check', '--config', configPath]);

  section('check with mistakes: every problem is named, secrets are never printed');
  const badPath = join(work, 'bad-config.json');
  writeFileSync(badPath, JSON.stringify({ ...config, credentials: { ...credentials, aws_access_key_id: 'AKIAUNKNOWN00000' } }));
  run(['check', '--config', badPath], 'an access key the server does not know');
  const typoPath = join(work, 'typo-config.json');
  writeFileSync(typoPath, JSON.stringify({ ...config, streams: [{ name: 'orders', globs: ['sales/**/*.cvs'] }] }));
  run(['check', '--config', typoPath], 'a glob that matches nothing');
  const misspeltPath = join(work, 'misspelt-config.json');
  writeFileSync(misspeltPath, JSON.stringify({ ...config, streams: [{ name: 'orders', glob: ['sales/**/*.csv'] }] }));
  run(['check', '--config', misspeltPath], 'a misspelt field: glob for globs');
  const invalidPath = join(work, 'invalid-config.json');
  writeFileSync(invalidPath, JSON.stringify({ bucket, credentials: { auth_type: 'iam_role', role_arn: 'arn:aws:iam::123456789012:role/reader' }, file_type: 'xlsx' }));
  run(['check', '--config', invalidPath], 'schema violations');

  section('discover: schemas inferred from bounded samples (Parquet: footer only)');
  const discovered = spawnSync(process.execPath, [cli, 'discover', '--config', configPath], { encoding: 'utf8' });
  console.log(`$ source-s3 discover --config ${configPath}`);
  for (const line of discovered.stdout.split('\n').filter(Boolean)) {
    const message = JSON.parse(line);
    if (message.type !== 'CATALOG') {
      console.log(line);
      continue;
    }
    for (const stream of message.catalog.streams) {
      const columns = Object.entries(stream.json_schema.properties).map(([name, schema]) => {
        const types = [schema.type].flat().filter((type) => type !== 'null').join('|');
        return `${name}: ${types}${schema.format ? ` (${schema.format})` : ''}`;
      });
      console.log(`  stream ${stream.name}${stream.source_defined_primary_key ? ` [primary key ${stream.source_defined_primary_key.flat().join(', ')}]` : ''}`);
      for (const column of columns) console.log(`    ${column}`);
    }
  }
  console.log(`(exit code ${discovered.status}; the CATALOG message above is shown as a summary)`);

  section('read: incremental, first run (no state: every file is read)');
  const catalog = JSON.parse(discovered.stdout.split('\n').find((line) => line.includes('"CATALOG"'))).catalog;
  const orders = catalog.streams.find((stream) => stream.name === 'orders');
  const catalogPath = join(work, 'catalog.json');
  writeFileSync(catalogPath, JSON.stringify({ streams: [{ stream: orders, sync_mode: 'incremental', destination_sync_mode: 'append' }] }));
  const firstRead = spawnSync(process.execPath, [cli, 'read', '--config', configPath, '--catalog', catalogPath], { encoding: 'utf8', maxBuffer: 1 << 28 });
  console.log(`$ source-s3 read --config ${configPath} --catalog ${catalogPath}`);
  const lines = firstRead.stdout.split('\n').filter(Boolean);
  const records = lines.filter((line) => line.startsWith('{"type":"RECORD"'));
  for (const line of records.slice(0, 3)) console.log(line);
  console.log(`... ${records.length} RECORD messages in all; the other messages:`);
  for (const line of lines.filter((line) => !line.startsWith('{"type":"RECORD"'))) console.log(line.length > 300 ? `${line.slice(0, 300)}...` : line);
  console.log(`(exit code ${firstRead.status})`);

  section('read again with the last state: incremental, nothing new');
  const statePath = join(work, 'state.json');
  const states = lines.filter((line) => line.startsWith('{"type":"STATE"')).map((line) => JSON.parse(line).state);
  writeFileSync(statePath, JSON.stringify([states.at(-1)]));
  run(['read', '--config', configPath, '--catalog', catalogPath, '--state', statePath], 'no RECORD: every file is in the state\'s history');
  section('query: preview a SQL model query over s3:// URLs (plain and gzip CSV files by glob, aggregated)');
  run(['query', '--config', configPath, '--sql', `SELECT customer, count(*) AS orders, round(sum(amount), 2) AS revenue FROM read_csv('s3://${bucket}/sales/2024/*.csv*') GROUP BY customer ORDER BY revenue DESC LIMIT 5`]);
  run(['query', '--config', configPath, '--sql', "SELECT * FROM read_text('/etc/passwd')"], 'refused: a model query reads only s3:// URLs of the bucket');

  section('Other formats: Avro, Excel, documents (PDF, Word, markdown), .bz2 and .zip, files made by other tools');
  await uploadFilesTo(endpoint, [keyId, secret], bucket, formatFixtures(), (key) => console.log(`  uploaded s3://${bucket}/${key}`));
  const formatsConfig = {
    bucket,
    endpoint,
    force_path_style: true,
    credentials,
    path: 'formats',
    streams: [
      { name: 'avro_orders', globs: ['*.avro'], format: { filetype: 'avro' } },
      { name: 'excel_orders', globs: ['*.xlsx'], format: { filetype: 'excel', sheet: 'Orders' } },
      { name: 'documents', globs: ['docs/*'], format: { filetype: 'document' } },
      { name: 'bz2_orders', globs: ['*.csv.bz2'], format: { filetype: 'csv' } },
      { name: 'zipped_orders', globs: ['*.zip'], format: { filetype: 'csv' } },
      { name: 'typed_orders', globs: ['*.avro'], format: { filetype: 'avro' }, input_schema: '{"order_id": "integer", "customer": "string", "amount": "integer"}' },
    ],
  };
  const formatsPath = join(work, 'formats-config.json');
  writeFileSync(formatsPath, JSON.stringify(formatsConfig));
  console.log(`config as above, with "path": "formats" and the streams:`);
  for (const stream of formatsConfig.streams) console.log(`  ${JSON.stringify(stream)}`);
  const formatsCatalog = JSON.parse(
    spawnSync(process.execPath, [cli, 'discover', '--config', formatsPath], { encoding: 'utf8' })
      .stdout.split('\n')
      .find((line) => line.includes('"CATALOG"')),
  ).catalog;
  const formatsCatalogPath = join(work, 'formats-catalog.json');
  writeFileSync(formatsCatalogPath, JSON.stringify({ streams: formatsCatalog.streams.map((stream) => ({ stream, sync_mode: 'full_refresh', destination_sync_mode: 'overwrite' })) }));
  const formatsRead = spawnSync(process.execPath, [cli, 'read', '--config', formatsPath, '--catalog', formatsCatalogPath], { encoding: 'utf8' });
  console.log(`$ source-s3 read --config ${formatsPath} --catalog ${formatsCatalogPath}   # the first record of each stream`);
  const shown = new Set();
  for (const line of formatsRead.stdout.split('\n').filter((text) => text.startsWith('{"type":"RECORD"'))) {
    const { record } = JSON.parse(line);
    if (shown.has(record.stream)) continue;
    shown.add(record.stream);
    console.log(line.length > 400 ? `${line.slice(0, 400)}... (${line.length} characters)` : line);
  }
  console.log(`(exit code ${formatsRead.status}; typed_orders casts amount to integer: 12.5 does not fit, so it is null and meta.changes says so)`);
} finally {
  stop();
  rmSync(work, { recursive: true, force: true });
}
