// The benchmark's baseline: DuckDB alone writing the same RECORD lines the connector would, to /dev/null.
import { DuckDBInstance } from '@duckdb/node-api';
import { recordSelectSql } from '../dist/engine/record-sql.js';
import { parseDuckType } from '../dist/engine/types.js';

/**
 * Seconds DuckDB (2 threads) takes to write the RECORD lines of `stream` to /dev/null. The columns
 * come from DESCRIBE of `describedFrom` (a table expression); `readerFor(described rows)` gives the
 * table expression read, `constants` the values of columns not in the data.
 */
export async function duckdbAloneSeconds({ stream, describedFrom, readerFor = () => describedFrom, constants }) {
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const connection = await instance.connect();
  try {
    const described = (await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${describedFrom}`)).getRowObjectsJson();
    const sql = recordSelectSql({
      stream,
      reader: readerFor(described),
      columns: described.map((row) => ({ name: String(row.column_name), type: parseDuckType(String(row.column_type)) })),
      constants,
      emittedAt: Date.now(),
    });
    const started = process.hrtime.bigint();
    await connection.run(`COPY (${sql}) TO '/dev/null' (FORMAT json)`);
    return Number(process.hrtime.bigint() - started) / 1e9;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
