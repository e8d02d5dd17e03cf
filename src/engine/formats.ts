/** How to read one file type; the config layer fills these from the stream's format. */
export interface CsvFormat {
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

export type FileFormat = CsvFormat | { filetype: 'parquet' } | { filetype: 'jsonl' };

export type FileType = FileFormat['filetype'];
