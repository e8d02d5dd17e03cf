import type { FileFormat } from './formats.js';

const NEWLINE = 0x0a;

/**
 * Where a sample of a text file may be cut so it ends after a whole record:
 * the byte after the last newline that is not inside a quoted CSV field
 * (a quoted field may hold newlines; cutting there would break the sniffer).
 * JSON Lines escape newlines inside strings, so any newline ends a record.
 * Returns the sample length when no such newline exists.
 */
export function lastRecordEnd(sample: Buffer, format: FileFormat): number {
  if (format.filetype !== 'csv') {
    const last = sample.lastIndexOf(NEWLINE);
    return last < 0 ? sample.length : last + 1;
  }
  const quote = (format.quoteChar ?? '"').charCodeAt(0);
  const escape = (format.escapeChar ?? format.quoteChar ?? '"').charCodeAt(0);
  // An empty quote_char turns quoting off.
  const quoting = format.quoteChar !== '';
  let inQuotes = false;
  let end = -1;
  for (let index = 0; index < sample.length; index++) {
    const byte = sample[index]!;
    if (!quoting) {
      if (byte === NEWLINE) end = index + 1;
      continue;
    }
    if (inQuotes) {
      if (byte === escape && escape !== quote) index++;
      else if (byte === quote) inQuotes = false;
    } else if (byte === quote) inQuotes = true;
    else if (byte === NEWLINE) end = index + 1;
  }
  return end < 0 ? sample.length : end;
}
