/** What every suite shares: the loaded acceptance config, the connector, and reading fixtures. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { acceptanceConfigFile, loadAcceptanceConfig, type AcceptanceConfig } from './acceptance-config.js';
import { connectorFromEnv, PROJECT_ROOT, type ConnectorRun } from './connector.js';
import type { Catalog, ConfiguredCatalog } from './records.js';
import type { Json } from './json-walk.js';
import { collectSecretValues } from '../src/config/schema-walk.js';
import { catStyleCatalog } from '../test/support/cat-style.js';

export const acceptance: AcceptanceConfig = loadAcceptanceConfig(acceptanceConfigFile(PROJECT_ROOT), PROJECT_ROOT);
export const connector = connectorFromEnv();

export const readJson = (path: string): Json => JSON.parse(readFileSync(path, 'utf8'));
export const readJsonLines = (path: string): Json[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));

const connectionSpecification = readJson(join(PROJECT_ROOT, 'spec.json')).connectionSpecification;

/** Values in a config under fields the spec marks airbyte_secret: they must never be printed. */
export function secretsOf(config: Json): string[] {
  return collectSecretValues(connectionSpecification, config).filter((value): value is string => typeof value === 'string');
}

/** Runs a command with a config file; the config's secrets are checked against the output. */
export function runWithConfig(command: string, configPath: string, extra: string[] = [], timeoutSeconds?: number, env?: Record<string, string>): Promise<ConnectorRun> {
  return connector.run([command, '--config', configPath, ...extra], {
    secrets: secretsOf(readJson(configPath)),
    ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }),
    ...(env === undefined ? {} : { env }),
  });
}

export function only(run: ConnectorRun, type: string): Json {
  const found = run.messages.filter((message) => message.type === type);
  expect(found, `exactly one ${type} message (stderr: ${run.stderr.slice(0, 500)})`).toHaveLength(1);
  return found[0];
}

export async function discover(configPath: string, timeoutSeconds?: number): Promise<Catalog> {
  const run = await runWithConfig('discover', configPath, [], timeoutSeconds);
  expect(run.exitCode, run.stderr).toBe(0);
  return only(run, 'CATALOG').catalog;
}

/** Writes a configured catalog as CAT does: pydantic's JSON, every unset optional field an explicit null. */
export const writeCatalog = (catalog: Json): string => connector.writeInput('catalog.json', catStyleCatalog(catalog));

export async function read(configPath: string, catalog: ConfiguredCatalog, state?: Json[], timeoutSeconds?: number, env?: Record<string, string>): Promise<ConnectorRun> {
  const args = ['--catalog', writeCatalog(catalog)];
  if (state !== undefined) args.push('--state', connector.writeInput('state.json', state));
  return runWithConfig('read', configPath, args, timeoutSeconds, env);
}

/** The discovered catalog as CAT configures it for basic_read: every stream, full refresh, overwrite. */
export function fullRefreshCatalog(catalog: Catalog): ConfiguredCatalog {
  return {
    streams: catalog.streams.map((stream) => ({
      stream,
      sync_mode: 'full_refresh',
      destination_sync_mode: 'overwrite',
      ...(stream.source_defined_primary_key === undefined ? {} : { primary_key: stream.source_defined_primary_key }),
    })),
  };
}
