/**
 * A document that cannot be parsed (corrupt, encrypted, too large, not text, of a kind not read).
 * Its message completes "<url> could not be parsed as a document: ..." and never quotes the file.
 */
export class DocumentParseError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DocumentParseError';
  }
}

/** A library's error as a parse error: its own message, cut short (a parser may quote the file). */
export function parseErrorFrom(error: unknown, what: string): DocumentParseError {
  if (error instanceof DocumentParseError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const short = message.length > 200 ? `${message.slice(0, 200)}...` : message;
  return new DocumentParseError(`${what} (${short.replace(/\s+/g, ' ').trim()})`, { cause: error });
}
