/**
 * A format DuckDB cannot read (Avro, Excel, documents) is converted when staged into one it can:
 * the stream's format says what DuckDB reads (JSON Lines, say), `conversion` what the objects are.
 */
export type ConvertedFormat =
  | { filetype: 'avro' }
  | { filetype: 'excel'; sheet?: string }
  // skipUnprocessable (on_error skip): a document that cannot be parsed is a record with its parse error, not a failed stream.
  | { filetype: 'document'; skipUnprocessable?: boolean };

interface Converted {
  /** Set when the objects are of another format, converted into this one as they are staged. */
  conversion?: ConvertedFormat;
}

/** How to read one file type; the config layer fills these from the stream's format. */
export interface CsvFormat extends Converted {
  filetype: 'csv';
  delimiter?: string;
  quoteChar?: string;
  escapeChar?: string;
  encoding: 'utf-8' | 'utf-16' | 'latin-1';
  header: boolean;
  skipRows: number;
  nullValues?: string[];
  columnNames?: string[];
}

/** What DuckDB reads: a staged object, or the conversion of one. */
export type FileFormat = CsvFormat | ({ filetype: 'parquet' } & Converted) | ({ filetype: 'jsonl' } & Converted);

/** The file types a user configures. */
export type FileType = FileFormat['filetype'] | ConvertedFormat['filetype'];

/** The file type of the objects themselves (avro for an Avro stream, though DuckDB reads JSON Lines). */
export function sourceFileType(format: FileFormat): FileType {
  return format.conversion?.filetype ?? format.filetype;
}

const FILE_TYPE_NAMES: Record<FileType, string> = { csv: 'CSV', parquet: 'Parquet', jsonl: 'JSON Lines', avro: 'Avro', excel: 'Excel', document: 'document' };

/** The objects' format as said in messages: "CSV", "Avro"... */
export function fileTypeName(format: FileFormat | FileType): string {
  return FILE_TYPE_NAMES[typeof format === 'string' ? format : sourceFileType(format)];
}
