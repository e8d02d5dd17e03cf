import type { SqlRunner } from '../engine/sql-runner.js';
import { cursorExpression, type RecordColumn } from '../engine/record-sql.js';
import { losslessParse, losslessValue } from '../engine/lossless-json.js';
import { sqlString } from '../engine/sql.js';
import { formatDuckType, type DuckType } from '../engine/types.js';
import { stateError, stateValuePreview, type StreamState } from './state.js';

/**
 * Applies a column cursor to one table expression (a file, or a model query):
 * returns the row filter `cursor >= saved value` (rows without a cursor value
 * are new rows too, so they are kept), and raises the state's pending cursor to
 * the largest value that will be emitted. Values are compared by DuckDB in the
 * catalog's type: exact for big numbers, and a stray value is null, not an error.
 *
 * With `boundaryRow` (a model query, which sees all its rows every sync, given
 * as an SQL expression for a whole emitted row), the state also keeps a
 * fingerprint of the rows at the saved value: how many, and the sum of their
 * hashes. When the rows there are the same ones, they were emitted already and
 * the filter is `>`; when any row there changed, came or went, they all come
 * again. So an unchanged source emits nothing, and no row is lost. (Rows
 * without a cursor value come every time; so do NaN and infinite ones, which
 * never become the saved value.)
 */
export async function applyColumnCursor(
  engine: SqlRunner,
  state: StreamState,
  cursor: RecordColumn,
  reader: string,
  run: <T>(work: () => Promise<T>) => Promise<T>,
  options: { boundaryRow?: string } = {},
): Promise<string | undefined> {
  const { expression, type } = cursorExpression(cursor);
  const cursorType = formatDuckType(type);
  await checkStateCursorsFit(engine, state, cursor.name, cursorType);
  const cast = (value: unknown) => `CAST(${sqlLiteral(value)} AS ${cursorType})`;
  const saved = state.cursor === undefined || state.cursor === null ? undefined : cast(state.cursor);
  const atLeastSaved = saved === undefined ? undefined : `(${expression} >= ${saved} OR ${expression} IS NULL)`;
  const pending = state.pendingCursor === undefined || state.pendingCursor === null ? 'NULL' : cast(state.pendingCursor);
  const row = options.boundaryRow;
  // A saved NaN or infinity would be above every later value: such values never become the cursor.
  const finite = hasNonFiniteValues(type) ? ' FILTER (WHERE isfinite("v"))' : '';
  // One pass: the largest value to emit (never below an interrupted sync's), and the rows at the saved value.
  const fingerprintSaved = row !== undefined && saved !== undefined;
  const [stats] = await run(() =>
    engine.all(
      `SELECT CAST(greatest(max("v")${finite}, ${pending}) AS VARCHAR) AS "max"${fingerprintSaved ? `, ${boundarySql(`"v" = ${saved}`)}` : ''}` +
        ` FROM (SELECT ${expression} AS "v"${fingerprintSaved ? `, ${rowHash(row, `${expression} = ${saved}`)}` : ''} FROM ${reader}${atLeastSaved === undefined ? '' : ` WHERE ${atLeastSaved}`})`,
    ),
  );
  const max = typeof stats?.max === 'string' ? stats.max : null;
  state.raisePendingCursor(max);
  if (row === undefined) return atLeastSaved;

  const atSaved = fingerprintSaved ? { rows: Number(stats?.n), hash: String(stats?.h) } : undefined;
  if (max !== null) {
    state.pendingBoundary =
      atSaved !== undefined && max === String(state.cursor)
        ? atSaved
        : await run(async () => {
            // Every row at the new value is emitted, in this sync or an interrupted one: all of them count.
            const [rows] = await engine.all(`SELECT ${boundarySql('true')} FROM (SELECT ${rowHash(row, 'true')} FROM ${reader} WHERE ${expression} = ${cast(max)})`);
            return { rows: Number(rows?.n), hash: String(rows?.h) };
          });
  }
  const unchanged = atSaved !== undefined && state.boundary !== undefined && atSaved.rows === state.boundary.rows && atSaved.hash === state.boundary.hash;
  return saved === undefined ? undefined : `(${expression} ${unchanged ? '>' : '>='} ${saved} OR ${expression} IS NULL)`;
}

/**
 * The state's cursor values must be values of the cursor column's type: otherwise the filter's
 * CAST would fail mid-read and the error would blame the data file. A value that does not cast is
 * the state's fault (edited by hand, or kept for another stream), said as such.
 */
async function checkStateCursorsFit(engine: SqlRunner, state: StreamState, column: string, cursorType: string): Promise<void> {
  const saved: [string, unknown][] = [
    ['cursor', state.cursor],
    ['pending_cursor', state.pendingCursor],
  ];
  const values = saved.filter(([, value]) => value !== undefined && value !== null);
  if (values.length === 0) return;
  const [row] = await engine.all(`SELECT ${values.map(([, value], index) => `TRY_CAST(${sqlLiteral(value)} AS ${cursorType}) IS NOT NULL AS "f${index}"`).join(', ')}`);
  values.forEach(([field, value], index) => {
    if (row?.[`f${index}`] !== true) {
      throw stateError(state.streamName, `has ${field} ${stateValuePreview(value)}, which is not a value of its cursor column "${column}" (${cursorType}); the state does not belong to this stream's data`);
    }
  });
}

/** The hash of a row, computed only for the rows `when` selects (the others pay nothing). */
function rowHash(row: string, when: string): string {
  return `CASE WHEN ${when} THEN hash(${row})::HUGEINT END AS "h"`;
}

/** How many rows match, and the sum of their row hashes: the same rows in any order give the same pair. */
function boundarySql(filter: string): string {
  return `count(*) FILTER (WHERE ${filter}) AS "n", CAST(coalesce(sum("h") FILTER (WHERE ${filter}), 0) AS VARCHAR) AS "h"`;
}

/** Types with NaN or infinite values, which isfinite() tells apart. */
function hasNonFiniteValues(type: DuckType): boolean {
  return type.kind === 'primitive' && ['FLOAT', 'DOUBLE', 'DATE', 'TIMESTAMP', 'TIMESTAMP WITH TIME ZONE', 'TIMESTAMP_S', 'TIMESTAMP_MS', 'TIMESTAMP_NS'].includes(type.name);
}

/**
 * Cursor types whose value in a RECORD line casts back to the same value: a read ordered by such a
 * cursor can resume from the last line's value. (Not BLOB, which records carry as base64, nor
 * nested or JSON values.)
 */
const RESUMABLE_TYPES = new Set([
  'TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT', 'UHUGEINT',
  'FLOAT', 'DOUBLE', 'DATE', 'TIME', 'TIMESTAMP', 'TIMESTAMP WITH TIME ZONE', 'TIMESTAMP_S', 'TIMESTAMP_MS', 'TIMESTAMP_NS', 'UUID', 'BOOLEAN', 'VARCHAR',
]);

export function canResumeByValue(cursor: RecordColumn): boolean {
  const { type } = cursorExpression(cursor);
  return type.kind === 'decimal' || (type.kind === 'primitive' && RESUMABLE_TYPES.has(type.name));
}

/** Whether a saved resume value still casts to the cursor's type (the query or catalog may have changed since). */
export async function resumeValueFits(engine: SqlRunner, cursor: RecordColumn, value: unknown): Promise<boolean> {
  const [row] = await engine.all(`SELECT TRY_CAST(${sqlLiteral(value)} AS ${formatDuckType(cursorExpression(cursor).type)}) IS NOT NULL AS "fits"`);
  return row?.fits === true;
}

/** Rows at or after a cursor value (compared in the catalog's type); rows without a value are not. */
export function atOrAfter(cursor: RecordColumn, value: unknown): string {
  const { expression, type } = cursorExpression(cursor);
  return `${expression} >= CAST(${sqlLiteral(value)} AS ${formatDuckType(type)})`;
}

/** The expression a column-cursor read is ordered by, so that every checkpoint is a point to resume from by value. */
export function cursorOrder(cursor: RecordColumn): string {
  return cursorExpression(cursor).expression;
}

/** The cursor value of a RECORD line, exact (big integers stay text); undefined when null, absent or not a plain value. */
export function cursorValueOfLine(line: Buffer, column: string): unknown {
  const message = losslessParse(line.toString('utf8')) as { record?: { data?: Record<string, unknown> } };
  const value = losslessValue(message.record?.data?.[column]);
  return typeof value === 'string' || typeof value === 'boolean' ? value : undefined;
}

/** A value from the state as a SQL literal, for a CAST to the cursor column's type. */
function sqlLiteral(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  return sqlString(typeof value === 'string' ? value : JSON.stringify(value));
}
