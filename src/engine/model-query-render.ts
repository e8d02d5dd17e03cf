import type { Engine } from './engine.js';
import { losslessValue } from './lossless-json.js';
import { copy, type ParsedQuery, type Templates } from './model-query-references.js';
import { checkRules, QueryRuleError, type FilePolicy } from './model-query-rules.js';
import { deserializeSql, isNode, sameTree, serializeSql, type TreeNode } from './model-query-tree.js';

/**
 * Renders the edited tree, then re-parses that text and verifies it: exactly one statement, a
 * SELECT, the same tree as the edited one (but for positions), every rule still kept, and every
 * file it reads one of the local paths given to replace(). DuckDB's SQL writer does not always
 * round-trip (it writes a quoted `"a; b".*` qualifier unquoted), so what runs is checked as what
 * it is, not as what it was meant to be. Run the result as one prepared statement.
 */
export async function renderCheckedQuery(engine: Engine, parsed: ParsedQuery): Promise<string> {
  const staged = new Set<string>();
  for (const reference of parsed.references) {
    if (reference.localPaths === undefined) throw new Error(`${reference.url} was not replaced by local files before rendering`);
    for (const path of reference.localPaths) staged.add(path);
  }
  return renderVerified(engine, parsed.ast, {
    accepts: (name) => staged.has(name),
    refuse: (name, at) => `reads "${name}"${at}, which is not one of its staged files`,
  });
}

/**
 * The SQL DuckDB writes for `tree`, verified as described above, with `files` deciding which
 * file names it may read. parseModelQuery runs it once on the s3:// tree too, so that a query
 * DuckDB cannot write back is refused before anything is fetched.
 */
export async function renderVerified(engine: Engine, tree: TreeNode, files: FilePolicy): Promise<string> {
  const sql = await deserializeSql(engine, tree);
  const hint = rewriteHint(tree);
  let count: number;
  try {
    count = await engine.statementCount(sql);
  } catch {
    throw new QueryRuleError(`cannot be run as checked: DuckDB writes it back as SQL that does not parse${hint}`);
  }
  if (count !== 1) throw new QueryRuleError(`cannot be run as checked: DuckDB writes it back as ${count} statements${hint}`);
  const reparsed = await serializeSql(engine, sql);
  if (reparsed.error === true || !Array.isArray(reparsed.statements) || reparsed.statements.length !== 1) {
    throw new QueryRuleError(`cannot be run as checked: DuckDB writes it back as SQL that is not one SELECT${hint}`);
  }
  if (!sameTree(collapseValuesWrappers(reparsed), collapseValuesWrappers(tree))) {
    throw new QueryRuleError(`cannot be run as checked: DuckDB writes it back as a different query${hint}`);
  }
  try {
    checkRules(reparsed, sql, files);
  } catch (error) {
    if (error instanceof QueryRuleError) throw new QueryRuleError(`cannot be run as checked: as DuckDB writes it back, it ${error.message}`);
    throw error;
  }
  return sql;
}

/**
 * DuckDB writes a DOUBLE constant such as 1e3 as `1000.0`, which reads back as a DECIMAL: the
 * query would compute in another type. `CAST('1000.0' AS DOUBLE)` round-trips and is the same
 * value (the tree holds the shortest text that reads back as that double).
 */
export function castDoubleConstants(tree: unknown, model: Templates): void {
  if (Array.isArray(tree)) {
    tree.forEach((item, index) => {
      if (isDoubleConstant(item)) tree[index] = doubleCast(item, model);
      else castDoubleConstants(item, model);
    });
    return;
  }
  if (!isNode(tree)) return;
  for (const [key, value] of Object.entries(tree)) {
    if (isDoubleConstant(value)) tree[key] = doubleCast(value, model);
    else castDoubleConstants(value, model);
  }
}

function isDoubleConstant(node: unknown): node is TreeNode {
  if (!isNode(node) || node.class !== 'CONSTANT' || !isNode(node.value)) return false;
  const type = node.value.type;
  return isNode(type) && type.id === 'DOUBLE' && node.value.is_null === false;
}

function doubleCast(constant: TreeNode, model: Templates): TreeNode {
  const cast = copy(model.doubleCast);
  cast.alias = constant.alias;
  if (constant.query_location !== undefined) cast.query_location = constant.query_location;
  ((cast.child as TreeNode).value as TreeNode).value = String(losslessValue((constant.value as TreeNode).value));
  return cast;
}

/**
 * DuckDB writes `FROM (VALUES ...)` as `FROM (SELECT * FROM (VALUES ...) AS valueslist)`, one
 * wrapper more at each round trip. `SELECT *` of a values list, named as the list is, is the list
 * itself: such wrappers are taken out of both trees before they are compared.
 */
function collapseValuesWrappers(tree: unknown): unknown {
  if (Array.isArray(tree)) return tree.map(collapseValuesWrappers);
  if (!isNode(tree)) return tree;
  const list = valuesListInside(tree);
  if (list !== undefined) return collapseValuesWrappers(list);
  return Object.fromEntries(Object.entries(tree).map(([key, value]) => [key, collapseValuesWrappers(value)]));
}

const PLAIN_STAR = { class: 'STAR', type: 'STAR', alias: '', relation_name: '', exclude_list: [], replace_list: [], columns: false, expr: null, qualified_exclude_list: [], rename_list: [] };
const PLAIN_SELECT = { type: 'SELECT_NODE', modifiers: [], cte_map: { map: [] }, select_list: [PLAIN_STAR], where_clause: null, group_expressions: [], group_sets: [], aggregate_handling: 'STANDARD_HANDLING', having: null, sample: null, qualify: null };

/** The EXPRESSION_LIST of a `(SELECT * FROM (VALUES ...) AS valueslist) AS valueslist` table, or undefined. */
function valuesListInside(node: TreeNode): TreeNode | undefined {
  if (node.type !== 'SUBQUERY' || node.alias !== 'valueslist' || node.sample !== null || !sameTree(node.column_name_alias, [])) return undefined;
  if (Object.keys(node).some((key) => !['type', 'alias', 'sample', 'subquery', 'column_name_alias', 'query_location'].includes(key))) return undefined;
  const subquery = node.subquery;
  if (!isNode(subquery) || Object.keys(subquery).some((key) => key !== 'node' && key !== 'named_param_map')) return undefined;
  if (subquery.named_param_map !== undefined && !sameTree(subquery.named_param_map, [])) return undefined;
  const select = subquery.node;
  if (!isNode(select) || !isNode(select.from_table) || select.from_table.type !== 'EXPRESSION_LIST' || select.from_table.alias !== 'valueslist') return undefined;
  return sameTree({ ...select, from_table: null }, { ...PLAIN_SELECT, from_table: null }) ? select.from_table : undefined;
}

/** Which part DuckDB is known to write back wrong, to tell the user what to change. */
function rewriteHint(tree: TreeNode): string {
  const qualifiers: string[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (isNode(value)) {
      if (value.class === 'STAR' && typeof value.relation_name === 'string' && value.relation_name !== '' && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(value.relation_name)) {
        qualifiers.push(value.relation_name);
      }
      Object.values(value).forEach(visit);
    }
  };
  visit(tree);
  const [first] = qualifiers;
  if (first === undefined) return '; simplify its quoted names and try again';
  return `: the quoted qualifier "${first.slice(0, 60).replace(/\n/g, ' ')}".* is written back without quotes; give that table a plain alias (letters, digits and _, not a SQL keyword)`;
}
