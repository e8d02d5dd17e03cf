import { spawn } from 'node:child_process';
import { Ajv, type ValidateFunction } from 'ajv';
import { expect } from 'vitest';
import { CLI, cleanEnv, localConfig, onlyMessage, runCli, writeTempFile, type AirbyteMessageLike, type CliResult } from './cli.js';
import { messageErrors } from './protocol.js';
import { StreamState } from '../../src/streams/state.js';

export type Schema = Record<string, any>;

/** Runs discover for the given streams and returns the catalog's streams. */
export async function discoverStreams(config: Record<string, unknown>): Promise<Schema[]> {
  const result = await runCli(['discover', '--config', writeTempFile('config.json', config)]);
  expect(result.code, result.stdout + result.stderr).toBe(0);
  return onlyMessage(result, 'CATALOG').catalog.streams as Schema[];
}

/** A configured catalog selecting every discovered stream. */
export function configuredCatalog(streams: Schema[], mode: { sync_mode: 'full_refresh' | 'incremental'; cursor_field?: string[] }): Schema {
  return {
    streams: streams.map((stream) => ({
      stream,
      sync_mode: mode.sync_mode,
      ...(mode.cursor_field === undefined ? {} : { cursor_field: mode.cursor_field }),
      destination_sync_mode: mode.sync_mode === 'incremental' ? 'append' : 'overwrite',
    })),
  };
}

export interface ReadResult extends CliResult {
  records: Schema[];
  states: Schema[];
}

export async function read(config: Record<string, unknown>, catalog: Schema, state?: unknown, env: Record<string, string> = {}): Promise<ReadResult> {
  const args = ['read', '--config', writeTempFile('config.json', config), '--catalog', writeTempFile('catalog.json', catalog)];
  if (state !== undefined) args.push('--state', writeTempFile('state.json', state));
  const result = await runCli(args, { env });
  return {
    ...result,
    records: result.messages.filter((message) => message.type === 'RECORD').map((message) => message.record),
    states: result.messages.filter((message) => message.type === 'STATE').map((message) => message.state),
  };
}

/** The last STATE message of each stream, as the array form a next read takes. */
export function lastStates(messages: AirbyteMessageLike[]): Schema[] {
  const byStream = new Map<string, Schema>();
  for (const message of messages) if (message.type === 'STATE') byStream.set(message.state.stream.stream_descriptor.name, message.state);
  return [...byStream.values()];
}

/** Asserts every record's data validates against its stream's schema in the catalog. */
export function expectRecordsValid(records: Schema[], catalog: Schema): void {
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addFormat('date', /^\d{4}-\d{2}-\d{2}$/);
  ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/);
  ajv.addFormat('time', /^\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}(:\d{2})?)?$/);
  const validators = new Map<string, ValidateFunction>(catalog.streams.map((configured: Schema) => [configured.stream.name, ajv.compile(configured.stream.json_schema)]));
  for (const record of records) {
    const validate = validators.get(record.stream)!;
    expect(validate(record.data), `${JSON.stringify(record.data).slice(0, 300)}: ${ajv.errorsText(validate.errors)}`).toBe(true);
  }
}

/** localConfig with the given streams. */
export function configWith(streams: unknown[], overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return localConfig({ streams, ...overrides });
}

/** Reads until `stop` says so, then kills the process hard; returns the whole lines it printed. */
export async function readUntilKilled(args: string[], env: Record<string, string>, stop: (message: Schema) => boolean): Promise<Schema[]> {
  const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'ignore'] });
  const messages: Schema[] = [];
  let pending = '';
  let killed = false;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    if (killed) return;
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      const message = JSON.parse(line) as Schema;
      expect(messageErrors(message)).toBe('');
      messages.push(message);
      if (stop(message)) {
        // Stop reading: the child blocks on its full pipe at once, then dies mid-stream.
        killed = true;
        child.stdout.pause();
        child.kill('SIGKILL');
        return;
      }
    }
  });
  await new Promise((resolve) => child.on('close', resolve));
  expect(killed).toBe(true);
  return messages;
}

/** The files a state blob remembers (version 1 or 2), as the connector reads them: key -> last-modified (ISO) and short version. */
export function rememberedFiles(blob: Schema): Record<string, { lastModified: string; version?: string }> {
  const state = StreamState.fromInput('test', blob, blob.cursor_field as string, false);
  return Object.fromEntries([...state.history].map(([key, entry]) => [key, { lastModified: new Date(entry.time).toISOString(), ...(entry.version === undefined ? {} : { version: entry.version }) }]));
}

/** The keys of the files a state blob remembers. */
export function rememberedKeys(blob: Schema): string[] {
  return Object.keys(rememberedFiles(blob));
}
