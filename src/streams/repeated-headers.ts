import type { CsvColumn, CsvDialect } from '../engine/csv-dialect.js';
import { sqlIdentifier, sqlString } from '../engine/sql.js';
import { schemaShape, type JsonSchema } from '../engine/types.js';

/**
 * A header line again in the middle of a file (exports concatenated) is not a
 * row. When a column is typed, it fails to parse like any malformed row; when
 * every column is read as text it would parse, so it must be looked for.
 * What to do about it, for the columns a CSV file is read with:
 * - 'none': nothing (no header, or typed columns that fail on it);
 * - 'leave-out': filter it out silently (every catalog type is not text, as today's per-file path does);
 * - 'count': count it, and fail the stream or (on_error skip) leave it out and warn.
 */
export type RepeatedHeaderCheck = { kind: 'none' } | { kind: 'leave-out' | 'count'; isHeader: string };

export function repeatedHeaderCheck(dialect: CsvDialect | undefined, columns: CsvColumn[] | undefined, targets: JsonSchema[]): RepeatedHeaderCheck {
  if (dialect === undefined || columns === undefined || !dialect.header || columns.length === 0) return { kind: 'none' };
  // Columns read in DuckDB's own types (no catalog columns): a repeated header cannot parse as, say, an
  // integer, so it fails the read like any malformed row; comparing it would fail on the cast instead.
  if (!columns.every((column) => column.type.kind === 'primitive' && column.type.name === 'VARCHAR')) return { kind: 'none' };
  const isHeader = columns.map((column) => `${sqlIdentifier(column.name)} IS NOT DISTINCT FROM ${sqlString(column.name)}`).join(' AND ');
  // Typed catalog columns: a repeated header is left out without a second pass over the file.
  return { kind: targets.every((target) => schemaShape(target) === 'string::') ? 'count' : 'leave-out', isHeader };
}

/** `where` and "not a repeated header". */
export function withoutHeaders(isHeader: string, where: string | undefined): string {
  return `NOT (${isHeader})${where === undefined ? '' : ` AND ${where}`}`;
}
