import type { Engine } from '../engine/engine.js';
import { sqlIdentifier, sqlString } from '../engine/sql.js';
import type { OutputWriter } from '../protocol/output.js';

let rejectsSequence = 0;

/** A fresh name for the table DuckDB records a read's malformed rows in (with on_error skip). */
export function newRejectsTable(): string {
  return `source_s3_rejects_${++rejectsSequence}`;
}

/**
 * Counts the rows DuckDB left out of a read into `table` (one row may hold several bad values:
 * rows are counted, not errors), warns once per file naming its S3 URL, the first bad line and
 * why, and drops the tables. `urlOf` maps DuckDB's file path to the file's URL (undefined: a file
 * read again, whose rows are counted then). Returns the count.
 */
export async function reportRejectedRows(engine: Engine, out: OutputWriter, table: string, urlOf: (path: string) => string | undefined): Promise<number> {
  const scans = `${table}_scans`;
  // A query that failed before reading a row may not have made the tables.
  const [made] = await engine.all(`SELECT count(*) AS "n" FROM duckdb_tables() WHERE table_name = ${sqlString(table)}`);
  if (Number(made?.n ?? 0) === 0) return 0;
  const summary = await engine.all(
    `SELECT s.file_path AS "path", count(DISTINCT e.line) AS "count", min(e.line) AS "line", arg_min(e.error_message, e.line) AS "reason"
     FROM ${sqlIdentifier(table)} e JOIN ${sqlIdentifier(scans)} s USING (scan_id, file_id)
     GROUP BY s.file_path ORDER BY min(e.file_id)`,
  );
  // One statement per call: the engine prepares each call as a single statement.
  await engine.run(`DROP TABLE IF EXISTS ${sqlIdentifier(table)}`);
  await engine.run(`DROP TABLE IF EXISTS ${sqlIdentifier(scans)}`);
  let total = 0;
  for (const row of summary) {
    const rejected = Number(row.count ?? 0);
    const url = urlOf(String(row.path));
    if (rejected === 0 || url === undefined) continue;
    total += rejected;
    await out.log('WARN', `Skipped ${rejected} malformed row${rejected === 1 ? '' : 's'} of ${url} (first at line ${String(row.line)}: ${String(row.reason).slice(0, 160)}).`);
  }
  return total;
}
