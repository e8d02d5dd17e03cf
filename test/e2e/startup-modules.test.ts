import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../support/fixtures.js';
import { localConfig, runCli, writeTempFile } from '../support/cli.js';
import { configuredCatalog, discoverStreams } from '../support/read.js';

const PRELOAD = join(import.meta.dirname, '..', 'support', 'module-log.mjs');

/** Runs the CLI and returns every module it loaded (paths and URLs). */
async function modulesLoadedBy(args: string[]): Promise<string[]> {
  const log = writeTempFile('modules.log', '');
  const result = await runCli(args, { env: { NODE_OPTIONS: `--import ${PRELOAD}`, SOURCE_S3_TEST_MODULE_LOG: log } });
  expect(result.code, result.stderr).toBe(0);
  return readFileSync(log, 'utf8').split('\n').filter((line) => line !== '');
}

const loads = (modules: string[], name: string) => modules.some((module) => module.includes(`/node_modules/${name}/`));
const compilesSchemas = (modules: string[]) => modules.some((module) => /\/node_modules\/ajv\/dist\/(ajv|core|compile\/index)\.js$/.test(module));

// What each command loads is its fixed cost: what a path does not take must not be loaded.
describe('start-up loads only what the command needs', () => {
  it('spec loads neither DuckDB, the AWS SDK, ajv nor yargs', async () => {
    const modules = await modulesLoadedBy(['spec']);
    expect(modules.some((module) => module.includes('/dist/main.js'))).toBe(true);
    for (const name of ['@duckdb/node-api', '@aws-sdk/client-s3', 'ajv', 'yargs']) expect(loads(modules, name), name).toBe(false);
  });

  it('read with access keys loads DuckDB and S3, but not STS, the credential chain, yargs or the schema compiler', async () => {
    const config = localConfig({ streams: [{ name: 'people', globs: [FIXTURES.peopleCsv], format: { filetype: 'csv' } }] });
    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'full_refresh' });
    const modules = await modulesLoadedBy(['read', '--config', writeTempFile('config.json', config), '--catalog', writeTempFile('catalog.json', catalog)]);
    expect(loads(modules, '@duckdb/node-api')).toBe(true);
    expect(loads(modules, '@aws-sdk/client-s3')).toBe(true);
    for (const name of ['@aws-sdk/client-sts', '@aws-sdk/credential-providers', 'yargs']) expect(loads(modules, name), name).toBe(false);
    expect(compilesSchemas(modules)).toBe(false);
  });

  it('check with access keys does not compile schemas or load yargs', async () => {
    const config = localConfig({ streams: [{ name: 'people', globs: [FIXTURES.peopleCsv], format: { filetype: 'csv' } }] });
    const modules = await modulesLoadedBy(['check', '--config', writeTempFile('config.json', config)]);
    expect(loads(modules, '@aws-sdk/client-s3')).toBe(true);
    expect(loads(modules, 'yargs')).toBe(false);
    expect(compilesSchemas(modules)).toBe(false);
  });

  it('a usage error still gets yargs (and its help)', async () => {
    const log = writeTempFile('modules.log', '');
    const result = await runCli(['check'], { env: { NODE_OPTIONS: `--import ${PRELOAD}`, SOURCE_S3_TEST_MODULE_LOG: log } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--config/);
    expect(loads(readFileSync(log, 'utf8').split('\n'), 'yargs')).toBe(true);
  });
});
