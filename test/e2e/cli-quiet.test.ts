import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTING_NAMES } from '../../src/settings.js';
import { CLI, cleanEnv, localConfig, onlyMessage, runCli, writeTempFile, type CliResult } from '../support/cli.js';
import { FIXTURES } from '../support/fixtures.js';
import { configuredCatalog, discoverStreams } from '../support/read.js';

const ROOT = join(import.meta.dirname, '..', '..');
const config = localConfig({ streams: [{ name: 'people', globs: [FIXTURES.peopleCsv], format: { filetype: 'csv' } }] });

function errorTrace(result: CliResult): { message: string; failure_type: string } {
  return onlyMessage(result, 'TRACE').trace.error;
}

describe('a successful command writes nothing to stderr', () => {
  // On Node 20 the AWS SDK prints an 8-line warning on every command unless told not to.
  it('runs on the Node version this test checks (20 warns, 22 does not: both must be quiet)', () => {
    expect(process.version).toMatch(/^v(20|22)\./);
  });

  it('spec', async () => {
    const result = await runCli(['spec']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
  });

  it('check', async () => {
    const result = await runCli(['check', '--config', writeTempFile('config.json', config)]);
    expect(onlyMessage(result, 'CONNECTION_STATUS').connectionStatus.status).toBe('SUCCEEDED');
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
  });

  it('discover, read, and an incremental read with state', async () => {
    const discovered = await runCli(['discover', '--config', writeTempFile('config.json', config)]);
    expect(discovered.code).toBe(0);
    expect(discovered.stderr).toBe('');
    const catalog = configuredCatalog(onlyMessage(discovered, 'CATALOG').catalog.streams, { sync_mode: 'incremental', cursor_field: ['_ab_source_file_last_modified'] });
    const args = ['read', '--config', writeTempFile('config.json', config), '--catalog', writeTempFile('catalog.json', catalog)];
    const first = await runCli(args);
    expect(first.code).toBe(0);
    expect(first.messages.filter((message) => message.type === 'RECORD')).toHaveLength(50);
    expect(first.stderr).toBe('');
    const states = first.messages.filter((message) => message.type === 'STATE').map((message) => message.state);
    const second = await runCli([...args, '--state', writeTempFile('state.json', states.slice(-1))]);
    expect(second.code).toBe(0);
    expect(second.stderr).toBe('');
  });

  // query is a preview for people: its one-line summary goes to stderr by design, and nothing else.
  it('query --format json: the summary line only', async () => {
    const result = spawnSync(process.execPath, [CLI, 'query', '--config', writeTempFile('config.json', config), '--sql', `SELECT count(*) AS n FROM 's3://${String(config.bucket)}/${FIXTURES.peopleCsv}'`, '--format', 'json'], {
      env: cleanEnv(),
      encoding: 'utf8',
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/"n":"?50"?/);
    expect(result.stderr).toMatch(/^1 row; columns: n BIGINT; fetched 1 object[^\n]*\n$/);
  });

  it('the SDK warning is only switched off, not the stderr of a failure', async () => {
    const result = await runCli(['discover', '--config', writeTempFile('config.json', { ...config, bucket: 'no-such-bucket-here' })]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^source-s3: .*no-such-bucket-here/);
    expect(result.stderr).not.toContain('NodeVersionSupportWarning');
  });
});

describe('--version', () => {
  it('prints the package.json version as plain text on stdout and exits 0', () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const result = spawnSync(process.execPath, [CLI, '--version'], { env: cleanEnv(), encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`${version}\n`);
    expect(result.stderr).toBe('');
  });

  it('is listed in --help', () => {
    const result = spawnSync(process.execPath, [CLI, '--help'], { env: cleanEnv(), encoding: 'utf8' });
    expect(result.stderr).toMatch(/--version\s+Print the version/);
  });
});

/** Every SOURCE_S3_* name mentioned in src/. */
function settingNamesInSource(): Set<string> {
  const names = new Set<string>();
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) {
        if (entry !== 'generated') visit(path);
      } else if (path.endsWith('.ts')) {
        for (const match of readFileSync(path, 'utf8').matchAll(/SOURCE_S3_[A-Z0-9_]+/g)) names.add(match[0]);
        if (!path.endsWith(join('src', 'settings.ts'))) {
          expect(readFileSync(path, 'utf8'), `${path} reads a SOURCE_S3_* variable itself; add it to src/settings.ts`).not.toMatch(/process\.env(\.|\[['"`])SOURCE_S3_/);
        }
      }
    }
  };
  visit(join(ROOT, 'src'));
  return names;
}

/** Values that must be refused, by kind of setting. */
function garbageFor(name: string): string[] {
  if (/MEMORY_LIMIT|MAX_SPILL/.test(name)) return ['abc', '-1', '1.5', '0GB', '1 GBs'];
  if (name === 'SOURCE_S3_STAGING_DIR') return [];
  return ['abc', '-1', '1.5', '1e3', '0x10', '10k'];
}

describe('SOURCE_S3_* settings', () => {
  it('every variable named in src/ is one of the settings module, and the README documents each', () => {
    const names = [...settingNamesInSource()].sort();
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const name of names) expect(SETTING_NAMES, `${name} is used in src/ but not in src/settings.ts`).toContain(name);
    for (const name of SETTING_NAMES) expect(readme, `README documents ${name}`).toMatch(new RegExp(`\\| \`${name}\` \\|`));
    expect(names.length).toBeGreaterThanOrEqual(12);
  });

  it.each(SETTING_NAMES.filter((name) => garbageFor(name).length > 0))('%s set to garbage is a config_error naming it and what it accepts', async (name) => {
    for (const value of garbageFor(name)) {
      const result = await runCli(['discover', '--config', writeTempFile('config.json', config)], { env: { [name]: value } });
      expect(result.code, `${name}=${value}`).toBe(1);
      const error = errorTrace(result);
      expect(error.failure_type).toBe('config_error');
      expect(error.message).toContain(`${name} must be a `);
      expect(error.message).toContain(`(got ${JSON.stringify(value)})`);
      expect(error.message).toMatch(/unset it for the default, \S+/);
      expect(result.messages.some((message) => message.type === 'CATALOG')).toBe(false);
    }
  });

  it('out of range is refused too, and the range is named', async () => {
    const cases: [string, string, string][] = [
      ['SOURCE_S3_CHECKPOINT_RECORDS', '0', 'a whole number of records, 1 or more'],
      ['SOURCE_S3_MAX_ATTEMPTS', '101', 'a whole number of attempts, from 1 to 100'],
      ['SOURCE_S3_SAMPLE_BYTES', '100', 'a whole number of bytes, from 4096 to 67108864'],
      ['SOURCE_S3_DUCKDB_THREADS', '99999999999999999999', 'a whole number of threads, from 1 to 256'],
    ];
    for (const [name, value, accepts] of cases) {
      // check answers with CONNECTION_STATUS FAILED and exits 0, as for any problem a person must fix.
      const result = await runCli(['check', '--config', writeTempFile('config.json', config)], { env: { [name]: value } });
      expect(result.code).toBe(0);
      const status = result.messages.find((message) => message.type === 'CONNECTION_STATUS')?.connectionStatus as { status: string; message: string } | undefined;
      expect(status?.status).toBe('FAILED');
      expect(status?.message).toContain(`${name} must be ${accepts} (got "${value}")`);
    }
  });

  it('lists every bad variable in one message', async () => {
    const result = await runCli(['read', '--config', writeTempFile('config.json', config), '--catalog', writeTempFile('catalog.json', { streams: [] })], {
      env: { SOURCE_S3_HISTORY_MAX: 'lots', SOURCE_S3_DUCKDB_MEMORY_LIMIT: '1 gigabyte' },
    });
    expect(result.code).toBe(1);
    const { message } = errorTrace(result);
    expect(message).toMatch(/^Invalid environment settings: /);
    expect(message).toContain('SOURCE_S3_HISTORY_MAX must be');
    expect(message).toContain('SOURCE_S3_DUCKDB_MEMORY_LIMIT must be a size such as 512MB');
    expect(result.stderr).toContain('SOURCE_S3_HISTORY_MAX');
  });

  it('an empty value means unset, and spaces around a value are ignored', async () => {
    const env = Object.fromEntries(SETTING_NAMES.map((name) => [name, '']));
    const result = await runCli(['check', '--config', writeTempFile('config.json', config)], { env: { ...env, SOURCE_S3_SCHEMA_FILES: ' 3 ' } });
    expect(result.code).toBe(0);
    expect(onlyMessage(result, 'CONNECTION_STATUS').connectionStatus.status).toBe('SUCCEEDED');
    expect(result.stderr).toBe('');
  });

  it('a valid value is used, not only accepted', async () => {
    const streams = await discoverStreams(config);
    const catalog = configuredCatalog(streams, { sync_mode: 'full_refresh' });
    const result = await runCli(['read', '--config', writeTempFile('config.json', config), '--catalog', writeTempFile('catalog.json', catalog)], {
      env: { SOURCE_S3_CHECKPOINT_RECORDS: '10', SOURCE_S3_CHECKPOINT_SECONDS: '0' },
    });
    expect(result.code).toBe(0);
    // 50 rows, a safe point every 10 records inside the file (each printed: no minimum time between STATEs), and one after it.
    expect(result.messages.filter((message) => message.type === 'STATE').length).toBeGreaterThanOrEqual(5);
  });

  it('spec needs no setting, so a bad one does not stop it', async () => {
    const result = await runCli(['spec'], { env: { SOURCE_S3_CHECKPOINT_RECORDS: 'abc' } });
    expect(result.code).toBe(0);
    onlyMessage(result, 'SPEC');
  });
});
