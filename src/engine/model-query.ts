import type { Engine } from './engine.js';
import { sqlString } from './sql.js';
import { losslessParse, losslessStringify, numberOf } from './lossless-json.js';

/** Table functions that read files: their first argument must be s3:// URLs, which are staged and rewritten. */
const FILE_READERS = new Set([
  'read_csv',
  'read_csv_auto',
  'read_parquet',
  'parquet_scan',
  'read_json',
  'read_json_auto',
  'read_ndjson',
  'read_ndjson_auto',
]);
/** Scalar functions that would show the engine's settings or state: a model query has no use for them. */
const REFUSED_FUNCTIONS = new Set(['current_setting', 'getvariable', 'write_log', 'getenv']);
/** Reader options that would leave tables behind in the shared engine. */
const REFUSED_READER_OPTIONS = new Set(['store_rejects', 'rejects_table', 'rejects_scan', 'rejects_limit']);
/** Table functions that touch no file and may appear in a model query. */
const SAFE_TABLE_FUNCTIONS = new Set(['range', 'generate_series', 'unnest']);

/** An s3:// URL in the query, and how to put a local path in its place. */
export interface QueryReference {
  url: string;
  /** The reader it is given to (read_csv, ...), or undefined for `FROM 's3://...'`. */
  reader?: string;
  /** Puts local files in place of the URL: always a list of paths (one element for a single object). */
  replace(localPaths: string[]): void;
}

export interface ParsedQuery {
  ast: Record<string, unknown>;
  references: QueryReference[];
}

/** A model query that breaks a rule; the message names the offending part. */
export class QueryRuleError extends Error {}

/**
 * Parses a model query with DuckDB's own parser (json_serialize_sql) and finds
 * every s3:// reference in it: `FROM 's3://...'` and the first argument of the
 * file readers (a URL or a list of them). Anything else that names a file (a
 * local path, another scheme, another table function) breaks a rule: the
 * query is refused before any file is fetched.
 */
export async function parseModelQuery(engine: Engine, sql: string): Promise<ParsedQuery> {
  const [row] = await engine.all(`SELECT json_serialize_sql(${sqlString(sql)}) AS "ast"`);
  const parsed = losslessParse(String(row?.ast)) as Record<string, unknown>;
  if (parsed.error === true) {
    const message = String(parsed.error_message ?? 'cannot be parsed');
    if (/Only SELECT/i.test(message)) {
      const keyword = /^\s*([A-Za-z]+)/.exec(sql)?.[1]?.toUpperCase() ?? 'the statement';
      throw new QueryRuleError(`must be one SELECT statement; ${keyword} is not allowed`);
    }
    const position = numberOf(parsed.position);
    throw new QueryRuleError(`has a SQL syntax error${Number.isFinite(position) ? ` ${lineAndColumn(sql, position)}` : ''}: ${message}`);
  }
  const statements = parsed.statements as unknown[];
  if (statements.length !== 1) throw new QueryRuleError(`must be exactly one SELECT statement (found ${statements.length})`);
  const references: QueryReference[] = [];
  visit(parsed, (node) => collect(node, references, sql));
  return { ast: parsed, references };
}

/** The SQL of the (edited) syntax tree. TEMPORARY: the rules branch verifies the rendering. */
export async function renderCheckedQuery(engine: Engine, parsed: ParsedQuery): Promise<string> {
  const [row] = await engine.all(`SELECT json_deserialize_sql(${sqlString(losslessStringify(parsed.ast))}::JSON) AS "sql"`);
  return String(row?.sql);
}

function lineAndColumn(sql: string, position: number): string {
  const before = sql.slice(0, position);
  return `at line ${before.split('\n').length}, column ${position - before.lastIndexOf('\n')}`;
}

function visit(node: unknown, action: (node: Record<string, unknown>) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) visit(item, action);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  action(node as Record<string, unknown>);
  for (const value of Object.values(node)) visit(value, action);
}

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
const LOOKS_LIKE_PATH = /[/\\~]|\.(csv|tsv|txt|parquet|json|jsonl|ndjson|gz|zst|db|duckdb)$/i;

function where(node: Record<string, unknown>, sql: string): string {
  const location = numberOf(node.query_location);
  return Number.isFinite(location) && location < sql.length ? ` (${lineAndColumn(sql, location)})` : '';
}

function collect(node: Record<string, unknown>, references: QueryReference[], sql: string): void {
  if (node.class === 'FUNCTION' && REFUSED_FUNCTIONS.has(String(node.function_name).toLowerCase())) {
    throw new QueryRuleError(`uses function ${String(node.function_name)}()${where(node, sql)}, which is not allowed`);
  }
  if (node.type === 'BASE_TABLE') {
    const name = String(node.table_name ?? '');
    if (/^s3:\/\//i.test(name)) {
      references.push({ url: name, replace: (paths) => (node.table_name = paths[0]) });
    } else if (SCHEME.test(name)) {
      throw new QueryRuleError(`reads "${name}"${where(node, sql)}, which is not an s3:// URL; only s3:// URLs of the configured bucket can be read`);
    } else if (LOOKS_LIKE_PATH.test(name)) {
      throw new QueryRuleError(`reads "${name}"${where(node, sql)}, a local path; only s3:// URLs of the configured bucket can be read`);
    }
    return;
  }
  if (node.type !== 'TABLE_FUNCTION') return;
  const fn = node.function as Record<string, unknown> | undefined;
  const name = String(fn?.function_name ?? '').toLowerCase();
  if (SAFE_TABLE_FUNCTIONS.has(name)) return;
  if (!FILE_READERS.has(name)) {
    throw new QueryRuleError(`uses table function ${name}()${where(node, sql)}, which is not allowed (allowed: ${[...FILE_READERS, ...SAFE_TABLE_FUNCTIONS].join(', ')})`);
  }
  const args = (fn?.children ?? []) as Record<string, unknown>[];
  for (const option of args.slice(1)) {
    const optionName = String(((option.left as Record<string, unknown> | undefined)?.column_names as unknown[] | undefined)?.[0] ?? '').toLowerCase();
    if (option.class === 'COMPARISON' && REFUSED_READER_OPTIONS.has(optionName)) {
      throw new QueryRuleError(`sets ${name}(${optionName})${where(node, sql)}, which is not allowed (to skip bad rows use ignore_errors = true)`);
    }
  }
  const first = args[0];
  const constants = first === undefined ? [] : first.class === 'CONSTANT' ? [first] : first.class === 'FUNCTION' && first.function_name === 'list_value' ? (first.children as Record<string, unknown>[]) : [];
  const urls = constants.map((constant) => (constant.class === 'CONSTANT' ? (constant.value as Record<string, unknown>)?.value : undefined));
  if (constants.length === 0 || urls.some((url) => typeof url !== 'string')) {
    throw new QueryRuleError(`must give ${name}()${where(node, sql)} an s3:// URL or a list of them, written out as text`);
  }
  constants.forEach((constant, index) => {
    const url = urls[index] as string;
    if (!/^s3:\/\//i.test(url)) {
      throw new QueryRuleError(`reads '${url}' with ${name}()${where(node, sql)}: local paths and other schemes are not allowed, only s3:// URLs of the configured bucket`);
    }
    references.push({ url, reader: name, replace: (paths) => ((constant.value as Record<string, unknown>).value = paths[0]) });
  });
}
