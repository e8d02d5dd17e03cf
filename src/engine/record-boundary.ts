import type { FileFormat } from './formats.js';

const NEWLINE = 0x0a;

/**
 * Where a sample of a text file may be cut so it ends after a whole record:
 * just past the last newline that is not inside a quoted CSV field (a quoted
 * field may hold newlines; cutting there would break DuckDB's sniffer).
 * JSON Lines escape newlines inside strings, so any newline ends a record.
 * UTF-16 files are scanned in 2-byte code units. Returns 0 when the sample
 * holds no whole record.
 */
export function lastRecordEnd(sample: Buffer, format: FileFormat): number {
  return recordCut(sample, format).end;
}

export interface RecordCut {
  /** Byte offset just past the last whole record; 0 when there is none. */
  end: number;
  /** Bytes of the longest whole record in the sample. */
  longestRecord: number;
  /** The quote still open where the sample ends: the 1-based line it opened on. */
  openQuote?: { line: number };
}

/** lastRecordEnd, and whether the sample ends inside a quoted CSV field (a long one, or a stray quote). */
export function recordCut(sample: Buffer, format: FileFormat): RecordCut {
  const units = format.filetype === 'csv' && format.encoding === 'utf-16' ? utf16Units(sample) : byteUnits(sample);
  if (format.filetype !== 'csv') return { end: lastNewlineEnd(units), longestRecord: 0 };
  const quoting = format.quoteChar !== '';
  const quote = (format.quoteChar ?? '"').charCodeAt(0);
  const escape = (format.escapeChar ?? format.quoteChar ?? '"').charCodeAt(0);
  let inQuotes = false;
  let end = 0;
  let longestRecord = 0;
  const recordEnds = (index: number) => {
    const next = units.endOf(index);
    longestRecord = Math.max(longestRecord, next - end);
    end = next;
  };
  let line = 1;
  let openedOn = 0;
  let closedAt = -2;
  for (let index = 0; index < units.count; index++) {
    const unit = units.at(index);
    if (unit === NEWLINE) line++;
    if (!quoting) {
      if (unit === NEWLINE) recordEnds(index);
    } else if (inQuotes) {
      if (unit === escape && escape !== quote) {
        index++;
        if (index < units.count && units.at(index) === NEWLINE) line++;
      } else if (unit === quote) {
        inQuotes = false;
        closedAt = index;
      }
    } else if (unit === quote) {
      inQuotes = true;
      // A doubled quote ("") closes and reopens the same field: it still opened where it did.
      if (closedAt !== index - 1) openedOn = line;
    } else if (unit === NEWLINE) recordEnds(index);
  }
  return inQuotes ? { end, longestRecord, openQuote: { line: openedOn } } : { end, longestRecord };
}

interface Units {
  count: number;
  at(index: number): number;
  /** Byte offset just past unit `index`. */
  endOf(index: number): number;
}

function byteUnits(sample: Buffer): Units {
  return { count: sample.length, at: (index) => sample[index]!, endOf: (index) => index + 1 };
}

/** UTF-16 code units; big-endian when the file starts with the FE FF byte order mark, else little-endian. */
function utf16Units(sample: Buffer): Units {
  const bigEndian = sample[0] === 0xfe && sample[1] === 0xff;
  return {
    count: Math.floor(sample.length / 2),
    at: (index) => (bigEndian ? sample.readUInt16BE(index * 2) : sample.readUInt16LE(index * 2)),
    endOf: (index) => index * 2 + 2,
  };
}

function lastNewlineEnd(units: Units): number {
  for (let index = units.count - 1; index >= 0; index--) if (units.at(index) === NEWLINE) return units.endOf(index);
  return 0;
}
