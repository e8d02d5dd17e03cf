import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Ajv, type ValidateFunction } from 'ajv';
import type { ConfiguredAirbyteCatalog } from '../generated/protocol.js';
import { configError, ConnectorError } from './errors.js';

let validators: { catalog: ValidateFunction; state: ValidateFunction } | undefined;

/** Validators for the inputs, from the project's protocol schema (src/protocol and dist/protocol sit two levels below the package root). */
function inputValidators(): { catalog: ValidateFunction; state: ValidateFunction } {
  if (validators === undefined) {
    const schema = JSON.parse(readFileSync(new URL('../../schemas/airbyte_protocol.schema.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    const ajv = new Ajv({ strict: false, allErrors: true });
    ajv.addFormat('uri', (text: string) => URL.canParse(text));
    ajv.addSchema(schema, 'protocol');
    validators = {
      catalog: ajv.getSchema('protocol#/definitions/ConfiguredAirbyteCatalog')!,
      state: ajv.getSchema('protocol#/definitions/AirbyteStateMessage')!,
    };
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

export async function readConfiguredCatalog(path: string): Promise<ConfiguredAirbyteCatalog> {
  const catalog = await readJsonInput(path, 'catalog');
  const { catalog: validate } = inputValidators();
  if (!validate(catalog)) {
    const problems = (validate.errors ?? []).slice(0, 5).map((error) => `${error.instancePath || '(root)'} ${error.message ?? 'is invalid'}`);
    throw configError(`The catalog file ${path} is not a configured catalog: ${problems.join('; ')}. Pass the configured catalog (streams with stream, sync_mode, destination_sync_mode).`);
  }
  return catalog as ConfiguredAirbyteCatalog;
}

/** Per-stream state blobs by stream name, from any of the state shapes Airbyte has used. */
export type StateByStream = Map<string, unknown>;

/**
 * Reads the state given to `read`: an array of AirbyteStateMessage of type
 * STREAM (the current form), one such message alone, a LEGACY message
 * ({type: LEGACY, data}), or a bare object keyed by stream name (the oldest).
 * GLOBAL state belongs to CDC sources; this connector never writes it.
 */
export async function readStateInput(path: string): Promise<StateByStream> {
  const raw = await readJsonInput(path, 'state');
  const states: StateByStream = new Map();
  const fail = (reason: string) => configError(`The state file ${path} ${reason}. Pass the STATE messages a previous read printed, as a JSON array, or remove --state for a full sync.`);
  if (Array.isArray(raw)) {
    raw.forEach((message, index) => {
      const { state: validate } = inputValidators();
      if (!validate(message)) throw fail(`has an invalid state message at [${index}] (${(validate.errors ?? []).map((error) => `${error.instancePath || '(root)'} ${error.message}`).join('; ')})`);
      addMessage(message as Record<string, unknown>, states, (reason) => fail(`${reason} at [${index}]`));
    });
    return states;
  }
  if (raw === null || typeof raw !== 'object') throw fail('holds neither a list of state messages nor a state object');
  const object = raw as Record<string, unknown>;
  if (object.type === 'STREAM' || object.type === 'LEGACY' || object.type === 'GLOBAL' || 'stream' in object && typeof object.stream === 'object') {
    addMessage(object, states, fail);
    return states;
  }
  // The oldest shape: { "<stream name>": { ...state } }.
  for (const [name, value] of Object.entries(object)) states.set(name, value);
  return states;
}

function addMessage(message: Record<string, unknown>, states: StateByStream, fail: (reason: string) => Error): void {
  const type = message.type ?? 'LEGACY';
  if (type === 'GLOBAL') throw fail('holds GLOBAL state, which this connector never writes');
  if (type === 'LEGACY') {
    const data = message.data;
    if (data === null || typeof data !== 'object') throw fail('holds a LEGACY state without a data object');
    for (const [name, value] of Object.entries(data as Record<string, unknown>)) states.set(name, value);
    return;
  }
  const stream = message.stream as { stream_descriptor?: { name?: unknown }; stream_state?: unknown } | undefined;
  const name = stream?.stream_descriptor?.name;
  if (typeof name !== 'string') throw fail('holds a STREAM state without stream.stream_descriptor.name');
  states.set(name, stream?.stream_state ?? {});
}
