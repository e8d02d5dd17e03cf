import { describe, expect, it } from 'vitest';
import { localConfig, onlyMessage, runCli, writeTempFile, type CliResult } from '../support/cli.js';
import { ENV_KEY_ID, ENV_SECRET, USER_KEY_ID, USER_SECRET } from '../support/constants.js';
import { FIXTURES } from '../support/fixtures.js';
import { configuredCatalog, discoverStreams } from '../support/read.js';

// The test server's front verifies SigV4 signatures (test/support/sigv4-front.ts), so a
// secret that does not belong to the key id is refused as AWS refuses it: 403 SignatureDoesNotMatch.

/** The right secret with its last character changed: a typo, or a key rotated since. */
const WRONG_SECRET = `${USER_SECRET.slice(0, -1)}${USER_SECRET.endsWith('w') ? 'v' : 'w'}`;
const streams = [{ name: 'people', globs: [FIXTURES.peopleCsv] }];
const wrongSecretConfig = () =>
  localConfig({ streams, credentials: { auth_type: 'iam_user', aws_access_key_id: USER_KEY_ID, aws_secret_access_key: WRONG_SECRET } });

function expectConfigError(result: CliResult): string {
  expect(result.code, result.stderr).toBe(1);
  const errors = result.messages.filter((message) => message.type === 'TRACE' && message.trace.type === 'ERROR').map((message) => message.trace.error);
  expect(errors, result.stdout).toHaveLength(1);
  const error = errors[0];
  expect(error.failure_type).toBe('config_error');
  expect(result.messages.filter((message) => message.type === 'RECORD' || message.type === 'CATALOG')).toEqual([]);
  return error.message as string;
}

describe('a wrong secret access key with a valid key id', () => {
  it('check answers FAILED, says the secret is wrong and names the field, exit 0', async () => {
    const result = await runCli(['check', '--config', writeTempFile('config.json', wrongSecretConfig())], { secrets: [WRONG_SECRET] });
    expect(result.code).toBe(0);
    const status = onlyMessage(result, 'CONNECTION_STATUS').connectionStatus;
    expect(status.status).toBe('FAILED');
    expect(status.message).toContain('The secret access key does not match the access key ID (SignatureDoesNotMatch)');
    expect(status.message).toContain('Check credentials.aws_secret_access_key');
  });

  it('discover fails with a config_error TRACE and exit 1', async () => {
    const result = await runCli(['discover', '--config', writeTempFile('config.json', wrongSecretConfig())], { secrets: [WRONG_SECRET] });
    expect(expectConfigError(result)).toContain('credentials.aws_secret_access_key');
  });

  it('read (with a catalog discovered before the key was rotated) fails with a config_error TRACE, no records, exit 1', async () => {
    const catalog = configuredCatalog(await discoverStreams(localConfig({ streams })), { sync_mode: 'full_refresh' });
    const result = await runCli(['read', '--config', writeTempFile('config.json', wrongSecretConfig()), '--catalog', writeTempFile('catalog.json', catalog)], {
      secrets: [WRONG_SECRET],
    });
    expect(expectConfigError(result)).toContain('The secret access key does not match the access key ID');
  });

  it('from the default chain, check names the environment variable', async () => {
    const wrongEnvSecret = `${ENV_SECRET}0`;
    const result = await runCli(['check', '--config', writeTempFile('config.json', localConfig({ streams, credentials: { auth_type: 'default_chain' } }))], {
      env: { AWS_ACCESS_KEY_ID: ENV_KEY_ID, AWS_SECRET_ACCESS_KEY: wrongEnvSecret },
      secrets: [wrongEnvSecret],
    });
    const status = onlyMessage(result, 'CONNECTION_STATUS').connectionStatus;
    expect(status.status).toBe('FAILED');
    expect(status.message).toContain('SignatureDoesNotMatch');
    expect(status.message).toContain('AWS_SECRET_ACCESS_KEY');
  });
});
