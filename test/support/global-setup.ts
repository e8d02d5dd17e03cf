import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { TestProject } from 'vitest/node';
import { BUCKET, EMPTY_BUCKET, SERVER_KEYS, USER_KEY_ID, USER_SECRET } from './constants.js';
import { generateFixtures } from './fixtures.js';

declare module 'vitest' {
  export interface ProvidedContext {
    s3Endpoint: string;
  }
}

let server: ChildProcess | undefined;
let workDir: string | undefined;

/** Starts the S3-compatible server once for all test files and uploads the fixtures. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  workDir = await mkdtemp(join(tmpdir(), 'source-s3-tests-'));
  const serverOptions = { directory: join(workDir, 's3'), buckets: [BUCKET, EMPTY_BUCKET], keys: SERVER_KEYS };
  server = spawn(process.execPath, ['--openssl-legacy-provider', join(import.meta.dirname, '..', '..', 'scripts', 's3rver-process.mjs'), JSON.stringify(serverOptions)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    server!.once('exit', (code) => reject(new Error(`s3rver exited with ${code}`)));
    createInterface({ input: server!.stdout! }).once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
  });
  const endpoint = `http://127.0.0.1:${port}`;

  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: USER_KEY_ID, secretAccessKey: USER_SECRET },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  for (const bucket of [BUCKET, EMPTY_BUCKET]) {
    await client.send(new CreateBucketCommand({ Bucket: bucket })).catch(() => undefined);
  }
  const fixtureDir = join(workDir, 'fixtures');
  await import('node:fs/promises').then((fs) => fs.mkdir(fixtureDir));
  for (const fixture of await generateFixtures(fixtureDir)) {
    const { size } = await stat(fixture.path);
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: fixture.key, Body: createReadStream(fixture.path), ContentLength: size }));
  }
  client.destroy();
  project.provide('s3Endpoint', endpoint);

  return async () => {
    server?.kill('SIGTERM');
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  };
}
