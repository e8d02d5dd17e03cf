import type { CsvColumn } from '../engine/csv-dialect.js';
import { caseCollisions } from '../engine/json-keys.js';
import type { RecordColumn } from '../engine/record-sql.js';
import { readerSql } from '../engine/readers.js';
import { formatDuckType, parseDuckType, type DuckType } from '../engine/types.js';
import { compressionOf } from '../s3/compression.js';
import type { StagedFile } from '../s3/staging.js';
import { csvReadColumns, emittedColumns, type FileReadContext } from './file-reader.js';
import { firstBytes } from './csv-dialect.js';
import { engineCall } from './sample.js';

const JSON_VALUE: DuckType = { kind: 'primitive', name: 'JSON' };

/**
 * How a file is read in a batch: files with the same key are read by one
 * query. `read` are the columns the reader gives (CSV: every column of the
 * file, in its order), `columns` those emitted.
 */
export interface BatchShape {
  key: string;
  read: RecordColumn[];
  columns: RecordColumn[];
}

/** The longest header line (skipped rows included) whose bytes are remembered to reuse its columns. */
const MAX_HEADER_BYTES = 64 << 10;

/**
 * Finds the batch shape of each file of a stream, or undefined for a file the
 * per-file path must read: a column cursor (its filter and pending value are
 * per file), a file resumed mid-way, UTF-16 CSV, JSON Lines without catalog
 * columns or with keys differing only in case.
 *
 * A CSV file's columns come from its header: a file whose header line (bytes
 * up to the first line end, after skip_rows, BOM included) is the same as one
 * DuckDB already read shares its columns without asking DuckDB again. With
 * catalog columns every column is read as text, so the header is all there is
 * to know; without them DuckDB guesses each file's types (a sniff per file).
 */
export class BatchShapes {
  private readonly csvHeaders = new Map<string, CsvColumn[]>();

  constructor(private readonly read: FileReadContext) {}

  async of(staged: StagedFile): Promise<BatchShape | undefined> {
    const { plan, stream, state, dialect, context } = this.read;
    if (plan.cursorColumn !== undefined || state.rowsDone(staged.object) > 0) return undefined;
    const format = stream.format;
    switch (format.filetype) {
      case 'csv': {
        if (dialect === undefined || format.encoding === 'utf-16') return undefined;
        const typesFromCatalog = plan.catalogColumns.size > 0;
        const header = typesFromCatalog ? await this.headerKey(staged) : undefined;
        let columns = header === undefined ? undefined : this.csvHeaders.get(header);
        if (columns === undefined) {
          columns = await csvReadColumns(context, plan, format, dialect, staged);
          if (header !== undefined) this.csvHeaders.set(header, columns);
        }
        return shapeOf(plan, columns);
      }
      case 'jsonl': {
        const names = [...plan.catalogColumns.keys()];
        if (names.length === 0 || caseCollisions(names).length > 0) return undefined;
        return shapeOf(
          plan,
          names.map((name) => ({ name, type: JSON_VALUE })),
        );
      }
      case 'parquet': {
        // The footer only: DESCRIBE of a local Parquet file reads its metadata.
        const described = await engineCall(staged, format, () => context.engine.all(`DESCRIBE SELECT * FROM ${readerSql(staged.path, format)}`));
        return shapeOf(
          plan,
          described.map((row) => ({ name: String(row.column_name), type: parseDuckType(String(row.column_type)) })),
        );
      }
    }
  }

  /**
   * The bytes that decide a CSV file's column names: everything up to the end of its header line
   * (the skipped rows before it included). Undefined when they cannot be compared safely: no
   * header line (column names given, or none), compressed bytes, a line end that may lie inside
   * a quoted field, or no line end within 64 KiB.
   */
  private async headerKey(staged: StagedFile): Promise<string | undefined> {
    const { dialect } = this.read;
    if (dialect === undefined) return undefined;
    if (!dialect.header) return dialect.columnNames === undefined ? undefined : '\u0000names';
    if (compressionOf(staged.path) !== 'none') return undefined;
    const head = await firstBytes(staged.path, MAX_HEADER_BYTES);
    const quote = dialect.quote === '' ? undefined : Buffer.from(dialect.quote, 'latin1');
    let end = -1;
    for (let line = 0; line <= dialect.skipRows; line++) {
      end = head.indexOf(0x0a, end + 1);
      if (end < 0) return undefined;
      // A line end inside a quoted field does not end the line. With the quote doubled to escape
      // itself (RFC 4180, the default), an even number of quotes before it puts it outside every
      // field, so quoted headers ("id","name", spreadsheet exports) are compared too.
      if (quote !== undefined && head.subarray(0, end).includes(quote) && (dialect.escape !== dialect.quote || occurrences(head.subarray(0, end), quote) % 2 !== 0)) return undefined;
    }
    return head.subarray(0, end + 1).toString('latin1');
  }
}

/** How many times `needle` occurs in `bytes`, without overlaps. */
function occurrences(bytes: Buffer, needle: Buffer): number {
  let count = 0;
  for (let at = bytes.indexOf(needle); at !== -1; at = bytes.indexOf(needle, at + needle.length)) count++;
  return count;
}

function shapeOf(plan: FileReadContext['plan'], read: RecordColumn[]): BatchShape {
  return { key: JSON.stringify(read.map((column) => [column.name, formatDuckType(column.type)])), read, columns: emittedColumns(plan, read) };
}
