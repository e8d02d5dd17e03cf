// Serves integration_tests/fixtures on the endpoint the acceptance configs name (127.0.0.1:4568),
// for Airbyte's acceptance tests (CAT does not start the S3 server its configs point at) and for
// `npm run acceptance`, which imports serveAcceptanceFixtures from here.
//
//   npm run serve:fixtures      serves until Ctrl-C (SIGINT) or SIGTERM
//
// Every folder of integration_tests/fixtures becomes a bucket of that name. The server knows the key
// pairs of the configs that are meant to work (not those of a connection test expected to fail).
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { filesUnder, startLocalS3, uploadFilesTo } from './local-s3.mjs';

const PROJECT_ROOT = join(import.meta.dirname, '..');

/** Config files of the acceptance suites, and whether their credentials are meant to work. */
function configPaths(acceptanceTests) {
  const paths = [];
  for (const test of acceptanceTests.spec?.tests ?? []) if (test.config_path !== undefined) paths.push({ path: test.config_path, meantToWork: true });
  for (const test of acceptanceTests.connection?.tests ?? []) paths.push({ path: test.config_path, meantToWork: test.status === 'succeed' });
  for (const section of [acceptanceTests.discovery, acceptanceTests.basic_read, acceptanceTests.full_refresh, acceptanceTests.incremental]) {
    for (const test of section?.tests ?? []) paths.push({ path: test.config_path, meantToWork: true });
  }
  return paths;
}

/**
 * Starts s3rver on the configs' one endpoint port with the fixtures uploaded. `acceptanceTests` is the
 * `acceptance_tests` section of acceptance-test-config.yml; relative config paths are taken from `base`.
 */
export async function serveAcceptanceFixtures(acceptanceTests, base = PROJECT_ROOT, fixtures = join(PROJECT_ROOT, 'integration_tests', 'fixtures')) {
  const keys = new Map();
  const ports = new Set();
  for (const { path, meantToWork } of configPaths(acceptanceTests)) {
    const file = isAbsolute(path) ? path : join(base, path);
    const config = JSON.parse(readFileSync(file, 'utf8'));
    const endpoint = new URL(config.endpoint ?? 'https://s3.amazonaws.com');
    if (!['127.0.0.1', 'localhost'].includes(endpoint.hostname)) throw new Error(`${file}: endpoint ${config.endpoint} is not the local test server (http://127.0.0.1:<port>)`);
    ports.add(Number(endpoint.port));
    const credentials = config.credentials ?? {};
    if (meantToWork && credentials.aws_access_key_id !== undefined) keys.set(credentials.aws_access_key_id, credentials.aws_secret_access_key);
  }
  if (ports.size !== 1) throw new Error(`the acceptance configs must share one endpoint; they name ports ${[...ports].join(', ')}`);
  const [port] = [...ports];

  const buckets = (await readdir(fixtures, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  const workDir = await mkdtemp(join(tmpdir(), 'source-s3-fixtures-s3-'));
  let server;
  try {
    server = await startLocalS3({ directory: workDir, buckets, keys: [...keys], port });
  } catch (error) {
    await rm(workDir, { recursive: true, force: true });
    throw new Error(`could not start the test S3 server on port ${port} (is something else listening there?): ${error.message}`);
  }
  // s3rver's own default key pair, known whatever the configs hold.
  // In key order, so that last-modified times never go down in key order (acceptance-test-config.yml's
  // cursor_paths name each stream's last file as the one holding its newest time).
  for (const bucket of buckets) {
    const files = Object.entries(filesUnder(join(fixtures, bucket))).sort(([a], [b]) => (a < b ? -1 : 1));
    await uploadFilesTo(server.endpoint, ['S3RVER', 'S3RVER'], bucket, Object.fromEntries(files));
  }
  return {
    endpoint: server.endpoint,
    buckets,
    stop: async () => {
      server.stop();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { parse } = await import('yaml');
  const file = process.env.SOURCE_S3_ACCEPTANCE_CONFIG ?? join(PROJECT_ROOT, 'acceptance-test-config.yml');
  const config = parse(readFileSync(file, 'utf8'));
  const base = config.base_path === undefined ? PROJECT_ROOT : join(PROJECT_ROOT, config.base_path);
  const served = await serveAcceptanceFixtures(config.acceptance_tests ?? {}, base);
  console.error(`serve:fixtures: ${served.buckets.join(', ')} at ${served.endpoint} (Ctrl-C stops)`);
  const stop = async () => {
    await served.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
