import { DocumentParseError } from './parse-error.js';

/**
 * A document's text as it is parsed, piece by piece (a page, a paragraph), held up to a bound: the
 * record must fit in memory and in DuckDB's maximum_object_size. Sizes are counted as the content
 * is written in the record: JSON-escaped UTF-8 bytes.
 */
export class ContentBuffer {
  private readonly pieces: string[] = [];
  private bytes = 0;
  private sampleDone = false;

  /**
   * @param maxBytes over it, the document is a parse error (SOURCE_S3_DOCUMENT_MAX_CONTENT_BYTES).
   * @param sampleBytes for a discover/check sample: keep about this much and then report done.
   */
  constructor(
    private readonly maxBytes: number,
    private readonly sampleBytes?: number,
  ) {}

  /** True once a sample holds enough: the parser may stop. */
  get done(): boolean {
    return this.sampleDone;
  }

  append(text: string): void {
    if (this.sampleDone || text === '') return;
    const size = jsonBytes(text);
    if (this.sampleBytes !== undefined && this.bytes + size >= this.sampleBytes) {
      // A sample only shows the record's shape: its text may stop anywhere (not inside a UTF-16 pair).
      let cut = text.slice(0, Math.max(0, this.sampleBytes - this.bytes));
      if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
      this.pieces.push(cut);
      this.sampleDone = true;
      return;
    }
    if (this.bytes + size > this.maxBytes) {
      throw new DocumentParseError(
        `its text is more than ${this.maxBytes} bytes, the most a record holds (SOURCE_S3_DOCUMENT_MAX_CONTENT_BYTES); raise that setting to read it`,
      );
    }
    this.pieces.push(text);
    this.bytes += size;
  }

  text(): string {
    return this.pieces.join('');
  }
}

/** Bytes of `text` inside a JSON string. */
function jsonBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text)) - 2;
}
