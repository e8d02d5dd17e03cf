import type { FileFormat } from './formats.js';
import { caseCollisions, jsonObjectsReaderSql } from './json-keys.js';
import { settings } from '../settings.js';
import { pathsSql, sqlString, sqlStringList } from './sql.js';

/**
 * The DuckDB table expression that reads a staged file, or several of one shape in one scan (a
 * batch: rows in the files' order, each row's file path in `filenameColumn`). Every value is
 * quoted with sqlString, so a file name or option holding quotes cannot change the SQL.
 * Compression is inferred by DuckDB from the local file's extension.
 */
export function readerSql(
  path: string | readonly string[],
  format: FileFormat,
  options: { rejectsTable?: string; ignoreErrors?: boolean; jsonColumns?: string[]; filenameColumn?: string } = {},
): string {
  const filename = options.filenameColumn === undefined ? '' : `, filename = ${sqlString(options.filenameColumn)}`;
  switch (format.filetype) {
    case 'parquet':
      return `read_parquet(${pathsSql(path)}${filename})`;
    case 'jsonl': {
      // Catalog columns differing only in case cannot be read_json columns: each is read by its exact
      // key, file by file (batches are never made of such streams).
      if (typeof path === 'string' && options.jsonColumns !== undefined && caseCollisions(options.jsonColumns).length > 0) return jsonObjectsReaderSql(path);
      // With the catalog's columns given, each is read as raw JSON (cast later): objects whose keys
      // drift past DuckDB's sample, or a stray value, cannot fail the read; other keys are ignored.
      const columns = options.jsonColumns === undefined ? '' : `, columns = {${options.jsonColumns.map((name) => `${sqlString(name)}: 'JSON'`).join(', ')}}`;
      // records = true: a line that is not an object (42, "text", [1, 2], null) is an error, never a
      // reason for DuckDB to read the whole file as one `json` column.
      return `read_json(${pathsSql(path)}, format = 'newline_delimited', records = true${columns}${documentObjectSize(format)}${filename})`;
    }
    case 'csv': {
      const csvOptions: string[] = [`header = ${format.header ? 'true' : 'false'}`];
      if (format.delimiter !== undefined) csvOptions.push(`delim = ${sqlString(format.delimiter)}`);
      if (format.quoteChar !== undefined) csvOptions.push(`quote = ${sqlString(format.quoteChar)}`);
      if (format.escapeChar !== undefined) csvOptions.push(`escape = ${sqlString(format.escapeChar)}`);
      if (format.encoding !== 'utf-8') csvOptions.push(`encoding = ${sqlString(format.encoding)}`);
      if (format.skipRows > 0) csvOptions.push(`skip = ${format.skipRows}`);
      if (format.nullValues !== undefined) csvOptions.push(`nullstr = ${sqlStringList(format.nullValues)}`);
      if (format.columnNames !== undefined) csvOptions.push(`names = ${sqlStringList(format.columnNames)}`);
      if (options.ignoreErrors === true && options.rejectsTable === undefined) csvOptions.push('ignore_errors = true');
      if (options.rejectsTable !== undefined) {
        // Malformed rows are left out and recorded in <table> (and <table>_scans) for counting.
        csvOptions.push('ignore_errors = true', 'store_rejects = true', `rejects_table = ${sqlString(options.rejectsTable)}`, `rejects_scan = ${sqlString(`${options.rejectsTable}_scans`)}`);
      }
      return `read_csv(${pathsSql(path)}, ${csvOptions.join(', ')}${filename})`;
    }
  }
}

/**
 * A document's record holds its whole text: past DuckDB's 16 MB default object size when the content
 * is; its converter refuses content over SOURCE_S3_DOCUMENT_MAX_CONTENT_BYTES, so this much always fits.
 */
function documentObjectSize(format: FileFormat): string {
  if (format.conversion?.filetype !== 'document') return '';
  return `, maximum_object_size = ${settings().documentMaxContentBytes + DOCUMENT_RECORD_OVERHEAD_BYTES}`;
}

/** Room for a document record's other fields (its key, escaped, is at most 6 KiB). */
export const DOCUMENT_RECORD_OVERHEAD_BYTES = 64 * 1024;
