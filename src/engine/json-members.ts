/**
 * The members of one JSON object as DuckDB's JSON writer printed it, each
 * value kept as its exact text: a 128-bit integer or a DECIMAL(38,10) keeps
 * every digit, and nothing is re-serialized (so a preview shows what `read`
 * emits, byte for byte).
 */
export interface JsonMember {
  name: string;
  /** The value's JSON text, e.g. `9007199254740993`, `"text"`, `null`, `{"a":[1,2]}`. */
  raw: string;
}

export function jsonObjectMembers(text: string): JsonMember[] {
  const scanner = new Scanner(text);
  scanner.skipSpace();
  scanner.expect('{');
  const members: JsonMember[] = [];
  scanner.skipSpace();
  if (scanner.peek() === '}') {
    scanner.next();
  } else {
    for (;;) {
      scanner.skipSpace();
      const name = JSON.parse(scanner.stringToken()) as string;
      scanner.skipSpace();
      scanner.expect(':');
      scanner.skipSpace();
      members.push({ name, raw: scanner.valueToken() });
      scanner.skipSpace();
      const separator = scanner.next();
      if (separator === '}') break;
      if (separator !== ',') throw scanner.error('expected , or }');
    }
  }
  scanner.skipSpace();
  if (!scanner.atEnd()) throw scanner.error('unexpected text after the object');
  return members;
}

class Scanner {
  private position = 0;
  constructor(private readonly text: string) {}

  peek(): string {
    return this.text[this.position] ?? '';
  }

  next(): string {
    return this.text[this.position++] ?? '';
  }

  atEnd(): boolean {
    return this.position >= this.text.length;
  }

  skipSpace(): void {
    while (/^[ \t\r\n]$/.test(this.peek())) this.position++;
  }

  expect(char: string): void {
    if (this.next() !== char) throw this.error(`expected ${char}`);
  }

  /** A JSON string token, quotes included. */
  stringToken(): string {
    const start = this.position;
    this.expect('"');
    for (;;) {
      const char = this.next();
      if (char === '') throw this.error('unterminated string');
      if (char === '\\') this.position++;
      else if (char === '"') return this.text.slice(start, this.position);
    }
  }

  /** One JSON value's text: up to the comma or brace that ends it at this depth. */
  valueToken(): string {
    const start = this.position;
    let depth = 0;
    while (!this.atEnd()) {
      const char = this.peek();
      if (char === '"') {
        this.stringToken();
        continue;
      }
      if (char === '{' || char === '[') depth++;
      else if (char === '}' || char === ']') {
        if (depth === 0) break;
        depth--;
      } else if (char === ',' && depth === 0) break;
      this.position++;
    }
    const raw = this.text.slice(start, this.position).trimEnd();
    if (raw === '' || depth !== 0) throw this.error('expected a value');
    return raw;
  }

  error(what: string): Error {
    return new Error(`malformed JSON object: ${what} at character ${this.position}`);
  }
}
