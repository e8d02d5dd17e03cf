import { readFileSync } from 'node:fs';

export type Invocation =
  | { command: 'version'; version: string }
  | { command: 'spec' }
  | { command: 'check' | 'discover'; config: string }
  | { command: 'read'; config: string; catalog: string; state?: string }
  | { command: 'query'; config: string; sql: string; limit: number; format: 'table' | 'json' };

/** A command line that cannot be run; `message` says what is wrong. */
export class UsageError extends Error {
  readonly usage: string;
  constructor(message: string, usage: string) {
    super(message);
    this.name = 'UsageError';
    this.usage = usage;
  }
}

/** The package's version (src/ and dist/ sit one level below package.json). */
export function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

const configOption = { type: 'string', describe: 'Path to the config JSON (see `spec`)', demandOption: true, requiresArg: true } as const;

async function parser(args: string[]) {
  const { default: yargs } = await import('yargs');
  return yargs(args)
    .scriptName('source-s3')
    .usage('$0 <command> [options]\n\nAirbyte source for Amazon S3 and S3-compatible stores. Prints Airbyte protocol messages on stdout.')
    .command('spec', 'Print the connector specification')
    .command('check', 'Check the config, credentials, bucket and that each stream has a readable file', (y) => y.option('config', configOption))
    .command('discover', 'Print the catalog of streams and their schemas', (y) => y.option('config', configOption))
    .command('read', 'Read records from the configured streams', (y) =>
      y
        .option('config', configOption)
        .option('catalog', { type: 'string', describe: 'Path to the configured catalog JSON', demandOption: true, requiresArg: true })
        .option('state', { type: 'string', describe: 'Path to the state JSON from a previous read', requiresArg: true }),
    )
    .command('query', 'Preview a model query: its first rows, column types, and what was fetched', (y) =>
      y
        .option('config', configOption)
        .option('sql', { type: 'string', describe: "One SELECT over s3:// URLs, e.g. \"SELECT * FROM 's3://bucket/data/*.parquet'\"", demandOption: true, requiresArg: true })
        .option('limit', { type: 'number', describe: 'Rows to show', default: 50 })
        .option('format', { choices: ['table', 'json'] as const, describe: 'A table for people, or JSON lines', default: 'table' as const }),
    )
    .demandCommand(1, 1, 'Give one command: spec, check, discover or read.', 'Give only one command.')
    .strict()
    .help()
    .alias('help', 'h')
    .version('version', 'Print the version (plain text on stdout) and exit', packageVersion())
    .exitProcess(false)
    .wrap(Math.min(100, process.stderr.columns ?? 100))
    .fail((message, error) => {
      throw error ?? new Error(message);
    });
}

/** The options each protocol command takes, and which of them it requires. */
const PROTOCOL_OPTIONS: Record<string, { allowed: string[]; required: string[] }> = {
  spec: { allowed: [], required: [] },
  check: { allowed: ['config'], required: ['config'] },
  discover: { allowed: ['config'], required: ['config'] },
  read: { allowed: ['config', 'catalog', 'state'], required: ['config', 'catalog'] },
};

/**
 * The command lines orchestrators send (`read --config C --catalog K --state S`), parsed
 * without yargs: loading it cost ~60 ms of every start. Anything else (help, version, query,
 * a typo, an option repeated, unknown or without a value) is left to yargs, which answers
 * it as before.
 */
export function simpleInvocation(args: string[]): Invocation | undefined {
  const [command, ...rest] = args;
  const options = command === undefined ? undefined : PROTOCOL_OPTIONS[command];
  if (options === undefined) return undefined;
  const values = new Map<string, string>();
  for (let i = 0; i < rest.length; i++) {
    const option = /^--([a-z]+)(?:=(.*))?$/s.exec(rest[i]!);
    if (option === null || !options.allowed.includes(option[1]!) || values.has(option[1]!)) return undefined;
    const value = option[2] ?? rest[++i];
    if (value === undefined || value === '' || value.startsWith('-')) return undefined;
    values.set(option[1]!, value);
  }
  if (options.required.some((name) => !values.has(name))) return undefined;
  const config = values.get('config')!;
  const state = values.get('state');
  switch (command) {
    case 'check':
    case 'discover':
      return { command, config };
    case 'read':
      return { command, config, catalog: values.get('catalog')!, ...(state === undefined ? {} : { state }) };
    default:
      return { command: 'spec' };
  }
}

/** Parses argv; returns undefined when yargs handled it itself (--help). */
const COMMANDS = ['spec', 'check', 'discover', 'read', 'query'];

export async function parseInvocation(args: string[], printHelp: (text: string) => void): Promise<Invocation | undefined> {
  return simpleInvocation(args) ?? parseWithYargs(args, printHelp);
}

/** Every command line, the way yargs reads it (help, version and usage errors included). */
export async function parseWithYargs(args: string[], printHelp: (text: string) => void): Promise<Invocation | undefined> {
  const instance = await parser(args);
  const first = args[0];
  if (first !== undefined && !first.startsWith('-') && !COMMANDS.includes(first)) {
    throw new UsageError(`Unknown command "${first}". Commands: ${COMMANDS.join(', ')}.`, await instance.getHelp());
  }
  let parsed;
  let helpShown = false;
  let versionShown: string | undefined;
  try {
    parsed = await instance.parse(args, {}, (_error, _argv, output) => {
      if (output === '') return;
      if (args.includes('--help') || args.includes('-h')) {
        helpShown = true;
        printHelp(output);
      } else if (args.includes('--version')) {
        versionShown = output;
      }
    });
  } catch (error) {
    let message = error instanceof Error ? error.message : String(error);
    // SQL starting with a `--` comment reads as an option: it has to be joined to its flag.
    if (/following: sql$/.test(message)) message += '. SQL that starts with "--" (a comment) must be given as --sql="<sql>"';
    throw new UsageError(/[.!?]$/.test(message) ? message : `${message}.`, await instance.getHelp());
  }
  if (helpShown) return undefined;
  if (versionShown !== undefined) return { command: 'version', version: versionShown };
  for (const option of ['config', 'catalog', 'state', 'sql', 'limit', 'format']) {
    if (Array.isArray(parsed[option])) throw new UsageError(`--${option} was given more than once.`, await instance.getHelp());
  }
  const command = String(parsed._[0]);
  switch (command) {
    case 'spec':
      return { command };
    case 'check':
    case 'discover':
      return { command, config: String(parsed.config) };
    case 'read':
      return {
        command,
        config: String(parsed.config),
        catalog: String(parsed.catalog),
        ...(parsed.state === undefined ? {} : { state: String(parsed.state) }),
      };
    case 'query': {
      const limit = Number(parsed.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a whole number of rows, 1 or more.', await instance.getHelp());
      return { command, config: String(parsed.config), sql: String(parsed.sql), limit, format: parsed.format === 'json' ? 'json' : 'table' };
    }
    default:
      throw new UsageError(`Unknown command "${command}". Commands: ${COMMANDS.join(', ')}.`, await instance.getHelp());
  }
}
