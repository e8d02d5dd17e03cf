import type { ConvertedFormat } from '../../engine/formats.js';
import type { Converter, ConversionRequest, ConversionResult } from '../converter.js';
import { LineOutput } from '../line-output.js';
import { ColumnNames, ColumnTypes } from './columns.js';
import { readSheetRows, type CellValue, type Row } from './sheet-rows.js';
import { readWorkbook } from './workbook.js';
import { openXlsxArchive } from './xlsx-archive.js';

/**
 * An .xlsx sheet as JSON Lines: the first row with a value names the columns, each later row with
 * a value is a line. Values keep their type (numbers, booleans, ISO dates and times, text), and
 * the columns are declared with the types their values make, widened as CSV's are.
 */
export function excelConverter(format: Extract<ConvertedFormat, { filetype: 'excel' }>): Converter {
  return { name: 'Excel', convert: (request) => convertWorkbook(request, format.sheet) };
}

async function convertWorkbook(request: ConversionRequest, sheet: string | undefined): Promise<ConversionResult> {
  const archive = await openXlsxArchive(request.source, request.url);
  const output = new LineOutput(request.target);
  try {
    const workbook = await readWorkbook(archive, request.url, sheet);
    let names: ColumnNames | undefined;
    const types = new ColumnTypes();
    const full = () => request.maxOutputBytes !== undefined && output.bytes >= request.maxOutputBytes;
    await readSheetRows(archive, workbook, request.url, async (chunk) => {
      for (const row of chunk) {
        if (names === undefined) {
          names = new ColumnNames(row);
          for (let index = 0; index < names.headerWidth; index += 1) types.add(names.name(index), undefined);
          continue;
        }
        await output.write(JSON.stringify(record(row, names, types)));
        if (full()) break;
      }
      return !full();
    });
    await output.close();
    return { rows: output.rows, columns: types.declared() };
  } catch (error) {
    output.destroy();
    throw error;
  } finally {
    archive.close();
  }
}

/** A row as a JSON object: every header column (null where the row is short), then any cell past them. */
function record(row: Row, names: ColumnNames, types: ColumnTypes): Record<string, unknown> {
  // No prototype: a header may say "__proto__", which on a plain object would set the prototype, not a column.
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const put = (index: number) => {
    const cell: CellValue | undefined = row[index];
    const name = names.name(index);
    types.add(name, cell);
    out[name] = cell === null || cell === undefined ? null : cell.value;
  };
  for (let index = 0; index < names.headerWidth; index += 1) put(index);
  // Past the header only the cells there are (a row is sparse: one note in column XFD is one key, not 16,000 holes).
  for (const key of Object.keys(row)) {
    const index = Number(key);
    if (index >= names.headerWidth && row[index] !== null && row[index] !== undefined) put(index);
  }
  return out;
}
