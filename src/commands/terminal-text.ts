import stringWidth from 'string-width';

/**
 * Text from files and queries, made safe and measurable for a terminal. A cell
 * can hold escape sequences that set the window title or clear the screen,
 * carriage returns and backspaces that overprint what came before, or bidi
 * overrides that reverse what follows: each is shown as a visible stand-in.
 */

// C0 controls, DEL and C1 controls; bidi marks, embeddings, overrides and isolates; line and paragraph
// separators; invisible spaces and the BOM (an "id" column read as "\uFEFFid" looks like "id"); lone surrogates.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The visible stand-in: a control picture for C0 and DEL (ESC as ␛, newline as ␊), `<U+202E>` for the others. */
function standIn(char: string): string {
  const code = char.charCodeAt(0);
  if (code < 0x20) return String.fromCharCode(0x2400 + code);
  if (code === 0x7f) return '\u2421';
  return `<U+${code.toString(16).toUpperCase().padStart(4, '0')}>`;
}

/** The text with every terminal control, bidi control and invisible character replaced by a visible stand-in. */
export function visibleText(text: string, options: { keepNewlines?: boolean } = {}): string {
  return text.replace(UNSAFE, (char) => (options.keepNewlines === true && char === '\n' ? char : standIn(char)));
}

/** Columns the text takes in a terminal: by grapheme cluster, wide and fullwidth characters and emoji take 2, marks 0. */
export function displayWidth(text: string): number {
  return stringWidth(text);
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** The text cut to at most `width` columns, never inside a grapheme cluster (an emoji or a letter with its accents), ending in … when cut. */
export function truncateToWidth(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  let kept = '';
  let used = 0;
  for (const { segment } of graphemes.segment(text)) {
    const segmentWidth = displayWidth(segment);
    if (used + segmentWidth > width - 1) break;
    kept += segment;
    used += segmentWidth;
  }
  return `${kept}…`;
}

/** The text followed by spaces up to `width` columns. */
export function padToWidth(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

// In JSON text, DuckDB already writes C0 controls as \u escapes; these it writes as they are.
const JSON_UNESCAPED_UNSAFE = /[\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]/g;

/**
 * A JSON line made safe for a terminal without changing any value: C1 and
 * bidi controls, line separators and invisible characters (which can only be
 * inside strings) written as \u escapes.
 */
export function terminalSafeJson(line: string): string {
  return line.replace(JSON_UNESCAPED_UNSAFE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
