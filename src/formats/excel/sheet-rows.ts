import { configError } from '../../protocol/errors.js';
import { serialToIso, type TemporalKind } from './number-formats.js';
import type { Workbook } from './workbook.js';
import { parseXmlPart } from './xml-parts.js';
import type { XlsxArchive } from './xlsx-archive.js';

/** A cell's value as the sheet shows it; null for an empty cell, an empty string or an error (#N/A, #DIV/0!). */
export type CellValue = { kind: 'number'; value: number } | { kind: 'boolean'; value: boolean } | { kind: 'text'; value: string } | { kind: TemporalKind; value: string } | null;

/** A row: its cells by column index (0 for A), holes for empty cells. */
export type Row = CellValue[];

/** Column XFD, Excel's last. */
const MAX_COLUMN = 16383;

interface CellDraft {
  column: number;
  type: string;
  style: number;
  value: string;
  inline: string[];
}

/**
 * Streams the rows of the workbook's chosen sheet to `onRows`, a chunk's worth at a time. Rows
 * without any value are left out (blank lines, formatted but empty rows at the end). A formula
 * cell is its cached result; a merged range has its value in its first cell only; a hyperlink
 * cell is its text.
 */
export async function readSheetRows(archive: XlsxArchive, workbook: Workbook, url: string, onRows: (rows: Row[]) => Promise<boolean>): Promise<void> {
  let pending: Row[] = [];
  let row: Row | undefined;
  // Set by a cell with a value: no scan of the (sparse, up to 16,384 wide) row to find out.
  let rowHasValue = false;
  let nextColumn = 0;
  let cell: CellDraft | undefined;
  let collecting: 'value' | 'inline' | undefined;
  let inPhonetic = 0;
  await parseXmlPart(
    await archive.open(workbook.sheetPart),
    workbook.sheetPart,
    url,
    {
      open: (name, attributes) => {
        if (name === 'row') {
          row = [];
          rowHasValue = false;
          nextColumn = 0;
        } else if (name === 'c' && row !== undefined) {
          const referenced = attributes.r === undefined ? -1 : columnIndex(attributes.r);
          const column = referenced < 0 ? nextColumn : referenced;
          nextColumn = column + 1;
          // Past Excel's last column (XFD) no writer puts a cell: such a reference is damage, not data.
          if (column > MAX_COLUMN) return;
          cell = { column, type: attributes.t ?? 'n', style: Number(attributes.s ?? 0), value: '', inline: [] };
        } else if (cell !== undefined) {
          if (name === 'v') collecting = 'value';
          else if (name === 'rPh') inPhonetic += 1;
          else if (name === 't' && inPhonetic === 0) collecting = 'inline';
        }
      },
      text: (text) => {
        if (cell === undefined) return;
        if (collecting === 'value') cell.value += text;
        else if (collecting === 'inline') cell.inline.push(text);
      },
      close: (name) => {
        if (name === 'v' || name === 't') collecting = undefined;
        else if (name === 'rPh') inPhonetic -= 1;
        else if (name === 'c' && cell !== undefined && row !== undefined) {
          const value = cellValue(cell, workbook, url);
          if (value !== null) {
            row[cell.column] = value;
            rowHasValue = true;
          }
          cell = undefined;
        } else if (name === 'row' && row !== undefined) {
          if (rowHasValue) pending.push(row);
          row = undefined;
        }
      },
    },
    async () => {
      if (pending.length === 0) return true;
      const rows = pending;
      pending = [];
      return onRows(rows);
    },
  );
  if (pending.length > 0) await onRows(pending);
}

function cellValue(cell: CellDraft, workbook: Workbook, url: string): CellValue {
  switch (cell.type) {
    case 's': {
      if (cell.value.trim() === '') return null;
      const text = workbook.sharedStrings[Number(cell.value)];
      // A string the table does not hold is damage: a null here would be a silently lost value.
      if (text === undefined) {
        throw configError(`${url} is a damaged workbook: a cell of sheet "${workbook.sheetName.slice(0, 100)}" refers to shared string ${cell.value.slice(0, 20)}, but the table holds ${workbook.sharedStrings.length}. Save it again from a spreadsheet program.`);
      }
      return text === '' ? null : { kind: 'text', value: text };
    }
    case 'inlineStr':
      return textValue(cell.inline.join(''));
    case 'str':
      return textValue(cell.value);
    case 'b':
      return cell.value === '' ? null : { kind: 'boolean', value: cell.value.trim() === '1' || cell.value.trim() === 'true' };
    case 'e':
      return null;
    case 'd':
      return isoDateValue(cell.value);
    default: {
      if (cell.value.trim() === '') return null;
      const number = Number(cell.value);
      if (!Number.isFinite(number)) return null;
      const kind = dateKindOfValue(workbook.styleKinds[cell.style], number);
      if (kind !== undefined) {
        const iso = serialToIso(number, kind, workbook.date1904);
        if (iso !== undefined) return { kind, value: iso };
      }
      return { kind: 'number', value: number };
    }
  }
}

/**
 * A date format that shows no time can hold a time of day all the same (Gnumeric and LibreOffice
 * give `2024-01-15 10:30` typed into a cell or imported from CSV the format `yyyy-mm-dd`): such a
 * value is a date-time, so that the time is not dropped (pandas and Airbyte's Excel reader keep it too).
 */
function dateKindOfValue(kind: TemporalKind | undefined, serial: number): TemporalKind | undefined {
  if (kind !== 'date') return kind;
  const msInDay = Math.round((serial - Math.floor(serial)) * 86_400_000);
  return msInDay === 0 || msInDay === 86_400_000 ? 'date' : 'timestamp';
}

function textValue(text: string): CellValue {
  return text === '' ? null : { kind: 'text', value: text };
}

/** A `t="d"` cell holds an ISO 8601 date, date-time or time as text. */
function isoDateValue(text: string): CellValue {
  const value = text.trim().replace(/Z$/, '');
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return { kind: 'date', value };
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value)) return { kind: 'timestamp', value: value.replace('T', ' ') };
  if (/^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value)) return { kind: 'time', value };
  return textValue(text);
}

/** "AB12" -> 27 (columns from 0). */
function columnIndex(reference: string): number {
  let index = 0;
  for (const char of reference.toUpperCase()) {
    const code = char.charCodeAt(0);
    if (code < 65 || code > 90) break;
    index = index * 26 + (code - 64);
    if (index > MAX_COLUMN + 1) return MAX_COLUMN + 1;
  }
  return index - 1;
}
