import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { check, endpoint, localConfig } from '../support/cli.js';
import {
  ENV_KEY_ID,
  ENV_SECRET,
  EXTERNAL_ID,
  PUBLIC_BUCKET,
  ROLE_ARN,
  ROLE_BASE_KEY_ID,
  ROLE_BASE_SECRET,
  ROLE_SESSION_TOKEN,
  ROLE_TEMP_KEY_ID,
} from '../support/constants.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { StsServer } from '../support/sts-server.js';

const sts = new StsServer([ROLE_BASE_KEY_ID, ENV_KEY_ID]);
let stsEndpoint = '';
let proxy: FaultProxy;
let proxyEndpoint = '';
const stream = { streams: [{ name: 'people', globs: ['csv/people.csv'] }] };

beforeAll(async () => {
  stsEndpoint = await sts.start();
  proxy = new FaultProxy(endpoint());
  proxyEndpoint = await proxy.start();
});
afterAll(async () => {
  await sts.stop();
  await proxy.stop();
});
beforeEach(() => {
  sts.calls.length = 0;
  proxy.headers = [];
});

/** The access key id a request to S3 was signed with, or undefined when unsigned. */
const signedWith = (headers: { authorization?: string }) => /Credential=([^/]+)\//.exec(headers.authorization ?? '')?.[1];

describe('auth mode iam_role (AssumeRole with external ID)', () => {
  it('assumes the role with the base keys and reads with the temporary credentials', async () => {
    const config = localConfig({
      ...stream,
      endpoint: proxyEndpoint,
      credentials: {
        auth_type: 'iam_role',
        role_arn: ROLE_ARN,
        external_id: EXTERNAL_ID,
        role_session_name: 'nightly-sync',
        aws_access_key_id: ROLE_BASE_KEY_ID,
        aws_secret_access_key: ROLE_BASE_SECRET,
      },
    });
    const { status, message } = await check(config, { env: { AWS_ENDPOINT_URL_STS: stsEndpoint } });
    expect(status, message).toBe('SUCCEEDED');
    expect(sts.calls).toHaveLength(1);
    expect(sts.calls[0]).toMatchObject({
      roleArn: ROLE_ARN,
      externalId: EXTERNAL_ID,
      roleSessionName: 'nightly-sync',
      durationSeconds: '3600',
      callerKeyId: ROLE_BASE_KEY_ID,
    });
    expect(proxy.headers.length).toBeGreaterThan(0);
    for (const headers of proxy.headers) {
      expect(signedWith(headers)).toBe(ROLE_TEMP_KEY_ID);
      expect(headers['x-amz-security-token']).toBe(ROLE_SESSION_TOKEN);
    }
  });

  it('calls STS with the default chain when no base keys are given, with a generated session name', async () => {
    const config = localConfig({ ...stream, credentials: { auth_type: 'iam_role', role_arn: ROLE_ARN, external_id: EXTERNAL_ID } });
    const { status, message } = await check(config, {
      env: { AWS_ENDPOINT_URL_STS: stsEndpoint, AWS_ACCESS_KEY_ID: ENV_KEY_ID, AWS_SECRET_ACCESS_KEY: ENV_SECRET },
    });
    expect(status, message).toBe('SUCCEEDED');
    expect(sts.calls[0]?.callerKeyId).toBe(ENV_KEY_ID);
    expect(sts.calls[0]?.roleSessionName).toMatch(/^source-s3-\d+$/);
  });

  it('fails with an actionable message when the external ID does not match the trust policy', async () => {
    const config = localConfig({
      ...stream,
      credentials: {
        auth_type: 'iam_role',
        role_arn: ROLE_ARN,
        external_id: 'wrong-external-id-Hy7u',
        aws_access_key_id: ROLE_BASE_KEY_ID,
        aws_secret_access_key: ROLE_BASE_SECRET,
      },
    });
    const { status, message, result } = await check(config, { env: { AWS_ENDPOINT_URL_STS: stsEndpoint } });
    expect(status).toBe('FAILED');
    expect(message).toContain(`Access denied assuming ${ROLE_ARN}`);
    expect(message).toContain('credentials.external_id');
    expect(result.stdout + result.stderr).not.toContain('wrong-external-id-Hy7u');
  });

  it('fails naming the base keys when STS does not know them', async () => {
    const config = localConfig({
      ...stream,
      credentials: { auth_type: 'iam_role', role_arn: ROLE_ARN, external_id: EXTERNAL_ID, aws_access_key_id: 'AKIAUNKNOWN000', aws_secret_access_key: ROLE_BASE_SECRET },
    });
    const { status, message } = await check(config, { env: { AWS_ENDPOINT_URL_STS: stsEndpoint } });
    expect(status).toBe('FAILED');
    expect(message).toMatch(/STS rejected the base credentials .*credentials\.aws_access_key_id/);
  });
});

describe('auth mode default_chain', () => {
  it('uses credentials from environment variables', async () => {
    const { status, message } = await check(localConfig({ ...stream, endpoint: proxyEndpoint, credentials: { auth_type: 'default_chain' } }), {
      env: { AWS_ACCESS_KEY_ID: ENV_KEY_ID, AWS_SECRET_ACCESS_KEY: ENV_SECRET },
    });
    expect(status, message).toBe('SUCCEEDED');
    for (const headers of proxy.headers) expect(signedWith(headers)).toBe(ENV_KEY_ID);
  });

  it('uses a named profile from a shared credentials file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'source-s3-profile-'));
    const file = join(dir, 'credentials');
    writeFileSync(file, `[reporting]\naws_access_key_id = ${ENV_KEY_ID}\naws_secret_access_key = ${ENV_SECRET}\n`);
    const { status, message } = await check(localConfig({ ...stream, credentials: { auth_type: 'default_chain' } }), {
      env: { AWS_SHARED_CREDENTIALS_FILE: file, AWS_PROFILE: 'reporting' },
    });
    expect(status, message).toBe('SUCCEEDED');
    rmSync(dir, { recursive: true, force: true });
  });

  it('says where it looked when the chain has no credentials', async () => {
    const { status, message } = await check(localConfig({ ...stream, credentials: { auth_type: 'default_chain' } }));
    expect(status).toBe('FAILED');
    expect(message).toContain('No AWS credentials were found in the default chain');
  });

  it('reports an unknown key from the environment as such', async () => {
    const { status, message } = await check(localConfig({ ...stream, credentials: { auth_type: 'default_chain' } }), {
      env: { AWS_ACCESS_KEY_ID: 'AKIANOTKNOWN0000', AWS_SECRET_ACCESS_KEY: ENV_SECRET },
    });
    expect(status).toBe('FAILED');
    expect(message).toContain('AWS_ACCESS_KEY_ID');
  });
});

describe('auth mode anonymous', () => {
  it('reads a public bucket with unsigned requests', async () => {
    const { status, message } = await check(localConfig({ ...stream, bucket: PUBLIC_BUCKET, endpoint: proxyEndpoint, credentials: { auth_type: 'anonymous' } }));
    expect(status, message).toBe('SUCCEEDED');
    expect(proxy.headers.length).toBeGreaterThan(0);
    for (const headers of proxy.headers) expect(headers.authorization).toBeUndefined();
  });

  it('is refused by a bucket that is not public, and says so', async () => {
    const { status, message } = await check(localConfig({ ...stream, credentials: { auth_type: 'anonymous' } }));
    expect(status).toBe('FAILED');
    expect(message).toContain('Access denied listing s3://source-s3-test/');
    expect(message).toContain('does not allow anonymous (public) access');
  });
});
