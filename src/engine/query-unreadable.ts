/**
 * Files a model query (and the `query` preview) cannot read, in one place: DuckDB reads Avro and
 * Excel only through extensions that cannot be loaded here (no downloads, autoload off), and reads
 * neither bzip2 nor zip archives. File streams read them all (converted or decompressed as they are
 * staged); each message says so, naming the file stream setting to use instead.
 */
export interface Unreadable {
  /** What the file is, in a sentence: "Avro", "a zip archive". */
  what: string;
  /** How to read it instead. */
  instead: string;
}

interface UnreadableKind extends Unreadable {
  extensions: string[];
  reader?: string;
}

const KINDS: UnreadableKind[] = [
  { what: 'Avro', extensions: ['.avro'], reader: 'read_avro', instead: 'a file stream with format {"filetype": "avro"}' },
  { what: 'Excel', extensions: ['.xlsx', '.xlsm', '.xls', '.xlsb'], reader: 'read_xlsx', instead: 'a file stream with format {"filetype": "excel"}' },
  { what: 'a zip archive', extensions: ['.zip'], instead: 'a file stream whose globs match it (each member is read as a file)' },
  { what: 'a bzip2 file', extensions: ['.bz2'], instead: 'a file stream whose globs match it' },
];

/** Why a model query cannot read the object or URL `name` (a key or a glob), or undefined. */
export function unreadableFile(name: string): Unreadable | undefined {
  const lower = (name.split('?')[0] ?? name).toLowerCase();
  return KINDS.find((kind) => kind.extensions.some((extension) => lower.endsWith(extension)));
}

/** The unreadable kind a DuckDB table function reads (read_avro, read_xlsx), or undefined. */
export function unreadableReader(functionName: string): Unreadable | undefined {
  return KINDS.find((kind) => kind.reader === functionName);
}

/** The message's tail: "..., which model queries cannot read (...). Read it with ... instead". */
export function unreadableReason(kind: Unreadable): string {
  return `${kind.what}, which model queries cannot read (they read CSV, JSON Lines and Parquet, plain, .gz or .zst, with DuckDB's built-in readers). Read it with ${kind.instead} instead`;
}
