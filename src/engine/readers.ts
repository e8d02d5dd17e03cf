import type { FileFormat } from './formats.js';
import { sqlString, sqlStringList } from './sql.js';

/**
 * The DuckDB table expression that reads a staged file. Every value is quoted
 * with sqlString, so a file name or option holding quotes cannot change the SQL.
 * Compression is inferred by DuckDB from the local file's extension.
 */
export function readerSql(path: string, format: FileFormat): string {
  switch (format.filetype) {
    case 'parquet':
      return `read_parquet(${sqlString(path)})`;
    case 'jsonl':
      return `read_json(${sqlString(path)}, format = 'newline_delimited')`;
    case 'csv': {
      const options: string[] = [`header = ${format.header ? 'true' : 'false'}`];
      if (format.delimiter !== undefined) options.push(`delim = ${sqlString(format.delimiter)}`);
      if (format.quoteChar !== undefined) options.push(`quote = ${sqlString(format.quoteChar)}`);
      if (format.escapeChar !== undefined) options.push(`escape = ${sqlString(format.escapeChar)}`);
      if (format.encoding !== 'utf-8') options.push(`encoding = ${sqlString(format.encoding)}`);
      if (format.skipRows > 0) options.push(`skip = ${format.skipRows}`);
      if (format.nullValues !== undefined) options.push(`nullstr = ${sqlStringList(format.nullValues)}`);
      if (format.columnNames !== undefined) options.push(`names = ${sqlStringList(format.columnNames)}`);
      return `read_csv(${sqlString(path)}, ${options.join(', ')})`;
    }
  }
}
