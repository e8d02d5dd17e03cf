import type { Engine } from './engine.js';
import { losslessParse, losslessStringify, numberOf } from './lossless-json.js';
import { sqlString } from './sql.js';

/** A model query that breaks a rule; the message completes "the model query ..." and names the offending part. */
export class QueryRuleError extends Error {}

/** A node of DuckDB's JSON syntax tree (json_serialize_sql), numbers kept as exact text. */
export type TreeNode = Record<string, unknown>;

export function isNode(value: unknown): value is TreeNode {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** DuckDB's syntax tree of `sql` (numbers kept exact), or its parse error. */
export async function serializeSql(engine: Engine, sql: string): Promise<TreeNode> {
  const [row] = await engine.all(`SELECT json_serialize_sql(${sqlString(sql)}) AS "ast"`);
  try {
    return losslessParse(String(row?.ast)) as TreeNode;
  } catch {
    // DuckDB writes an overflowing literal (1e999) as a bare Infinity, which is not JSON.
    throw new QueryRuleError('has a number too large for DuckDB to describe exactly (such as 1e999); write it as a smaller literal or a CAST');
  }
}

/** The SQL DuckDB writes for a syntax tree. Never run it unchecked: the writer does not always round-trip. */
export async function deserializeSql(engine: Engine, tree: TreeNode): Promise<string> {
  const [row] = await engine.all(`SELECT json_deserialize_sql(${sqlString(losslessStringify(tree))}::JSON) AS "sql"`);
  return String(row?.sql);
}

export function lineAndColumn(sql: string, position: number): string {
  const before = sql.slice(0, position);
  return `at line ${before.split('\n').length}, column ${position - before.lastIndexOf('\n')}`;
}

/** " (at line L, column C)" for a node that knows where it was written in `sql`, else "". */
export function where(node: TreeNode, sql: string): string {
  const location = numberOf(node.query_location);
  return Number.isFinite(location) && location < sql.length ? ` (${lineAndColumn(sql, location)})` : '';
}

/** Two trees are the same query when they are equal but for where things were written. */
export function sameTree(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, index) => sameTree(item, b[index]));
  }
  if (isNode(a) || isNode(b)) {
    if (!isNode(a) || !isNode(b)) return false;
    const keys = (node: TreeNode) => Object.keys(node).filter((key) => key !== 'query_location');
    const aKeys = keys(a);
    const bKeys = keys(b);
    return aKeys.length === bKeys.length && aKeys.every((key) => Object.hasOwn(b, key) && sameTree(a[key], b[key]));
  }
  return a === b;
}

/** A name as DuckDB compares it: identifiers and function names fold case in ASCII only (U+212A, the Kelvin sign, is not a k). */
export function asciiLower(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => letter.toLowerCase());
}
