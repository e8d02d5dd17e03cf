import { unreadableReader, unreadableReason } from './query-unreadable.js';
import { asciiLower, isNode, QueryRuleError, where, type TreeNode } from './model-query-tree.js';

export { QueryRuleError } from './model-query-tree.js';

/** Table functions that read files: their first argument must name files, which are staged and rewritten. */
export const FILE_READERS: ReadonlySet<string> = new Set([
  'read_csv',
  'read_csv_auto',
  'read_parquet',
  'parquet_scan',
  'read_json',
  'read_json_auto',
  'read_ndjson',
  'read_ndjson_auto',
]);
/** Table functions that touch no file and show nothing of the engine. */
const SAFE_TABLE_FUNCTIONS: ReadonlySet<string> = new Set(['range', 'generate_series', 'unnest']);
/** Scalar macros DuckDB 1.5 defines over catalog table functions; a unit test checks the list against duckdb_functions(). */
export const CATALOG_READING_MACROS: readonly string[] = ['format_type', 'get_block_size', 'pg_get_constraintdef', 'pg_get_viewdef'];
/**
 * Scalar functions that show the engine's settings, variables, environment or the SQL the connector
 * runs around the query (current_query: the envelope, cursor filters and staged paths), or that
 * write to its log. A model query has no use for them.
 */
export const REFUSED_FUNCTIONS: ReadonlySet<string> = new Set([
  'current_setting',
  'getvariable',
  'getenv',
  'write_log',
  'current_query',
  // Built-in macros that read the catalog (duckdb_*() and pragma_*() table functions) behind a scalar call.
  ...CATALOG_READING_MACROS,
]);
/** Reader options that leave tables behind (the rejects tables); the next query would see them. */
const REFUSED_READER_OPTIONS: ReadonlySet<string> = new Set(['store_rejects', 'rejects_table', 'rejects_scan', 'rejects_limit']);


/** A place in the tree that names a file to read. */
export interface FileSite {
  /** The file's name as the tree holds it (an s3:// URL before staging, a local path after). */
  name: string;
  /** `FROM '...'`: the BASE_TABLE node. A reader: the VARCHAR constant inside its first argument. */
  node: TreeNode;
  /** The reader (lower case) for a reader's argument; undefined for `FROM '...'`. */
  reader?: string;
  /** The reader's call (FUNCTION node), whose first child holds `node` or a list_value of such constants. */
  call?: TreeNode;
}

/** Which file names a tree may read, and how to word a refusal. */
export interface FilePolicy {
  accepts(name: string): boolean;
  /** The message for a name the policy refuses, where `at` is " (at line L, column C)" or "". */
  refuse(name: string, at: string, reader: string | undefined): string;
}

/**
 * Checks every rule on a syntax tree from json_serialize_sql and returns the places that name
 * files (all accepted by `files`). Throws a QueryRuleError for the first rule broken.
 */
export function checkRules(tree: TreeNode, sql: string, files: FilePolicy): FileSite[] {
  const sites: FileSite[] = [];
  walk(tree, new Set(), (node, scope) => checkNode(node, scope, sql, files, sites));
  return sites;
}

/**
 * Visits every node with the CTE names that are in scope there (lower case: DuckDB matches them
 * without case). The scope is exact where it matters: DuckDB binds a name that no CTE in scope
 * defines to its catalog (pg_settings, duckdb_databases, ...).
 * - A WITH's CTEs are visible in the rest of its query and in the bodies of the CTEs after them.
 * - A CTE's body never sees its own name: in `WITH pg_settings AS (SELECT * FROM pg_settings)`
 *   the inner name is the catalog's view. Only the recursive part (right side) of a recursive
 *   CTE sees itself.
 */
function walk(value: unknown, scope: ReadonlySet<string>, action: (node: TreeNode, scope: ReadonlySet<string>) => void): void {
  if (Array.isArray(value)) {
    for (const item of value) walk(item, scope, action);
    return;
  }
  if (!isNode(value)) return;
  action(value, scope);
  let inner = scope;
  const entries = cteEntries(value);
  if (entries.length > 0) {
    const visible = new Set(scope);
    for (const entry of entries) {
      const body = new Set(visible);
      body.delete(entry.name);
      walk(entry.definition, body, action);
      visible.add(entry.name);
    }
    inner = visible;
  }
  for (const [key, child] of Object.entries(value)) {
    if (key === 'cte_map') continue;
    if (value.type === 'RECURSIVE_CTE_NODE' && key === 'right') walk(child, new Set([...inner, asciiLower(String(value.cte_name))]), action);
    else walk(child, inner, action);
  }
}

/** The CTEs a query node defines: the name as written, lower case (as DuckDB matches it), and the definition. */
function cteEntries(node: TreeNode): { written: string; name: string; definition: unknown }[] {
  const map = isNode(node.cte_map) ? node.cte_map.map : undefined;
  if (!Array.isArray(map)) return [];
  return map.filter(isNode).map((entry) => ({ written: String(entry.key), name: asciiLower(String(entry.key)), definition: entry.value }));
}

function checkNode(node: TreeNode, scope: ReadonlySet<string>, sql: string, files: FilePolicy, sites: FileSite[]): void {
  for (const entry of cteEntries(node)) {
    // A CTE named like a path could stand for a staged file once references are rewritten.
    if (entry.name.includes('/')) throw new QueryRuleError(`defines a WITH name "${entry.written}" holding "/"; name it without "/"`);
  }
  if (node.class === 'FUNCTION' && REFUSED_FUNCTIONS.has(asciiLower(String(node.function_name)))) {
    throw new QueryRuleError(`uses function ${String(node.function_name)}()${where(node, sql)}, which is not allowed`);
  }
  if (node.class === 'PARAMETER') {
    throw new QueryRuleError(`has a prepared-statement parameter${where(node, sql)}; a model query is given no parameters, write the value out`);
  }
  if (node.class !== undefined) return;
  switch (node.type) {
    case 'BASE_TABLE':
      return checkTable(node, scope, sql, files, sites);
    case 'TABLE_FUNCTION':
      return checkTableFunction(node, sql, files, sites);
    case 'SHOW_REF':
      throw new QueryRuleError(`uses ${SHOW_KEYWORDS[String(node.show_type)] ?? 'SHOW'}${where(node, sql)}, which is not allowed; a model query reads only s3:// URLs`);
    case 'COLUMN_DATA':
    case 'DELIM_GET':
      throw new QueryRuleError(`uses a ${String(node.type)} table${where(node, sql)}, which is not allowed`);
  }
}

/** The statement a SHOW_REF table came from, by its show_type. */
const SHOW_KEYWORDS: Record<string, string> = { DESCRIBE: 'DESCRIBE', SUMMARY: 'SUMMARIZE' };

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
const LOOKS_LIKE_PATH = /[/\\~]|\.(csv|tsv|txt|parquet|json|jsonl|ndjson|gz|zst|db|duckdb)$/i;

function checkTable(node: TreeNode, scope: ReadonlySet<string>, sql: string, files: FilePolicy, sites: FileSite[]): void {
  const name = String(node.table_name ?? '');
  const schema = String(node.schema_name ?? '');
  const catalog = String(node.catalog_name ?? '');
  const at = where(node, sql);
  const qualified = schema !== '' || catalog !== '';
  if (!qualified && files.accepts(name)) {
    if (node.at_clause !== null && node.at_clause !== undefined) throw new QueryRuleError(`reads "${name}"${at} with an AT clause, which files do not have`);
    sites.push({ name, node });
    return;
  }
  if (!qualified && scope.has(asciiLower(name))) return;
  if (!qualified && (SCHEME.test(name) || LOOKS_LIKE_PATH.test(name))) throw new QueryRuleError(files.refuse(name, at, undefined));
  const full = [catalog, schema, name].filter((part) => part !== '').join('.');
  throw new QueryRuleError(`reads table "${full}"${at}, which is neither an s3:// URL nor a name defined by WITH in scope there`);
}

/** The option a table-function argument sets: `name = v`, `name := v` or `name => v` (DuckDB's three syntaxes). */
function optionName(argument: TreeNode): string | undefined {
  if (typeof argument.alias === 'string' && argument.alias !== '') return asciiLower(argument.alias);
  if (argument.class === 'COMPARISON' && argument.type === 'COMPARE_EQUAL' && isNode(argument.left) && argument.left.class === 'COLUMN_REF') {
    const names = argument.left.column_names;
    if (Array.isArray(names) && names.length === 1) return asciiLower(String(names[0]));
  }
  return undefined;
}

function checkTableFunction(node: TreeNode, sql: string, files: FilePolicy, sites: FileSite[]): void {
  const call = isNode(node.function) ? node.function : {};
  const name = asciiLower(String(call.function_name ?? ''));
  const at = where(node, sql);
  if (SAFE_TABLE_FUNCTIONS.has(name)) return;
  const unreadable = unreadableReader(name);
  if (unreadable !== undefined) throw new QueryRuleError(`uses ${name}()${at}, a reader of ${unreadableReason(unreadable)}`);
  if (!FILE_READERS.has(name)) {
    throw new QueryRuleError(`uses table function ${name}()${at}, which is not allowed (allowed: ${[...FILE_READERS, ...SAFE_TABLE_FUNCTIONS].join(', ')})`);
  }
  const args = (Array.isArray(call.children) ? call.children : []).filter(isNode);
  for (const argument of args) {
    const option = optionName(argument);
    if (option !== undefined && REFUSED_READER_OPTIONS.has(option)) {
      throw new QueryRuleError(`sets ${name}(${option})${at}, which is not allowed (to skip bad rows use ignore_errors = true)`);
    }
  }
  const first = args[0];
  const isList = first !== undefined && first.class === 'FUNCTION' && asciiLower(String(first.function_name)) === 'list_value';
  const constants = first === undefined || optionName(first) !== undefined ? [] : first.class === 'CONSTANT' ? [first] : isList ? (first.children as unknown[]) : [];
  const names = constants.map((constant) => (isNode(constant) && constant.class === 'CONSTANT' && isNode(constant.value) ? constant.value.value : undefined));
  if (constants.length === 0 || names.some((value) => typeof value !== 'string')) {
    throw new QueryRuleError(`must give ${name}()${at} an s3:// URL or a list of them, written out as text, as its first argument`);
  }
  constants.forEach((constant, index) => {
    const file = names[index] as string;
    if (!files.accepts(file)) throw new QueryRuleError(files.refuse(file, at, name));
    sites.push({ name: file, node: constant as TreeNode, reader: name, call });
  });
}
