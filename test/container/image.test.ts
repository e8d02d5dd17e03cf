/**
 * The real image (source-s3:dev, built from the Dockerfile by scripts/container/test-container.sh)
 * run the way users run it: `<engine> run --rm -v <dir>:/secrets source-s3:dev check --config
 * /secrets/config.json`, against the test S3 server on the host network.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { containerEngine, defaultPodmanSettings, inspectImage } from '../../acceptance/connector.js';
import { cleanEnv, localConfig, onlyMessage, runCli, runConnectorProcess, writeTempFile } from '../support/cli.js';
import { FIXTURES } from '../support/fixtures.js';
import { configuredCatalog, discoverStreams } from '../support/read.js';
import { putObject, testClient } from '../support/s3-client.js';

const IMAGE = process.env.SOURCE_S3_IMAGE ?? 'source-s3:dev';
const ENGINE = containerEngine();
const ROOT = join(import.meta.dirname, '..', '..');
defaultPodmanSettings();

/** The image's user: config files are given to it, private (0600 in a 0700 folder), as the README says. */
const IMAGE_UID = 10001;

/** A private folder to mount at /secrets, owned by `uid`, removed after the tests. */
function secretsFolder(uid: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'source-s3-secrets-'));
  chownSync(dir, uid, uid);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
const secretsDir = secretsFolder(IMAGE_UID);

function mount(name: string, content: unknown, dir = secretsDir): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(content), { mode: 0o600 });
  chownSync(path, statSync(dir).uid, statSync(dir).gid);
  return `/secrets/${name}`;
}

const runImage = (args: string[], engineArgs: string[] = [], options: { secrets?: string[]; dir?: string } = {}) =>
  runConnectorProcess(ENGINE, ['run', '--rm', '--network', 'host', '-v', `${options.dir ?? secretsDir}:/secrets:ro`, ...engineArgs, IMAGE, ...args], options);

function inImage(command: string): string {
  const result = spawnSync(ENGINE, ['run', '--rm', '--entrypoint', 'sh', IMAGE, '-c', command], { encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout.trim();
}

const config = () => localConfig({ streams: [{ name: 'people', globs: [FIXTURES.peopleCsv], format: { filetype: 'csv' }, primary_key: ['id'] }] });

describe(`the ${IMAGE} image`, () => {
  it('prints the same SPEC as the CLI', async () => {
    const [inContainer, local] = await Promise.all([runImage(['spec']), runCli(['spec'])]);
    expect(inContainer.code, inContainer.stderr).toBe(0);
    expect(onlyMessage(inContainer, 'SPEC')).toEqual(onlyMessage(local, 'SPEC'));
  });

  it('checks a config mounted at /secrets', async () => {
    const result = await runImage(['check', '--config', mount('config.json', config())]);
    expect(result.code, result.stderr).toBe(0);
    expect(onlyMessage(result, 'CONNECTION_STATUS').connectionStatus).toMatchObject({ status: 'SUCCEEDED' });
  });

  it('runs as the caller\'s uid with --user, reading files private to that uid', async () => {
    const ownDir = secretsFolder(4242);
    const path = mount('config.json', config(), ownDir);
    const result = await runImage(['check', '--config', path], ['--user', '4242:4242'], { dir: ownDir });
    expect(onlyMessage(result, 'CONNECTION_STATUS').connectionStatus).toMatchObject({ status: 'SUCCEEDED' });
  });

  it('answers a wrong key with FAILED and never prints the secret', async () => {
    const wrong = localConfig({ credentials: { auth_type: 'iam_user', aws_access_key_id: 'AKIAUNKNOWNTOTHEHOST', aws_secret_access_key: 'container-secret-never-printed' } });
    const result = await runImage(['check', '--config', mount('wrong.json', wrong)], [], { secrets: ['container-secret-never-printed'] });
    expect(onlyMessage(result, 'CONNECTION_STATUS').connectionStatus.status).toBe('FAILED');
  });

  it('reads the same records as the CLI, with a read-only root filesystem and a tmpfs for staging', async () => {
    const catalog = configuredCatalog(await discoverStreams(config()), { sync_mode: 'full_refresh' });
    const local = await runCli(['read', '--config', writeTempFile('config.json', config()), '--catalog', writeTempFile('catalog.json', catalog)]);
    const inContainer = await runImage(['read', '--config', mount('config.json', config()), '--catalog', mount('catalog.json', catalog)], ['--read-only', '--tmpfs', '/staging']);
    expect(inContainer.code, inContainer.stderr).toBe(0);
    const data = (result: typeof local) => result.messages.filter((message) => message.type === 'RECORD').map((message) => message.record.data);
    expect(data(inContainer).length).toBe(50);
    expect(data(inContainer)).toEqual(data(local));
    const states = inContainer.messages.filter((message) => message.type === 'STATE');
    expect(states.reduce((sum, message) => sum + message.state.sourceStats.recordCount, 0)).toBe(50);
  });

  it('names the missing file when the config is not mounted', async () => {
    const check = await runImage(['check', '--config', '/secrets/missing.json']);
    expect(onlyMessage(check, 'CONNECTION_STATUS').connectionStatus).toEqual({ status: 'FAILED', message: 'The config file /secrets/missing.json does not exist.' });
    const discover = await runImage(['discover', '--config', '/secrets/missing.json']);
    expect(discover.code).toBe(1);
    expect(onlyMessage(discover, 'TRACE').trace.error).toMatchObject({ failure_type: 'config_error', message: expect.stringContaining('/secrets/missing.json') });
  });

  it('stops at a line boundary on `stop` (SIGTERM to node as PID 1), marks the stream INCOMPLETE and exits 143', async () => {
    const client = testClient();
    const key = `container-signals/${Date.now()}.csv`;
    await putObject(client, key, `id,name\n${Array.from({ length: 400_000 }, (_, index) => `${index},name-${index}`).join('\n')}\n`);
    client.destroy();
    const streamConfig = localConfig({ streams: [{ name: 'big', globs: [key], format: { filetype: 'csv' } }] });
    const catalog = { streams: [{ stream: { name: 'big', json_schema: { type: 'object', properties: {} }, supported_sync_modes: ['full_refresh'] }, sync_mode: 'full_refresh', destination_sync_mode: 'overwrite' }] };
    const name = `source-s3-stop-${Date.now()}`;
    const args = ['run', '--rm', '--name', name, '--network', 'host', '-v', `${secretsDir}:/secrets:ro`, IMAGE, 'read', '--config', mount('big.json', streamConfig), '--catalog', mount('big-catalog.json', catalog)];
    const child = spawn(ENGINE, args, { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stopped: Promise<unknown> | undefined;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stopped === undefined && stdout.split('"type":"RECORD"').length > 2000) {
        stopped = new Promise((resolve) => spawn(ENGINE, ['stop', '--time', '20', name], { stdio: 'ignore' }).on('close', resolve));
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    await stopped;
    expect(stopped, 'stopped while records flowed').toBeDefined();
    expect(code).toBe(143);
    const lines = stdout.split('\n');
    expect(lines.pop()).toBe('');
    const messages = lines.map((line) => JSON.parse(line));
    expect(messages.filter((message) => message.type === 'RECORD').length).toBeLessThan(400_000);
    expect(messages.at(-2)).toMatchObject({ type: 'TRACE', trace: { stream_status: { status: 'INCOMPLETE' } } });
    expect(messages.at(-1)).toMatchObject({ type: 'TRACE', trace: { error: { message: 'Interrupted by SIGTERM before finishing; run the command again.' } } });
  });

  it('runs as a non-root user and stages under /staging', () => {
    expect(inImage('id -u')).not.toBe('0');
    expect(inImage('echo $SOURCE_S3_STAGING_DIR; stat -c %a /staging')).toBe('/staging\n1777');
  });

  it('sets AIRBYTE_ENTRYPOINT to its entrypoint and labels matching metadata.yaml', () => {
    const image = inspectImage(ENGINE, IMAGE);
    const metadata = parse(readFileSync(join(ROOT, 'metadata.yaml'), 'utf8')).data;
    expect(image.env.AIRBYTE_ENTRYPOINT).toBe(image.entrypoint.join(' '));
    expect(image.labels['io.airbyte.name']).toBe(metadata.dockerRepository);
    expect(image.labels['io.airbyte.version']).toBe(metadata.dockerImageTag);
    expect(metadata.dockerImageTag).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('holds the built code and production dependencies only', () => {
    expect(inImage('ls /airbyte/integration_code').split('\n')).toEqual(['dist', 'node_modules', 'package.json', 'schemas', 'spec.json']);
    // No dev tool: the only command a production dependency installs is mammoth's own (DOCX reader) CLI.
    expect(inImage("ls node_modules/.bin 2>/dev/null | grep -vx mammoth; for p in typescript vitest s3rver json-schema-to-typescript xlsx docx pdfkit avro-js; do test -e node_modules/$p && echo $p; done; true")).toBe('');
    expect(inImage('node --version')).toMatch(/^v22\./);
  });
});
