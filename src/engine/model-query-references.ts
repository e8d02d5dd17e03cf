import type { Engine } from './engine.js';
import { unreadableFile, unreadableReason } from './query-unreadable.js';
import type { FileSite } from './model-query-rules.js';
import { QueryRuleError } from './model-query-rules.js';
import { isNode, serializeSql, where, type TreeNode } from './model-query-tree.js';

/** An s3:// URL (or glob) in the query, and how to put local files in its place. */
export interface QueryReference {
  /** The s3:// URL (or glob) as written. */
  url: string;
  /** The reader it is given to (read_csv, ...), or undefined for `FROM 's3://...'`. */
  reader?: string;
  /** Puts local files in place of the URL: always a list of paths (one element for a single object). */
  replace(localPaths: string[]): void;
  /** The paths given to replace(), once it was called. */
  readonly localPaths?: readonly string[];
}

/** A checked model query: its syntax tree, and the references to stage and replace before rendering. */
export interface ParsedQuery {
  ast: Record<string, unknown>;
  references: QueryReference[];
}

/** Nodes DuckDB itself serialized, copied when the tree needs a list or a reader call that was not written. */
export interface Templates {
  /** `read_parquet([...]) AS t(...)`: a TABLE_FUNCTION table reference. */
  readerCall: TreeNode;
  /** `[...]`: a list_value call. */
  list: TreeNode;
  /** `'...'`: a VARCHAR constant. */
  text: TreeNode;
  /** `CAST('...' AS DOUBLE)`. */
  doubleCast: TreeNode;
  /** `replace(filename, './s3://', 's3://')`: a staged file's name as its URL. */
  fileNameAsUrl: TreeNode;
}

const templatesByEngine = new WeakMap<Engine, Promise<Templates>>();

/** The nodes as this DuckDB serializes them (fetched once per engine). */
export function templates(engine: Engine): Promise<Templates> {
  let found = templatesByEngine.get(engine);
  if (found === undefined) {
    found = serializeSql(engine, "SELECT CAST('0' AS DOUBLE), replace(filename, './s3://', 's3://') FROM read_parquet(['template'])").then((tree) => {
      const statements = tree.statements as { node: TreeNode }[] | undefined;
      const node = statements?.[0]?.node;
      const readerCall = node?.from_table;
      const doubleCast = (node?.select_list as unknown[] | undefined)?.[0];
      const fileNameAsUrl = (node?.select_list as unknown[] | undefined)?.[1];
      const list = isNode(readerCall) && isNode(readerCall.function) ? (readerCall.function.children as unknown[])[0] : undefined;
      const text = isNode(list) ? (list.children as unknown[])[0] : undefined;
      if (!isNode(readerCall) || !isNode(list) || !isNode(text) || !isNode(doubleCast) || !isNode(fileNameAsUrl)) throw new Error('DuckDB serialized the template query in an unexpected shape');
      return { readerCall, list, text, doubleCast, fileNameAsUrl };
    });
    templatesByEngine.set(engine, found);
  }
  return found;
}

/**
 * The reader DuckDB's replacement scan picks for `FROM '<url>'` by the name's extension, which a
 * glob's list of files needs spelled out.
 */
export function readerForName(url: string): string | undefined {
  const name = (url.split('/').pop() ?? '').toLowerCase().replace(/\.(gz|zst)$/, '');
  if (name.endsWith('.parquet')) return 'read_parquet';
  if (name.endsWith('.csv') || name.endsWith('.tsv')) return 'read_csv_auto';
  if (name.endsWith('.json') || name.endsWith('.jsonl') || name.endsWith('.ndjson')) return 'read_json_auto';
  return undefined;
}

export const isGlob = (url: string): boolean => /[*?[]/.test(url);

/** A deep copy of a template node, without the template's positions. */
export function copy<T>(node: T): T {
  return JSON.parse(JSON.stringify(node, (key, value: unknown) => (key === 'query_location' ? undefined : value))) as T;
}

function textNode(model: Templates, value: string): TreeNode {
  const node = copy(model.text);
  (node.value as TreeNode).value = value;
  return node;
}

function listNode(model: Templates, values: string[]): TreeNode {
  const node = copy(model.list);
  node.children = values.map((value) => textNode(model, value));
  return node;
}

function checkPaths(url: string, localPaths: string[]): void {
  if (localPaths.length === 0) throw new Error(`replace() of ${url} needs at least one path`);
}

/** The reference for a place in the checked tree that names an s3:// URL. */
export function referenceAt(site: FileSite, model: Templates, sql: string): QueryReference {
  const url = site.name;
  if (site.reader !== undefined) return readerReference(site, site.call!, model);
  const reader = readerForName(url);
  const unreadable = unreadableFile(url);
  if (unreadable !== undefined) throw new QueryRuleError(`reads "${url}"${where(site.node, sql)}: ${unreadableReason(unreadable)}`);
  if (isGlob(url) && reader === undefined) {
    throw new QueryRuleError(
      `reads "${url}"${where(site.node, sql)} with FROM, which needs a file extension to pick a reader; end the glob in .parquet, .csv, .json... or use read_parquet()/read_csv()/read_json()`,
    );
  }
  const node = site.node;
  const reference: QueryReference & { localPaths?: string[] } = {
    url,
    replace(localPaths) {
      checkPaths(url, localPaths);
      if (reference.localPaths !== undefined) throw new Error(`${url} was replaced already`);
      reference.localPaths = [...localPaths];
      if (localPaths.length === 1) {
        node.table_name = localPaths[0];
        return;
      }
      if (reader === undefined) throw new QueryRuleError(`reads "${url}" with FROM, which matches several files but names no reader by its extension; use read_parquet()/read_csv()/read_json()`);
      // FROM 'glob' becomes reader([files]) with the table's alias, column aliases and sample kept.
      const call = copy(model.readerCall);
      const fn = call.function as TreeNode;
      fn.function_name = reader;
      fn.children = [listNode(model, localPaths)];
      call.alias = node.alias;
      call.sample = node.sample;
      call.column_name_alias = node.column_name_alias;
      if (node.query_location !== undefined) call.query_location = node.query_location;
      for (const key of Object.keys(node)) delete node[key];
      Object.assign(node, call);
    },
  };
  return reference;
}

function readerReference(site: FileSite, call: TreeNode, model: Templates): QueryReference {
  const constant = site.node;
  const url = site.name;
  const reference: QueryReference & { localPaths?: string[] } = {
    url,
    reader: site.reader,
    replace(localPaths) {
      checkPaths(url, localPaths);
      if (reference.localPaths !== undefined) throw new Error(`${url} was replaced already`);
      reference.localPaths = [...localPaths];
      const args = call.children as TreeNode[];
      if (args[0] === constant) {
        // read_csv('s3://...'): one file stays a text, several become a list.
        if (localPaths.length === 1) (constant.value as TreeNode).value = localPaths[0];
        else args[0] = listNode(model, localPaths);
        return;
      }
      const list = args[0]!.children as TreeNode[];
      list.splice(list.indexOf(constant), 1, ...localPaths.map((path) => textNode(model, path)));
    },
  };
  return reference;
}
