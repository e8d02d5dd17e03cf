/**
 * Turns a local copy of an object of a format DuckDB cannot read (Avro, Excel, a document) into
 * JSON Lines it can: one object per line, one line per row. Everything after (types, casts,
 * cursors, batches, resume by row, on_error) is then the JSON Lines path's, unchanged.
 *
 * A converter only reads and writes local files: it never calls S3 (the object is staged for it)
 * nor DuckDB. Its errors are ConnectorErrors naming `url` (a config_error for a bad file).
 */
export interface Converter {
  /** What a stream of these files reads, as said in messages: "Avro", "Excel", "document". */
  readonly name: string;
  /**
   * Bytes of the object's start a discover/check sample needs, for formats readable from their first
   * bytes (Avro: header, then blocks in order); undefined when only the whole object can be read
   * (xlsx and docx are zip archives, whose index is at the end; a PDF's is too).
   */
  readonly samplePrefixBytes?: number;
  convert(request: ConversionRequest): Promise<ConversionResult>;
}

export interface ConversionRequest {
  /** The local copy: the whole object, or (`complete` false) only its first bytes. */
  source: string;
  /** Where to write the rows as JSON Lines (UTF-8, `\n` after each line, created with mode 0600). */
  target: string;
  /** The object's s3:// URL, for messages. */
  url: string;
  /** The object's key (a document's `document_key`). */
  key: string;
  /** False when `source` holds only the object's first bytes: write the whole rows found, and stop quietly at the cut. */
  complete: boolean;
  /** A sample: stop once about this many bytes are written (undefined: convert everything). */
  maxOutputBytes?: number;
}

/** A column as DuckDB would type it ("BIGINT", "STRUCT(a VARCHAR)", "TIMESTAMP WITH TIME ZONE"...). */
export interface DeclaredColumn {
  name: string;
  type: string;
}

export interface ConversionResult {
  /** Lines written. */
  rows: number;
  /**
   * The columns the file itself declares (Avro's writer schema; a document's fixed fields), in order:
   * discover takes them as they are instead of inferring types from the converted rows (Excel gives
   * the types its sampled cells make). Undefined: the converted rows are typed by DuckDB like any JSON Lines.
   */
  columns?: DeclaredColumn[];
}
