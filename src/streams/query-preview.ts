import { createReadStream, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { recordSelectSql, type RecordColumn } from '../engine/record-sql.js';
import type { SourceContext } from './context.js';
import type { PreparedQuery } from './query-stream.js';
import { outputReader, queryCall } from './query-stream.js';
import { configError } from '../protocol/errors.js';
import { formatBytes } from '../format-bytes.js';

const DATA_PREFIX = '{"data":';
/** Most bytes of rows a preview reads into the connector's own process. */
const MAX_PREVIEW_BYTES = 64 * 2 ** 20;

/**
 * The first rows of a prepared model query, each as the JSON text of the
 * `data` object that `read` would emit for it: the same record SQL (ISO
 * timestamps, exact 64/128-bit integers and decimals, maps as objects, base64
 * blobs) written by the same DuckDB JSON writer, so a preview never shows a
 * value differently from a sync. Nothing is parsed and re-serialized.
 */
export async function previewRecordData(context: SourceContext, prepared: PreparedQuery, columns: RecordColumn[], limit: number): Promise<string[]> {
  const records = recordSelectSql({ stream: 'preview', reader: outputReader(prepared, columns, context.config.bucket), columns, constants: {}, emittedAt: 0 });
  // In the query's own folder: the only place its worker may write.
  const path = join(prepared.folder.root, 'preview.jsonl');
  try {
    await queryCall(context, undefined, () =>
      prepared.worker.copyJsonLines(`SELECT struct_extract("record", 'data') AS "data" FROM (${records}) LIMIT ${Math.trunc(limit)}`, path),
    );
    // The rows are read into this process, outside the worker's memory cap: a preview has a size limit of its own.
    const size = statSync(path).size;
    if (size > MAX_PREVIEW_BYTES) {
      throw configError(`The query's first ${limit} rows take ${formatBytes(size, 'B')} as JSON, more than the ${formatBytes(MAX_PREVIEW_BYTES, 'B')} a preview shows; lower --limit or select fewer or smaller columns.`);
    }
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
