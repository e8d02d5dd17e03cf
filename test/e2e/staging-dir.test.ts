import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cleanEnv, localConfig, onlyMessage, runCli, runConnectorProcess, writeTempFile } from '../support/cli.js';
import { BUCKET } from '../support/constants.js';
import { FIXTURES } from '../support/fixtures.js';
import { putObject, testClient } from '../support/s3-client.js';

const work = mkdtempSync(join(tmpdir(), 'staging-dir-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const MiB = 2 ** 20;
const catalogOf = (name: string) => ({
  streams: [{ stream: { name, json_schema: { type: 'object', properties: {} }, supported_sync_modes: ['full_refresh'] }, sync_mode: 'full_refresh', destination_sync_mode: 'overwrite' }],
});

/**
 * Runs the CLI with its staging directory on a 1 MiB tmpfs of its own: a mount
 * namespace (unshare) as an unprivileged user maps to root, so this works
 * without root and leaves no mount behind.
 */
function runOnTinyDisk(args: string[], env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(work, 'tiny-'));
  const script = 'mount -t tmpfs -o size=1m tmpfs "$1" && shift && exec "$@"';
  return {
    dir,
    result: runConnectorProcess('unshare', ['--mount', '--map-root-user', 'sh', '-c', script, 'sh', dir, process.execPath, CLI, ...args], {
      env: { SOURCE_S3_STAGING_DIR: dir, ...env },
    }),
  };
}

describe('a full staging disk', () => {
  const key = `enospc/${Date.now()}/big.csv`;
  beforeAll(async () => {
    const client = testClient();
    // 3 MiB of rows: three times what the tiny disk holds.
    const row = 'x'.repeat(1023);
    await putObject(client, key, `id,text\n${Array.from({ length: 3 * 1024 }, (_, index) => `${String(index).padStart(6, '0')},${row.slice(7)}`).join('\n')}\n`);
    client.destroy();
  });

  it('the tiny disk really is 1 MiB (else the test below would prove nothing)', () => {
    const dir = mkdtempSync(join(work, 'probe-'));
    const probe = spawnSync('unshare', ['--mount', '--map-root-user', 'sh', '-c', 'mount -t tmpfs -o size=1m tmpfs "$1" && df -k "$1" | tail -1', 'sh', dir], { encoding: 'utf8' });
    expect(probe.status, probe.stderr).toBe(0);
    expect(probe.stdout.trim().split(/\s+/)[1]).toBe('1024');
  });

  it('read: a config_error naming the object, SOURCE_S3_STAGING_DIR, the space needed and the space free', async () => {
    const config = localConfig({ streams: [{ name: 'big', globs: [key], format: { filetype: 'csv' } }] });
    const { result, dir } = runOnTinyDisk(['read', '--config', writeTempFile('config.json', config), '--catalog', writeTempFile('catalog.json', catalogOf('big'))]);
    const { code, messages, stderr } = await result;
    expect(code).toBe(1);
    const errors = messages.filter((message) => message.type === 'TRACE' && message.trace.type === 'ERROR');
    expect(errors).toHaveLength(1);
    const error = errors[0]!.trace.error;
    expect(error.failure_type).toBe('config_error');
    expect(error.message).toMatch(
      new RegExp(
        `^No space left to stage s3://${BUCKET}/${key.replace(/\//g, '\\/')}: it needs (3\\.0 MiB|\\d+\\.\\d KiB) and the staging directory ${dir} \\(SOURCE_S3_STAGING_DIR\\) has (\\d+\\.\\d KiB|\\d+ bytes|1\\.0 MiB) free\\. Set SOURCE_S3_STAGING_DIR to a volume`,
      ),
    );
    expect(messages.some((message) => message.type === 'RECORD')).toBe(false);
    expect(stderr).toContain('No space left to stage');
  });

  it('check: FAILED with the same message when a sample does not fit', async () => {
    const config = localConfig({ streams: [{ name: 'big', globs: [key], format: { filetype: 'csv' } }] });
    const { result } = runOnTinyDisk(['check', '--config', writeTempFile('config.json', config)], { SOURCE_S3_SAMPLE_BYTES: String(2 * MiB) });
    const outcome = await result;
    const status = onlyMessage(outcome, 'CONNECTION_STATUS').connectionStatus;
    expect(status.status).toBe('FAILED');
    expect(status.message).toMatch(/No space left to stage s3:\/\/\S+big\.csv: it needs 2\.0 MiB and the staging directory .* \(SOURCE_S3_STAGING_DIR\) has/);
  });
});

describe('a staging directory that cannot be used', () => {
  it('a path through a file is a config_error naming SOURCE_S3_STAGING_DIR', async () => {
    const file = join(work, 'a-file');
    writeFileSync(file, 'not a directory');
    for (const [dir, reason] of [
      [join(file, 'staging'), 'a part of the path is a file, not a directory'],
      [file, 'it is a file, not a directory'],
    ] as const) {
      const result = await runCli(['discover', '--config', writeTempFile('config.json', localConfig())], { env: { SOURCE_S3_STAGING_DIR: dir } });
      expect(result.code).toBe(1);
      expect(onlyMessage(result, 'TRACE').trace.error.message).toBe(
        `The staging directory ${dir} (SOURCE_S3_STAGING_DIR) cannot be used: ${reason}. Set SOURCE_S3_STAGING_DIR to a writable directory with room for the objects being read.`,
      );
    }
  });
});

/** Start time of a process in clock ticks, as /proc shows it (field 22). */
function startTicks(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

const self = {
  bootId: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
  pidNamespace: readlinkSync('/proc/self/ns/pid'),
  host: hostname(),
};

/** A folder as a run of the connector leaves it, with an owner record and a staged file. */
function stagingFolder(parent: string, name: string, owner: Record<string, unknown> | string | undefined): string {
  const dir = join(parent, name);
  mkdirSync(dir, { mode: 0o700 });
  writeFileSync(join(dir, '7-data.parquet'), Buffer.alloc(64 * 1024));
  if (owner !== undefined) writeFileSync(join(dir, '.owner'), typeof owner === 'string' ? owner : JSON.stringify({ kind: 'source-s3 staging', ...self, ...owner }));
  return dir;
}

/** The PID of a process that has exited (and been reaped). */
function deadPid(): number {
  const child = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' });
  return Number(child.stdout.trim());
}

describe('staging folders left by killed runs', () => {
  it('are removed by the next run when their owner is provably gone, and only then', async () => {
    const parent = mkdtempSync(join(work, 'parent-'));
    const live = spawn('sleep', ['600'], { stdio: 'ignore' });
    try {
      const livePid = live.pid!;
      const dead = deadPid();
      const removed = [
        stagingFolder(parent, 'source-s3-dead01', { pid: dead, startTicks: '12345' }),
        // The PID is alive but started later than the owner: it was reused.
        stagingFolder(parent, 'source-s3-reuse1', { pid: livePid, startTicks: String(Number(startTicks(livePid)) - 1) }),
        // Same host, another boot: every process of that boot is gone.
        stagingFolder(parent, 'source-s3-boot01', { pid: livePid, startTicks: startTicks(livePid), bootId: '00000000-0000-0000-0000-000000000000', pidNamespace: 'pid:[1]' }),
      ];
      const target = mkdtempSync(join(work, 'link-target-'));
      writeFileSync(join(target, '.owner'), JSON.stringify({ kind: 'source-s3 staging', ...self, pid: dead, startTicks: '1' }));
      symlinkSync(target, join(parent, 'source-s3-link01'));
      const kept = [
        stagingFolder(parent, 'source-s3-alive1', { pid: livePid, startTicks: startTicks(livePid) }),
        // Another container (PID namespace): its PIDs cannot be checked from here.
        stagingFolder(parent, 'source-s3-ns0001', { pid: dead, startTicks: '1', pidNamespace: 'pid:[4026599999]' }),
        // Another machine sharing the volume.
        stagingFolder(parent, 'source-s3-host01', { pid: dead, startTicks: '1', bootId: '11111111-1111-1111-1111-111111111111', host: 'another-host' }),
        // Not made by us, or not finished being made: no record, or not ours.
        stagingFolder(parent, 'source-s3-norec1', undefined),
        stagingFolder(parent, 'source-s3-junk01', '{"pid": 1'),
        stagingFolder(parent, 'source-s3-other1', { kind: 'something else', pid: dead, startTicks: '1' }),
        // Not one of our names.
        stagingFolder(parent, 'source-s3-cli-abcdef', { pid: dead, startTicks: '1' }),
        stagingFolder(parent, 'my-source-s3-dead01', { pid: dead, startTicks: '1' }),
      ];
      const result = await runCli(['check', '--config', writeTempFile('config.json', localConfig({ streams: [{ name: 'p', globs: [FIXTURES.peopleCsv] }] }))], {
        env: { SOURCE_S3_STAGING_DIR: parent },
      });
      expect(onlyMessage(result, 'CONNECTION_STATUS').connectionStatus.status).toBe('SUCCEEDED');
      expect(result.stderr).toBe('');
      for (const dir of removed) expect(existsSync(dir), `${dir} removed`).toBe(false);
      for (const dir of kept) expect(readdirSync(dir), `${dir} kept whole`).toContain('7-data.parquet');
      expect(readdirSync(target)).toEqual(['.owner']);
      expect(readdirSync(parent).sort()).toEqual([...kept.map((dir) => dir.slice(parent.length + 1)), 'source-s3-link01'].sort());
    } finally {
      live.kill();
    }
  });

  it('a run killed with SIGKILL leaves its folder; a concurrent run keeps it, the next run after the kill removes it', async () => {
    // A server that accepts connections and never answers keeps the first run busy with its folder made.
    const sockets: Socket[] = [];
    const blackHole: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    const address = blackHole.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const parent = mkdtempSync(join(work, 'killed-'));
    const stuck = spawn(process.execPath, [CLI, 'discover', '--config', writeTempFile('config.json', localConfig({ endpoint: `http://127.0.0.1:${port}` }))], {
      env: cleanEnv({ SOURCE_S3_STAGING_DIR: parent }),
      stdio: 'ignore',
    });
    try {
      const deadline = Date.now() + 30_000;
      while (!(readdirSync(parent).length > 0 && sockets.length > 0)) {
        if (Date.now() > deadline) throw new Error('the first run never made its staging folder');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const [folder] = readdirSync(parent);
      expect(folder).toMatch(/^source-s3-\w{6}$/);
      const owner = JSON.parse(readFileSync(join(parent, folder!, '.owner'), 'utf8'));
      expect(owner).toMatchObject({ kind: 'source-s3 staging', pid: stuck.pid, startTicks: startTicks(stuck.pid!), ...self });

      const config = writeTempFile('config.json', localConfig({ streams: [{ name: 'p', globs: [FIXTURES.peopleCsv] }] }));
      const concurrent = await runCli(['check', '--config', config], { env: { SOURCE_S3_STAGING_DIR: parent } });
      expect(onlyMessage(concurrent, 'CONNECTION_STATUS').connectionStatus.status).toBe('SUCCEEDED');
      expect(readdirSync(parent)).toEqual([folder]);

      stuck.kill('SIGKILL');
      await new Promise((resolve) => stuck.once('close', resolve));
      expect(readdirSync(parent)).toEqual([folder]);

      const next = await runCli(['check', '--config', config], { env: { SOURCE_S3_STAGING_DIR: parent } });
      expect(onlyMessage(next, 'CONNECTION_STATUS').connectionStatus.status).toBe('SUCCEEDED');
      expect(readdirSync(parent)).toEqual([]);
    } finally {
      stuck.kill('SIGKILL');
      for (const socket of sockets) socket.destroy();
      blackHole.close();
    }
  });
});
