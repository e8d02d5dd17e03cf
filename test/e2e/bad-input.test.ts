import { beforeAll, describe, expect, it } from 'vitest';
import { check, endpoint, localConfig, onlyMessage, runCli, writeTempFile } from '../support/cli.js';
import { EMPTY_BUCKET, USER_KEY_ID, USER_SECRET } from '../support/constants.js';
import type { FaultProxy } from '../support/fault-proxy.js';
import { useFaultProxy } from '../support/proxy-hooks.js';
import { FIXTURES } from '../support/fixtures.js';

const userCredentials = { auth_type: 'iam_user', aws_access_key_id: USER_KEY_ID, aws_secret_access_key: USER_SECRET };

describe('config problems are named field by field', () => {
  it('rejects a config that is not JSON without quoting its text', async () => {
    const text = `{"bucket": "b", "credentials": {"auth_type": "iam_user", "aws_secret_access_key": "${USER_SECRET}" }}}`;
    const { status, message } = await check(text);
    expect(status).toBe('FAILED');
    expect(message).toMatch(/is not valid JSON \(syntax error at line 1, column \d+\)/);
  });

  it('reports a JSON error in discover as a config_error TRACE and a non-zero exit', async () => {
    const result = await runCli(['discover', '--config', writeTempFile('config.json', '{"bucket": ')]);
    expect(result.code).toBe(1);
    const trace = onlyMessage(result, 'TRACE').trace;
    expect(trace.error.failure_type).toBe('config_error');
    expect(trace.error.message).toContain('is not valid JSON');
  });

  it('names every missing field and wrong type at once', async () => {
    const { status, message } = await check({ region: 5, credentials: { auth_type: 'iam_role', role_arn: 'arn:aws:iam::123456789012:role/r' }, force_path_style: 'yes' });
    expect(status).toBe('FAILED');
    expect(message).toContain('Invalid configuration (4 problems)');
    expect(message).toContain('bucket is required');
    expect(message).toContain('region must be a string (got integer)');
    expect(message).toContain('credentials.external_id is required for auth_type iam_role');
    expect(message).toContain('force_path_style must be a boolean (got string)');
  });

  it('lists the auth types when auth_type is unknown', async () => {
    const { status, message } = await check(localConfig({ credentials: { auth_type: 'sso' } }));
    expect(status).toBe('FAILED');
    expect(message).toContain('credentials.auth_type must be one of iam_user, iam_role, default_chain, anonymous (got "sso")');
  });

  it('says which auth_type field is missing', async () => {
    const { message } = await check(localConfig({ credentials: { auth_type: 'iam_user', aws_access_key_id: USER_KEY_ID } }));
    expect(message).toContain('credentials.aws_secret_access_key is required for auth_type iam_user');
  });

  it('rejects semantic mistakes ajv cannot see', async () => {
    const { message } = await check(
      localConfig({
        bucket: 's3://my-bucket/data',
        endpoint: 'ftp://example.com',
        streams: [
          { name: 'a', globs: ['**'] },
          { name: 'a', query: 'SELECT 1', globs: ['x/**'] },
        ],
      }),
    );
    expect(message).toContain('bucket must be the bucket name only');
    expect(message).toContain('endpoint must use http:// or https://');
    expect(message).toContain('streams[1].name "a" is already used by streams[0]');
    expect(message).toContain('streams[1] (a) has both query and globs');
  });

  it('adds https:// to an endpoint without a scheme', async () => {
    const local = new URL(endpoint());
    // No scheme: https:// is assumed, and the plain-HTTP test server cannot answer TLS.
    const { status, message } = await check(localConfig({ endpoint: local.host, streams: [{ name: 's', globs: ['csv/people.csv'] }] }));
    expect(status).toBe('FAILED');
    expect(message).toContain(`https://${local.host}`);
  });

  it('names a start_date that is not a date-time, or not a real date', async () => {
    expect((await check(localConfig({ start_date: '2024-02-01' }))).message).toContain('start_date must look like YYYY-MM-DDTHH:mm:ssZ');
    expect((await check(localConfig({ start_date: '2024-02-30T00:00:00Z' }))).message).toContain('(got "2024-02-30T00:00:00Z")');
  });
});

describe('S3 problems get actionable messages', () => {
  it('an unknown access key', async () => {
    const { status, message } = await check(localConfig({ credentials: { ...userCredentials, aws_access_key_id: 'AKIANOBODY000000' } }));
    expect(status).toBe('FAILED');
    expect(message).toContain('S3 does not recognize the access key ID (InvalidAccessKeyId). Check credentials.aws_access_key_id');
  });

  it('a bucket that does not exist', async () => {
    const { message } = await check(localConfig({ bucket: 'no-such-bucket-here' }));
    expect(message).toContain('Bucket "no-such-bucket-here" does not exist at http://127.0.0.1:');
  });

  it('an empty bucket', async () => {
    const { message } = await check(localConfig({ bucket: EMPTY_BUCKET }));
    expect(message).toContain(`There are no objects under s3://${EMPTY_BUCKET}/`);
  });

  it('a path prefix with no objects', async () => {
    const { message } = await check(localConfig({ path: 'nothing/here' }));
    expect(message).toContain('There are no objects under s3://source-s3-test/nothing/here/. Check bucket and path');
  });

  it('a stream whose globs match nothing, while others are fine', async () => {
    const { status, message } = await check(
      localConfig({
        streams: [
          { name: 'good', globs: ['csv/people.csv'] },
          { name: 'typo', globs: ['csv/peeple*.csv'] },
        ],
      }),
    );
    expect(status).toBe('FAILED');
    expect(message).toBe(
      'Stream "typo" matches no files: no key under s3://source-s3-test/ matches "csv/peeple*.csv". Keys there include: "csv/archive/people-2022.csv.zst", "csv/archive/people-2023.csv.gz", "csv/people.csv". Check path and the stream\'s globs.',
    );
  });

  it('a default stream with no files of its file_type names path and file_type, not globs', async () => {
    const { message } = await check(localConfig({ path: 'jsonl', file_type: 'parquet' }));
    expect(message).toBe(
      'Stream "jsonl" matches no files: no file under s3://source-s3-test/jsonl/ ends in .parquet. Keys there include: "items.jsonl", "more/items-2.jsonl.gz". Check path and file_type.',
    );
  });

  it('start_date after every file', async () => {
    const { message } = await check(localConfig({ start_date: '2999-01-01T00:00:00Z', streams: [{ name: 'late', globs: ['csv/**'] }] }));
    expect(message).toContain('matches no files modified on or after start_date 2999-01-01T00:00:00.000Z');
  });

  it.each([
    [FIXTURES.brokenParquet, 'parquet', /not a Parquet file/],
    [FIXTURES.truncatedParquet, 'parquet', /not a Parquet file \(no PAR1 marker at its end\)/],
    [FIXTURES.garbageGz, 'csv', /its gzip data ends early|is not valid gzip data/],
  ])('an unreadable file %s', async (key, filetype, expected) => {
    const { status, message } = await check(localConfig({ streams: [{ name: 'broken', globs: [key], format: { filetype } }] }));
    expect(status).toBe('FAILED');
    expect(message).toContain(`s3://source-s3-test/${key}`);
    expect(message).toMatch(expected);
  });

  it('a CSV file read as Parquet names the file and the fix', async () => {
    const { message } = await check(localConfig({ streams: [{ name: 'wrong', globs: [FIXTURES.peopleCsv], format: { filetype: 'parquet' } }] }));
    expect(message).toContain(`s3://source-s3-test/${FIXTURES.peopleCsv} is not a Parquet file`);
    expect(message).toContain("Check the stream's globs and format");
  });

  it('an endpoint where nothing listens', async () => {
    const { status, message } = await check(localConfig({ endpoint: 'http://127.0.0.1:1' }));
    expect(status).toBe('FAILED');
    expect(message).toContain('Cannot reach http://127.0.0.1:1 (ECONNREFUSED)');
    expect(message).toContain('Check endpoint');
  });

  it('a model query that breaks a rule', async () => {
    const { status, message } = await check(localConfig({ streams: [{ name: 'q', query: "SELECT * FROM read_text('/etc/passwd')" }] }));
    expect(status).toBe('FAILED');
    expect(message).toContain('Stream "q": the model query uses table function read_text()');
  });
});

describe('throttling and server errors are retried, then transient', () => {
  const proxied = useFaultProxy();
  let proxy: FaultProxy;
  let proxyEndpoint: string;
  beforeAll(() => {
    proxy = proxied.proxy();
    proxyEndpoint = proxied.endpoint();
  });

  it('succeeds after two throttled answers', async () => {
    proxy.failNext = 2;
    proxy.failedRequests = 0;
    proxy.failCode = 'SlowDown';
    proxy.failStatus = 503;
    const { status, message } = await check(localConfig({ endpoint: proxyEndpoint, streams: [{ name: 'p', globs: [FIXTURES.peopleCsv] }] }), {
      env: { SOURCE_S3_MAX_ATTEMPTS: '3' },
    });
    expect(status, message).toBe('SUCCEEDED');
    expect(proxy.failedRequests).toBe(2);
  });

  it('gives up with a transient message when throttling goes on', async () => {
    proxy.failNext = 1000;
    proxy.failedRequests = 0;
    const { status, message } = await check(localConfig({ endpoint: proxyEndpoint }), { env: { SOURCE_S3_MAX_ATTEMPTS: '3' } });
    proxy.failNext = 0;
    expect(status).toBe('FAILED');
    expect(message).toMatch(/S3 is throttling requests \(SlowDown\) after 3 attempts/);
    expect(proxy.failedRequests).toBe(3);
  });

  it('reports persistent 500s as a server error after retries', async () => {
    proxy.failNext = 1000;
    proxy.failStatus = 500;
    proxy.failCode = 'InternalError';
    const { message } = await check(localConfig({ endpoint: proxyEndpoint }), { env: { SOURCE_S3_MAX_ATTEMPTS: '2' } });
    proxy.failNext = 0;
    proxy.failStatus = 503;
    proxy.failCode = 'SlowDown';
    expect(message).toMatch(/S3 answered with a server error \(HTTP 500, InternalError\) after 2 attempts/);
  });
});

describe('secrets never appear in any output', () => {
  it('masks a secret pasted into a field that error messages quote', async () => {
    // The secret doubles as the path: messages quote the path, and must mask it.
    const { status, message } = await check(localConfig({ path: USER_SECRET }));
    expect(status).toBe('FAILED');
    expect(message).toContain('****');
  });

  it('masks secrets in unknown-field warnings and validation errors', async () => {
    const result = await runCli([
      'check',
      '--config',
      writeTempFile('config.json', localConfig({ credentials: { ...userCredentials, region: USER_SECRET }, file_type: USER_SECRET })),
    ]);
    expect(result.stdout).toContain('****');
  });
});

describe('command line', () => {
  it('an unknown command', async () => {
    const result = await runCli(['sync']);
    expect(result.code).toBe(2);
    expect(onlyMessage(result, 'TRACE').trace.error.message).toContain('Unknown command "sync". Commands: spec, check, discover, read, query.');
    expect(result.stderr).toContain('source-s3 <command>');
  });

  it('no command', async () => {
    const result = await runCli([]);
    expect(result.code).toBe(2);
    expect(onlyMessage(result, 'TRACE').trace.error.message).toContain('Give one command');
  });

  it('a missing --config', async () => {
    const result = await runCli(['check']);
    expect(result.code).toBe(2);
    expect(onlyMessage(result, 'TRACE').trace.error.message).toContain('Missing required argument: config');
  });

  it('an option given twice', async () => {
    const result = await runCli(['check', '--config', 'a.json', '--config', 'b.json']);
    expect(result.code).toBe(2);
    expect(onlyMessage(result, 'TRACE').trace.error.message).toContain('--config was given more than once.');
  });

  it('a config file that does not exist', async () => {
    const result = await runCli(['discover', '--config', '/nonexistent/config.json']);
    expect(result.code).toBe(1);
    expect(onlyMessage(result, 'TRACE').trace.error.message).toBe('The config file /nonexistent/config.json does not exist.');
  });

  it('a catalog file that does not exist', async () => {
    const result = await runCli(['read', '--config', writeTempFile('config.json', localConfig()), '--catalog', '/nonexistent/catalog.json']);
    expect(result.code).toBe(1);
    expect(onlyMessage(result, 'TRACE').trace.error.message).toBe('The catalog file /nonexistent/catalog.json does not exist.');
  });

  it('a state file that does not exist', async () => {
    const result = await runCli(['read', '--config', writeTempFile('config.json', localConfig()), '--catalog', writeTempFile('catalog.json', { streams: [] }), '--state', '/nonexistent/state.json']);
    expect(result.code).toBe(1);
    expect(onlyMessage(result, 'TRACE').trace.error.message).toBe('The state file /nonexistent/state.json does not exist.');
  });
});
