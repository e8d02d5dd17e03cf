import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startLocalS3, uploadFilesTo } from '../../scripts/local-s3.mjs';
import { BUCKET, EMPTY_BUCKET, PUBLIC_BUCKET, SERVER_KEYS, SIGNING_KEYS, USER_KEY_ID, USER_SECRET } from './constants.js';
import { FIXTURES, generateFixtures } from './fixtures.js';
import { SigV4Front } from './sigv4-front.js';

declare module 'vitest' {
  export interface ProvidedContext {
    s3Endpoint: string;
  }
}

/**
 * Starts the S3-compatible server once for all test files, behind a front that
 * verifies SigV4 signatures (s3rver does not), and uploads the fixtures through it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const workDir = await mkdtemp(join(tmpdir(), 'source-s3-tests-'));
  const server = await startLocalS3({ directory: join(workDir, 's3'), buckets: [BUCKET, EMPTY_BUCKET, PUBLIC_BUCKET], keys: SERVER_KEYS });
  const front = new SigV4Front(server.endpoint, SIGNING_KEYS, [PUBLIC_BUCKET]);
  const endpoint = await front.start();
  const fixtureDir = join(workDir, 'fixtures');
  await mkdir(fixtureDir);
  const fixtures = await generateFixtures(fixtureDir);
  await uploadFilesTo(endpoint, [USER_KEY_ID, USER_SECRET], BUCKET, Object.fromEntries(fixtures.map((fixture) => [fixture.key, fixture.path])));
  const people = fixtures.find((fixture) => fixture.key === FIXTURES.peopleCsv)!;
  await uploadFilesTo(endpoint, [USER_KEY_ID, USER_SECRET], PUBLIC_BUCKET, { [people.key]: people.path });
  project.provide('s3Endpoint', endpoint);

  return async () => {
    await front.stop();
    server.stop();
    await rm(workDir, { recursive: true, force: true });
  };
}
