import { readFile } from 'node:fs/promises';
import { requireCjs } from '../../cjs-require.js';
import type { ContentBuffer } from './content-buffer.js';
import { htmlToMarkdown } from './html-markdown.js';
import { parseErrorFrom } from './parse-error.js';
import { checkZipInflatedSize } from './zip-size.js';

/** A .docx inflates to XML about ten times its size; past that much per byte of file, refuse it (a zip bomb). */
const MAX_INFLATION = 10;

/**
 * A Word document as markdown: mammoth reads its structure (headings by style, lists, tables,
 * bold, italic, links) into HTML, which html-markdown.ts writes as markdown. Images are left out
 * (their alt text kept), so a document full of pictures costs no base64.
 */
export async function readDocxDocument(source: string, content: ContentBuffer, maxBytes: number): Promise<void> {
  const bytes = await readFile(source);
  const limit = Math.max(maxBytes, bytes.length) * MAX_INFLATION;
  await checkZipInflatedSize(
    bytes,
    limit,
    (inflated) => `it would inflate to ${inflated} bytes, more than ${MAX_INFLATION} times SOURCE_S3_DOCUMENT_MAX_BYTES (${maxBytes}); raise that setting to read it`,
  );
  // Loaded here, not at start: most runs never meet a Word document.
  const mammoth = requireCjs('mammoth') as typeof import('mammoth');
  let html: string;
  try {
    const result = await mammoth.convertToHtml(
      { buffer: bytes },
      { convertImage: mammoth.images.imgElement(async () => ({ src: '' })), ignoreEmptyParagraphs: true },
    );
    html = result.value;
  } catch (error) {
    throw parseErrorFrom(error, 'it is not a valid Word document');
  }
  content.append(htmlToMarkdown(html));
}
