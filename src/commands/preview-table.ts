import { displayWidth, padToWidth, truncateToWidth, visibleText } from './terminal-text.js';

/** Widest a cell is shown, in terminal columns; longer values end in …. */
const MAX_CELL_WIDTH = 40;

/** How SQL NULL is shown. Text that reads the same is quoted, so the two never look alike. */
export const NULL_CELL = 'NULL';

/**
 * A cell from a value's JSON text as `read` emits it: NULL for SQL NULL;
 * numbers with every digit; nested values as their JSON. Text is shown as it
 * is, unless it could pass for something else: the empty text, the text
 * "NULL" and text already between single quotes are shown as SQL literals
 * ('' , 'NULL', '''a''').
 */
export function cellText(raw: string | undefined): string {
  if (raw === undefined || raw === 'null') return NULL_CELL;
  if (!raw.startsWith('"')) return raw;
  const text = JSON.parse(raw) as string;
  const quoted = text === '' || text === NULL_CELL || (text.startsWith("'") && text.endsWith("'"));
  return quoted ? `'${text.replace(/'/g, "''")}'` : text;
}

/**
 * A plain-text table with a header and a rule, safe to print to a terminal:
 * control characters are shown as visible stand-ins (so a newline or tab in a
 * cell stays on its line), and columns are padded by display width, so wide
 * (CJK) characters and emoji line up.
 */
export function renderTable(names: string[], rows: string[][]): string {
  const fit = (text: string) => truncateToWidth(visibleText(text), MAX_CELL_WIDTH);
  const header = names.map(fit);
  const cells = rows.map((row) => row.map(fit));
  const widths = header.map((name, index) => Math.max(displayWidth(name), ...cells.map((row) => displayWidth(row[index] ?? ''))));
  const line = (values: string[]) =>
    values
      .map((value, index) => padToWidth(value, widths[index]!))
      .join(' | ')
      .replace(/ +$/, '');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('-+-'), ...cells.map(line)].join('\n');
}
