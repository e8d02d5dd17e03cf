import { copy, type Templates } from './model-query-references.js';
import { asciiLower, isNode, type TreeNode } from './model-query-tree.js';

/**
 * Makes every `filename` the query names the object's s3:// URL. The readers'
 * `filename` column holds the staged name, `./s3://bucket/key` (DuckDB reads
 * `s3://` only through an extension it does not have here): shown as a URL at
 * output, but compared, measured or hashed as it is, so `filename =
 * 's3://...'` would be false without a word. Each column reference named
 * `filename` becomes `replace(filename, './s3://', 's3://')`; on a column of
 * the data that happens to be called filename it changes nothing (no value
 * holds `./s3://`). A select item keeps its name; a lambda parameter named
 * filename, and a reader's options (`filename = true`), are left alone.
 */
export function fileNamesAsUrls(tree: unknown, model: Templates): number {
  let rewritten = 0;
  const rewrite = (reference: TreeNode, selectItem: boolean) => {
    rewritten++;
    return asUrl(reference, model, selectItem);
  };
  visit(tree, rewrite, false, false);
  return rewritten;
}

type Rewrite = (reference: TreeNode, selectItem: boolean) => TreeNode;

function visit(tree: unknown, rewrite: Rewrite, inSelectList: boolean, shadowed: boolean): void {
  if (Array.isArray(tree)) {
    tree.forEach((item, index) => {
      if (!shadowed && isFileNameReference(item)) tree[index] = rewrite(item, inSelectList);
      else visit(item, rewrite, false, shadowed);
    });
    return;
  }
  if (!isNode(tree)) return;
  // A table function's arguments: options (`filename = true` names the option, not the column) have
  // only their values visited; a subquery given as an argument is visited whole.
  if (tree.type === 'TABLE_FUNCTION' && isNode(tree.function)) {
    for (const argument of (tree.function.children as unknown[] | undefined) ?? []) {
      visit(isNode(argument) && argument.class === 'COMPARISON' ? argument.right : argument, rewrite, false, shadowed);
    }
    return;
  }
  // Inside a lambda whose parameter is called filename, the name is the parameter.
  const lambdaShadows = tree.class === 'LAMBDA' && namesFileName(tree.lhs);
  for (const [key, value] of Object.entries(tree)) {
    if (tree.class === 'LAMBDA' && key === 'lhs') continue;
    const hidden = shadowed || lambdaShadows;
    if (!hidden && isFileNameReference(value)) tree[key] = rewrite(value, false);
    else visit(value, rewrite, key === 'select_list', hidden);
  }
}

function isFileNameReference(node: unknown): node is TreeNode {
  if (!isNode(node) || node.class !== 'COLUMN_REF' || !Array.isArray(node.column_names)) return false;
  return asciiLower(String(node.column_names.at(-1))) === 'filename';
}

/** Whether a lambda's parameter list (one reference, or a row of them) names filename. */
function namesFileName(parameters: unknown): boolean {
  if (isFileNameReference(parameters)) return true;
  return isNode(parameters) && Array.isArray(parameters.children) && parameters.children.some(isFileNameReference);
}

function asUrl(reference: TreeNode, model: Templates, selectItem: boolean): TreeNode {
  const call = copy(model.fileNameAsUrl);
  const children = call.children as unknown[];
  const column = copy(reference);
  column.alias = '';
  children[0] = column;
  // As a select item it keeps the column's name (an outer query may refer to it).
  call.alias = reference.alias !== '' && reference.alias !== undefined ? reference.alias : selectItem ? String((reference.column_names as unknown[]).at(-1)) : '';
  if (reference.query_location !== undefined) call.query_location = reference.query_location;
  return call;
}
