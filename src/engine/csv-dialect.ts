import type { CsvFormat } from './formats.js';
import { pathsSql, sqlIdentifier, sqlString, sqlStringList } from './sql.js';
import { formatDuckType, type DuckType } from './types.js';

/**
 * How every CSV file of a stream is parsed, decided once per stream (explicit
 * format options win, DuckDB's sniffer fills in the rest from one sample) and
 * then given to DuckDB explicitly for every file, so no file is re-sniffed into
 * a different shape.
 */
export interface CsvDialect {
  delimiter: string;
  /** '' for no quoting. */
  quote: string;
  escape: string;
  header: boolean;
  skipRows: number;
  encoding: CsvFormat['encoding'];
  nullValues?: string[];
  columnNames?: string[];
  dateFormat?: string;
  timestampFormat?: string;
}

export interface CsvColumn {
  name: string;
  type: DuckType;
}

/** The longest CSV row read (bytes). */
export const MAX_ROW_BYTES = 16 << 20;

/** The options of read_csv / sniff_csv the user's format (or a decided dialect) fixes. */
function dialectOptions(dialect: Partial<CsvDialect> & { header: boolean; skipRows: number; encoding: CsvFormat['encoding'] }): string[] {
  // DuckDB refuses a row over 2,000,000 bytes by default, and no format option of ours could raise it:
  // allow 16 MiB rows, with the buffer at DuckDB's default 32 MiB (it must hold two rows; a larger
  // limit alone makes DuckDB size its buffers at 16x, past the memory limit).
  const options = [`header = ${dialect.header ? 'true' : 'false'}`, `max_line_size = ${MAX_ROW_BYTES}`, `buffer_size = ${2 * MAX_ROW_BYTES}`];
  if (dialect.delimiter !== undefined) options.push(`delim = ${sqlString(dialect.delimiter)}`);
  if (dialect.quote !== undefined) options.push(`quote = ${sqlString(dialect.quote)}`);
  if (dialect.escape !== undefined) options.push(`escape = ${sqlString(dialect.escape)}`);
  if (dialect.encoding !== 'utf-8') options.push(`encoding = ${sqlString(dialect.encoding)}`);
  if (dialect.skipRows > 0) options.push(`skip = ${Math.trunc(dialect.skipRows)}`);
  if (dialect.nullValues !== undefined) options.push(`nullstr = ${sqlStringList(dialect.nullValues)}`);
  if (dialect.dateFormat !== undefined) options.push(`dateformat = ${sqlString(dialect.dateFormat)}`);
  if (dialect.timestampFormat !== undefined) options.push(`timestampformat = ${sqlString(dialect.timestampFormat)}`);
  return options;
}

/**
 * sniff_csv over a local file with what is already fixed (the user's options,
 * or a whole dialect). ignore_errors: one malformed row in the sample must not
 * make the sniffer fall back to a one-column reading of the file.
 */
export function sniffCsvSql(path: string, fixed: Partial<CsvDialect> & { header: boolean; skipRows: number; encoding: CsvFormat['encoding'] }, sampleRows?: number): string {
  const options = [...dialectOptions(fixed), 'ignore_errors = true'];
  if (fixed.columnNames !== undefined) options.push(`names = ${sqlStringList(fixed.columnNames)}`);
  if (sampleRows !== undefined) options.push(`sample_size = ${Math.max(1, Math.trunc(sampleRows))}`);
  return `SELECT "Delimiter", "Quote", "Escape", "HasHeader", "Columns", "DateFormat", "TimestampFormat" FROM sniff_csv(${sqlString(path)}, ${options.join(', ')})`;
}

/**
 * read_csv with nothing left to detect: the dialect, and every column's name
 * and type. strict_mode and no null padding, so a row with an extra or a
 * missing field is an error (or a rejected row), wherever it is in the file.
 */
export function csvReaderSql(
  path: string | readonly string[],
  dialect: CsvDialect,
  columns: CsvColumn[],
  options: { rejectsTable?: string; ignoreErrors?: boolean; filenameColumn?: string } = {},
): string {
  const csvOptions = [
    ...dialectOptions(dialect),
    'auto_detect = false',
    'strict_mode = true',
    'null_padding = false',
    `columns = {${columns.map((column) => `${sqlString(column.name)}: ${sqlString(formatDuckType(column.type))}`).join(', ')}}`,
  ];
  if (options.ignoreErrors === true && options.rejectsTable === undefined) csvOptions.push('ignore_errors = true');
  if (options.rejectsTable !== undefined) {
    // Malformed rows are left out and recorded in <table> (and <table>_scans) for counting.
    csvOptions.push('ignore_errors = true', 'store_rejects = true', `rejects_table = ${sqlString(options.rejectsTable)}`, `rejects_scan = ${sqlString(`${options.rejectsTable}_scans`)}`);
  }
  // Several files (a batch): each row's file in a column of this name.
  if (options.filenameColumn !== undefined) csvOptions.push(`filename = ${sqlString(options.filenameColumn)}`);
  return `read_csv(${pathsSql(path)}, ${csvOptions.join(', ')})`;
}

/** Counts every row and casts every column of a reader: a full parse, as a read would do it. */
export function fullParseSql(reader: string, columns: CsvColumn[]): string {
  const counts = columns.map((column, index) => `count(${sqlIdentifier(column.name)}) AS "c${index}"`);
  return `SELECT ${['count(*) AS "rows"', ...counts].join(', ')} FROM ${reader}`;
}

/** Significant digits a DOUBLE holds: a decimal written with more is rounded by it. */
const DOUBLE_DIGITS = 17;

/**
 * For columns the sniffer typed DOUBLE (it has no wider integer type): per
 * column k, "i<k>" whether every value is a plain integer, "h<k>" whether every
 * value fits a HUGEINT, "p<k>" whether some value has more significant digits
 * than a DOUBLE holds. Values are read as text with the stream's dialect.
 */
export function doubleColumnsDigitsSql(path: string, dialect: CsvDialect, columns: CsvColumn[], doubles: string[]): string {
  const text: CsvColumn[] = columns.map((column) => ({ name: column.name, type: { kind: 'primitive', name: 'VARCHAR' } }));
  const checks = doubles.flatMap((name, index) => {
    const value = sqlIdentifier(name);
    const integerPart = `regexp_extract(${value}, '^\\s*[+-]?([0-9]*)', 1)`;
    const fraction = `regexp_extract(${value}, '\\.([0-9]*)', 1)`;
    return [
      `coalesce(bool_and(regexp_full_match(${value}, '\\s*[+-]?[0-9]+\\s*')), false) AS "i${index}"`,
      `coalesce(bool_and(TRY_CAST(${value} AS HUGEINT) IS NOT NULL), false) AS "h${index}"`,
      `coalesce(bool_or(length(ltrim(${integerPart} || rtrim(${fraction}, '0'), '0')) > ${DOUBLE_DIGITS}), false) AS "p${index}"`,
    ];
  });
  return `SELECT ${checks.join(', ')} FROM ${csvReaderSql(path, dialect, text, { ignoreErrors: true })}`;
}
