/**
 * Markdown from the HTML mammoth writes for a Word document: a small, known vocabulary (headings,
 * paragraphs, lists, tables, bold, italic, strike, links, line breaks), well-formed and escaped.
 * Not an HTML parser for other input.
 */
interface Element {
  tag: string;
  attributes: Record<string, string>;
  children: Node[];
}
type Node = Element | string;

const VOID_TAGS = new Set(['br', 'img', 'hr']);

/**
 * Footnote and endnote numbers by note id ("footnote-20" -> "1"). mammoth links a note's reference
 * (`<a id="footnote-ref-20" href="#footnote-20">[1]</a>`) to its text at the end (`<li id="footnote-20">`,
 * with a back link): written as markdown footnotes, `[^1]` and `[^1]: text`, not links to anchors
 * that markdown does not have. Set for the one synchronous conversion that runs.
 */
let noteNumbers = new Map<string, string>();
const NOTE_REFERENCE = /^(footnote|endnote)-ref-(.+)$/;

export function htmlToMarkdown(html: string): string {
  const root = parse(html);
  noteNumbers = new Map();
  collectNoteNumbers(root);
  try {
    return blocks(root.children).join('\n\n').replace(/\n{3,}/g, '\n\n').trim();
  } finally {
    noteNumbers = new Map();
  }
}

function collectNoteNumbers(element: Element): void {
  for (const child of element.children) {
    if (typeof child === 'string') continue;
    const reference = child.tag === 'a' ? NOTE_REFERENCE.exec(child.attributes.id ?? '') : null;
    const label = /^\[(\d+)\]$/.exec(inline(child.children).trim());
    if (reference !== null && label !== null) noteNumbers.set(`${reference[1]}-${reference[2]}`, label[1]!);
    collectNoteNumbers(child);
  }
}

function parse(html: string): Element {
  const root: Element = { tag: 'root', attributes: {}, children: [] };
  const open: Element[] = [root];
  for (const match of html.matchAll(/<(\/?)([a-zA-Z0-9]+)([^>]*)>|([^<]+)/g)) {
    const parent = open[open.length - 1]!;
    if (match[4] !== undefined) {
      parent.children.push(decodeEntities(match[4]));
    } else if (match[1] === '/') {
      const at = open.map((element) => element.tag).lastIndexOf(match[2]!.toLowerCase());
      if (at > 0) open.length = at;
    } else {
      const element: Element = { tag: match[2]!.toLowerCase(), attributes: attributes(match[3] ?? ''), children: [] };
      parent.children.push(element);
      if (!VOID_TAGS.has(element.tag) && !match[3]?.endsWith('/')) open.push(element);
    }
  }
  return root;
}

function attributes(source: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const match of source.matchAll(/([a-zA-Z-]+)="([^"]*)"/g)) result[match[1]!.toLowerCase()] = decodeEntities(match[2]!);
  return result;
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos);/gi, (entity, name: string) => {
    const lower = name.toLowerCase();
    if (lower.startsWith('#x')) return String.fromCodePoint(Number.parseInt(lower.slice(2), 16));
    if (lower.startsWith('#')) return String.fromCodePoint(Number.parseInt(lower.slice(1), 10));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[lower] ?? entity;
  });
}

/** Block-level children, each rendered to one markdown block; inline runs between them form paragraphs. */
function blocks(nodes: Node[]): string[] {
  const result: string[] = [];
  let inlineRun: Node[] = [];
  const flush = () => {
    const text = inline(inlineRun).trim();
    if (text !== '') result.push(text);
    inlineRun = [];
  };
  for (const node of nodes) {
    if (typeof node === 'string' || !isBlock(node.tag)) {
      inlineRun.push(node);
      continue;
    }
    flush();
    const block = renderBlock(node);
    if (block.trim() !== '') result.push(block);
  }
  flush();
  return result;
}

function isBlock(tag: string): boolean {
  return /^(h[1-6]|p|ul|ol|table|blockquote|hr|div)$/.test(tag);
}

function renderBlock(element: Element): string {
  const heading = /^h([1-6])$/.exec(element.tag);
  if (heading) return `${'#'.repeat(Number(heading[1]))} ${inline(element.children).trim()}`;
  switch (element.tag) {
    case 'ul':
    case 'ol':
      return list(element, 0);
    case 'table':
      return table(element);
    case 'blockquote':
      return blocks(element.children)
        .join('\n\n')
        .split('\n')
        .map((line) => `> ${line}`)
        .join('\n');
    case 'hr':
      return '---';
    default:
      return blocks(element.children).join('\n\n');
  }
}

function list(element: Element, depth: number): string {
  const indent = '  '.repeat(depth);
  const lines: string[] = [];
  const items = element.children.filter((item): item is Element => typeof item !== 'string' && item.tag === 'li');
  if (items.length > 0 && items.every((item) => noteNumbers.has(item.attributes.id ?? ''))) {
    return items.map((item) => `[^${noteNumbers.get(item.attributes.id!)}]: ${blocks(item.children).join(' ').replace(/\n+/g, ' ')}`).join('\n');
  }
  let number = 1;
  for (const item of element.children) {
    if (typeof item === 'string' || item.tag !== 'li') continue;
    const nested = item.children.filter((child): child is Element => typeof child !== 'string' && (child.tag === 'ul' || child.tag === 'ol'));
    const own = item.children.filter((child) => typeof child === 'string' || (child.tag !== 'ul' && child.tag !== 'ol'));
    const marker = element.tag === 'ol' ? `${number}.` : '-';
    number += 1;
    lines.push(`${indent}${marker} ${blocks(own).join(' ').replace(/\n+/g, ' ')}`);
    for (const sublist of nested) lines.push(list(sublist, depth + 1));
  }
  return lines.join('\n');
}

/** A GitHub-style table: the first row is the header (Word tables have no other marker of one). */
function table(element: Element): string {
  const rows: string[][] = [];
  const collect = (node: Element) => {
    for (const child of node.children) {
      if (typeof child === 'string') continue;
      if (child.tag === 'tr') rows.push(child.children.filter((cell): cell is Element => typeof cell !== 'string' && (cell.tag === 'td' || cell.tag === 'th')).map(cell));
      else if (child.tag === 'thead' || child.tag === 'tbody' || child.tag === 'tfoot') collect(child);
    }
  };
  collect(element);
  if (rows.length === 0) return '';
  const width = Math.max(...rows.map((row) => row.length));
  const padded = rows.map((row) => [...row, ...Array.from({ length: width - row.length }, () => '')]);
  const line = (row: string[]) => `| ${row.join(' | ')} |`;
  return [line(padded[0]!), line(padded[0]!.map(() => '---')), ...padded.slice(1).map(line)].join('\n');
}

function cell(element: Element): string {
  return blocks(element.children).join(' ').replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|').trim();
}

function inline(nodes: Node[]): string {
  return nodes.map(inlineNode).join('');
}

function inlineNode(node: Node): string {
  if (typeof node === 'string') return node;
  const text = () => inline(node.children);
  switch (node.tag) {
    case 'strong':
    case 'b':
      return wrap(text(), '**');
    case 'em':
    case 'i':
      return wrap(text(), '*');
    case 's':
    case 'del':
      return wrap(text(), '~~');
    case 'br':
      return '\n';
    case 'a': {
      const href = node.attributes.href;
      const reference = NOTE_REFERENCE.exec(node.attributes.id ?? '');
      const number = reference === null ? undefined : noteNumbers.get(`${reference[1]}-${reference[2]}`);
      if (number !== undefined) return `[^${number}]`;
      // The back link after a note's text: markdown footnotes have their own.
      if (href !== undefined && NOTE_REFERENCE.test(href.slice(1)) && noteNumbers.has(href.slice(1).replace('-ref-', '-'))) return '';
      const label = text();
      return href === undefined || href === '' || label.trim() === '' ? label : `[${label}](${href})`;
    }
    case 'img':
      return node.attributes.alt ? `[image: ${node.attributes.alt}]` : '';
    default:
      return isBlock(node.tag) ? `\n${renderBlock(node)}\n` : text();
  }
}

/** `**bold** `, not `** bold **` (which markdown does not read as bold): markers hug the text. */
function wrap(text: string, marker: string): string {
  const match = /^(\s*)([\s\S]*?)(\s*)$/.exec(text)!;
  return match[2] === '' ? text : `${match[1]}${marker}${match[2]}${marker}${match[3]}`;
}
