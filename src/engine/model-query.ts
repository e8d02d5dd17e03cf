import type { Engine } from './engine.js';
import { numberOf } from './lossless-json.js';
import { referenceAt, templates, type ParsedQuery } from './model-query-references.js';
import { checkRules, QueryRuleError, type FilePolicy } from './model-query-rules.js';
import { lineAndColumn, serializeSql } from './model-query-tree.js';
import { castDoubleConstants, renderVerified } from './model-query-render.js';
import { fileNamesAsUrls } from './model-query-filename.js';
import { copy } from './model-query-references.js';

export { QueryRuleError } from './model-query-rules.js';
export type { ParsedQuery, QueryReference } from './model-query-references.js';
export { renderCheckedQuery } from './model-query-render.js';


/** Before staging, a query may name s3:// URLs only. */
const S3_URLS: FilePolicy = {
  accepts: (name) => /^s3:\/\//i.test(name),
  refuse(name, at, reader) {
    if (reader !== undefined) return `reads '${name}' with ${reader}()${at}: local paths and other schemes are not allowed, only s3:// URLs of the configured bucket`;
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(name)) return `reads "${name}"${at}, which is not an s3:// URL; only s3:// URLs of the configured bucket can be read`;
    return `reads "${name}"${at}, a local path; only s3:// URLs of the configured bucket can be read`;
  },
};

/**
 * Parses a model query with DuckDB's own parser and checks every rule on its tree: exactly one
 * SELECT; tables only s3:// URLs or WITH names in scope; table functions only the file readers
 * (first argument s3:// URLs written out) and range/generate_series/unnest; no reader option that
 * leaves tables behind, in any syntax; no function that shows the engine's settings. Returns the
 * tree and its s3:// references, to be staged and replaced before renderCheckedQuery.
 */
export async function parseModelQuery(engine: Engine, sql: string): Promise<ParsedQuery> {
  const parsed = await serializeSql(engine, sql);
  if (parsed.error === true) {
    const message = String(parsed.error_message ?? 'cannot be parsed');
    if (parsed.error_type === 'parser') {
      const position = numberOf(parsed.position);
      throw new QueryRuleError(`has a SQL syntax error${Number.isFinite(position) ? ` ${lineAndColumn(sql, position)}` : ''}: ${message}`);
    }
    if (!/Only SELECT/i.test(message)) throw new QueryRuleError(`cannot be read as SQL: ${message}`);
  }
  const statements = Array.isArray(parsed.statements) ? parsed.statements : [];
  // Counted by the parser itself: a second statement after a comment or a string is still one more.
  const count = parsed.error === true || statements.length > 0 ? await engine.statementCount(sql) : 0;
  if (count !== 1) {
    // DuckDB makes a PIVOT without an IN list two statements (one lists the values first).
    const pivot = count === 2 && /^\s*PIVOT\b/i.test(withoutLeadingComments(sql)) ? '; a PIVOT needs its values listed, e.g. ON year IN (2024, 2025)' : '';
    throw new QueryRuleError(`must be exactly one SELECT statement (found ${count}${pivot})`);
  }
  if (parsed.error === true) throw new QueryRuleError(`must be one SELECT statement; ${notSelect(sql)} is not allowed`);
  if (statements.length !== 1) throw new QueryRuleError(`must be exactly one SELECT statement (found ${statements.length})`);

  const sites = checkRules(parsed, sql, S3_URLS);
  const model = await templates(engine);
  const references = sites.map((site) => referenceAt(site, model, sql));
  castDoubleConstants(parsed, model);
  // A query DuckDB cannot write back as itself is refused now, before anything is fetched.
  await renderVerified(engine, parsed, S3_URLS);
  return { ast: parsed, references };
}

/** The keyword of a statement that is not a SELECT, after leading comments, blanks and semicolons. */
function notSelect(sql: string): string {
  const keyword = /^[A-Za-z]+/.exec(withoutLeadingComments(sql))?.[0]?.toUpperCase();
  if (keyword === undefined) return 'the statement';
  // WITH ... INSERT/UPDATE/DELETE: the keyword that matters comes later.
  return keyword === 'WITH' ? 'a WITH statement that is not a SELECT' : keyword;
}

/** `sql` from its first keyword on: leading comments, blanks and semicolons skipped. */
function withoutLeadingComments(sql: string): string {
  let rest = sql;
  for (;;) {
    const next = rest.replace(/^[\s;]+/, '').replace(/^--[^\n]*(\n|$)/, '');
    if (next.startsWith('/*')) rest = skipBlockComment(next);
    else if (next === rest) return rest;
    else rest = next;
  }
}

/** The text after a leading block comment (DuckDB's block comments nest). */
function skipBlockComment(text: string): string {
  let depth = 0;
  for (let index = 0; index < text.length - 1; index++) {
    if (text.startsWith('/*', index)) {
      depth++;
      index++;
    } else if (text.startsWith('*/', index)) {
      depth--;
      index++;
      if (depth === 0) return text.slice(index + 1);
    }
  }
  return '';
}

/**
 * The query (its references already replaced) with every `filename` it names
 * read as the object's s3:// URL; see fileNamesAsUrls. A copy: the query as
 * written stays the one to run when the rewrite does not bind (a data column
 * called filename that is not text). Undefined when the query names no filename.
 */
export async function withFileNamesAsUrls(engine: Engine, parsed: ParsedQuery): Promise<ParsedQuery | undefined> {
  const ast = copy(parsed.ast);
  return fileNamesAsUrls(ast, await templates(engine)) === 0 ? undefined : { ast, references: parsed.references };
}
