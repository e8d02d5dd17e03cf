import { createReadStream, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { recordSelectSql, type RecordColumn } from '../engine/record-sql.js';
import type { SourceContext } from './context.js';
import type { PreparedQuery } from './query-stream.js';
import { queryCall } from './query-stream.js';

const DATA_PREFIX = '{"data":';

/**
 * The first rows of a prepared model query, each as the JSON text of the
 * `data` object that `read` would emit for it: the same record SQL (ISO
 * timestamps, exact 64/128-bit integers and decimals, maps as objects, base64
 * blobs) written by the same DuckDB JSON writer, so a preview never shows a
 * value differently from a sync. Nothing is parsed and re-serialized.
 */
export async function previewRecordData(context: SourceContext, prepared: PreparedQuery, columns: RecordColumn[], limit: number): Promise<string[]> {
  const records = recordSelectSql({ stream: 'preview', reader: `(${prepared.sql}) AS "model_query"`, columns, constants: {}, emittedAt: 0 });
  // In the query's own folder: the only place its worker may write.
  const path = join(prepared.folder.root, 'preview.jsonl');
  try {
    await queryCall(context, undefined, () =>
      prepared.worker.copyJsonLines(`SELECT struct_extract("record", 'data') AS "data" FROM (${records}) LIMIT ${Math.trunc(limit)}`, path),
    );
    const rows: string[] = [];
    for await (const line of createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity })) {
      if (line === '') continue;
      // DuckDB writes each row as {"data":<the data object>}: the object is everything between.
      if (!line.startsWith(DATA_PREFIX) || !line.endsWith('}')) throw new Error(`unexpected preview line from DuckDB: ${line.slice(0, 80)}`);
      rows.push(line.slice(DATA_PREFIX.length, -1));
    }
    return rows;
  } finally {
    rmSync(path, { force: true });
  }
}
