import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Ajv, Options, ValidateFunction } from 'ajv';
import type { ConfiguredAirbyteCatalog } from '../generated/protocol.js';
import { configError, ConnectorError } from './errors.js';
import { isRecord } from './json-object.js';
import { isEnvelope, normaliseCatalog, normaliseStateMessage } from './lenient-inputs.js';
import { requireCjs } from '../cjs-require.js';
import { precompiledValidators } from '../precompiled-validators.js';

let validators: { catalog: ValidateFunction; state: ValidateFunction } | undefined;

export const PROTOCOL_FORMATS = { uri: (text: string) => URL.canParse(text) };

/** The input validators, by name, as schema ids of protocolAjv. */
export const INPUT_SCHEMAS = {
  catalog: 'protocol#/definitions/ConfiguredAirbyteCatalog',
  state: 'protocol#/definitions/AirbyteStateMessage',
} as const;

/**
 * ajv holding the project's protocol schema (src/protocol and dist/protocol sit two levels below
 * the package root); `extra` lets the build ask for standalone code (scripts/generate-validators.mjs).
 */
export function protocolAjv(extra: Options = {}): Ajv {
  const schema = JSON.parse(readFileSync(new URL('../../schemas/airbyte_protocol.schema.json', import.meta.url), 'utf8')) as Record<string, unknown>;
  const { Ajv } = requireCjs('ajv') as typeof import('ajv');
  const ajv = new Ajv({ strict: false, allErrors: true, ...extra });
  for (const [name, check] of Object.entries(PROTOCOL_FORMATS)) ajv.addFormat(name, check);
  ajv.addSchema(schema, 'protocol');
  return ajv;
}

/** Validators for the inputs: the ones built with the package, else compiled now. */
function inputValidators(): { catalog: ValidateFunction; state: ValidateFunction } {
  if (validators === undefined) {
    const built = precompiledValidators('protocol', PROTOCOL_FORMATS);
    if (built?.catalog !== undefined && built.state !== undefined) {
      validators = { catalog: built.catalog, state: built.state };
    } else {
      const ajv = protocolAjv();
      validators = { catalog: ajv.getSchema(INPUT_SCHEMAS.catalog)!, state: ajv.getSchema(INPUT_SCHEMAS.state)! };
    }
  }
  return validators;
}

/**
 * Reads a JSON input file; errors name the file and never quote its content.
 * A UTF-8 byte order mark (Windows editors and spreadsheet tools write one) is
 * skipped; a UTF-16 file is refused with what to do, not as broken JSON.
 */
export async function readJsonInput(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    const bytes = await readFile(path);
    if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
      throw configError(`The ${what} file ${path} is UTF-16 text; save it as UTF-8 (in Notepad: Save As, Encoding UTF-8).`);
    }
    text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    if (error instanceof ConnectorError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? 'unknown error'})`;
    throw configError(`The ${what} file ${path} ${reason}.`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw configError(`The ${what} file ${path} is not valid JSON${jsonErrorLocation(text, error)}.`);
  }
}

/** Line and column of a JSON syntax error. V8's own message can quote the file's text (secrets), so it is never passed on. */
function jsonErrorLocation(text: string, error: unknown): string {
  if (text.trim() === '') return ': the file is empty';
  const position = /position (\d+)/.exec(error instanceof Error ? error.message : '');
  if (position === null) return /end of JSON/.test(String(error)) ? ': it ends too early (unclosed bracket or string?)' : '';
  const offset = Number(position[1]);
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return ` (syntax error at line ${line}, column ${column})`;
}

const problemsOf = (validate: ValidateFunction) => (validate.errors ?? []).slice(0, 5).map((error) => `${error.instancePath || '(root)'} ${error.message ?? 'is invalid'}`);

/**
 * Reads the configured catalog. Null fields are absent and unknown fields ignored (what Airbyte's
 * tools write); a stream named twice is refused, since it would be read twice.
 */
export async function readConfiguredCatalog(path: string): Promise<ConfiguredAirbyteCatalog> {
  const catalog = normaliseCatalog(await readJsonInput(path, 'catalog'));
  const { catalog: validate } = inputValidators();
  if (!validate(catalog)) {
    throw configError(`The catalog file ${path} is not a configured catalog: ${problemsOf(validate).join('; ')}. Pass the configured catalog (streams with stream, sync_mode, destination_sync_mode).`);
  }
  const configured = catalog as ConfiguredAirbyteCatalog;
  const seen = new Map<string, number>();
  configured.streams.forEach((entry, index) => {
    const first = seen.get(entry.stream.name);
    if (first !== undefined) {
      throw configError(`The catalog file ${path} names stream "${entry.stream.name}" twice (streams[${first}] and streams[${index}]). Keep one entry per stream.`);
    }
    seen.set(entry.stream.name, index);
  });
  return configured;
}

/** Per-stream state blobs by stream name, from any of the state shapes Airbyte has used. */
export type StateByStream = Map<string, unknown>;

/** One JSON value of a state file, with where it sits (for errors): "[2]" in an array, "line 3" in JSON Lines. */
interface StateItem {
  value: unknown;
  at: string;
}

/**
 * Reads the state given to `read`: an array of AirbyteStateMessage of type STREAM (the current form),
 * one such message alone, a LEGACY message ({type: LEGACY, data}), or a bare object keyed by stream
 * name (the oldest). The STATE messages `read` printed are taken as they are, as a JSON array or as
 * the printed lines (JSON Lines, other message types skipped); the last state of a stream wins.
 * Nulls are absent and unknown fields ignored. GLOBAL state belongs to CDC sources; this connector
 * never writes it.
 */
export async function readStateInput(path: string): Promise<StateByStream> {
  const fail = (reason: string) => configError(`The state file ${path} ${reason}. Pass the STATE messages a previous read printed (a JSON array, or the printed lines), or remove --state for a full sync.`);
  const items = await readStateItems(path, fail);
  const states: StateByStream = new Map();
  let skipped = 0;
  for (const { value, at } of items) {
    const where = (reason: string) => fail(`${reason}${at === '' ? '' : ` at ${at}`}`);
    let message = value;
    if (isEnvelope(value)) {
      if (value.type !== 'STATE') {
        skipped += 1;
        continue;
      }
      if (!isRecord(value.state)) throw where('has a STATE message without a state object');
      message = value.state;
    }
    message = normaliseStateMessage(message);
    const { state: validate } = inputValidators();
    if (!isRecord(message) || !validate(message)) throw where(`has an invalid state message (${isRecord(message) ? problemsOf(validate).join('; ') : 'not an object'})`);
    addMessage(message, states, where);
  }
  if (skipped > 0 && states.size === 0) throw fail(`holds ${skipped} Airbyte message${skipped === 1 ? '' : 's'} but no STATE message`);
  return states;
}

/**
 * The state file as a list of items: the elements of an array, the lines of JSON Lines, or one
 * message alone. The oldest shape, a bare object keyed by stream name, becomes one LEGACY message.
 */
async function readStateItems(path: string, fail: (reason: string) => ConnectorError): Promise<StateItem[]> {
  let raw: unknown;
  try {
    raw = await readJsonInput(path, 'state');
  } catch (error) {
    const lines = await readJsonLines(path);
    if (lines === undefined) throw error;
    return lines;
  }
  if (Array.isArray(raw)) return raw.map((value, index) => ({ value, at: `[${index}]` }));
  if (!isRecord(raw)) throw fail('holds neither a list of state messages nor a state object');
  if (isEnvelope(raw) || raw.type === 'STREAM' || raw.type === 'LEGACY' || raw.type === 'GLOBAL' || isRecord(raw.stream)) return [{ value: raw, at: '' }];
  // The oldest shape: { "<stream name>": { ...state } }; a null state is no state.
  const data = Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== null));
  return [{ value: { type: 'LEGACY', data }, at: '' }];
}

/**
 * A state file of JSON Lines (the STATE lines a read printed, or its whole output): one item per
 * non-blank line, or undefined when the file is not JSON Lines (then the JSON error stands).
 */
async function readJsonLines(path: string): Promise<StateItem[] | undefined> {
  let text: string;
  try {
    text = (await readFile(path, 'utf8')).replace(/^\uFEFF/, '');
  } catch {
    return undefined;
  }
  const lines = text.split('\n').map((line, index) => ({ line: line.trim(), number: index + 1 })).filter(({ line }) => line !== '');
  if (lines.length < 2) return undefined;
  const parse = (line: string): unknown => {
    try {
      return JSON.parse(line);
    } catch {
      return undefined;
    }
  };
  // JSON Lines when its first line is a JSON object on its own; a pretty-printed document is not.
  if (!isRecord(parse(lines[0]!.line))) return undefined;
  return lines.map(({ line, number }) => {
    const value = parse(line);
    if (value === undefined) throw configError(`The state file ${path} reads as JSON Lines, but line ${number} is not valid JSON. Pass the STATE lines a previous read printed, one per line.`);
    return { value, at: `line ${number}` };
  });
}

function addMessage(message: Record<string, unknown>, states: StateByStream, fail: (reason: string) => Error): void {
  const type = message.type ?? 'LEGACY';
  if (type === 'GLOBAL') throw fail('holds GLOBAL state, which this connector never writes');
  if (type === 'LEGACY') {
    const data = message.data;
    if (!isRecord(data)) throw fail('holds a LEGACY state without a data object');
    for (const [name, value] of Object.entries(data)) if (value !== null) states.set(name, value);
    return;
  }
  const stream = message.stream as { stream_descriptor?: { name?: unknown }; stream_state?: unknown } | undefined;
  const name = stream?.stream_descriptor?.name;
  if (typeof name !== 'string') throw fail('holds a STREAM state without stream.stream_descriptor.name');
  states.set(name, stream?.stream_state ?? {});
}
