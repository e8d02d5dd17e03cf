import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ContentBuffer } from './content-buffer.js';
import { DocumentParseError, parseErrorFrom } from './parse-error.js';
import { formFieldLines, type WidgetAnnotation } from './pdf-form-fields.js';

/** Between two pages' text: a form feed on its own line, as pdftotext separates pages. */
export const PDF_PAGE_SEPARATOR = '\n\f\n';

/**
 * A PDF's text, page by page in the order its content draws it (pdfjs, the PDF reader of Firefox):
 * a line break where the PDF ends a line. Each page is released before the next is parsed. No
 * worker thread, no font or network fetch: only the character maps shipped with pdfjs are read
 * (needed to turn CJK fonts' glyphs into text). A filled form's field values follow its page's text.
 */
export async function readPdfDocument(source: string, content: ContentBuffer): Promise<void> {
  // Loaded here, not at start: most runs never meet a PDF.
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  const assets = dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
  const task = pdfjs.getDocument({
    data: new Uint8Array(await readFile(source)),
    // 0: no warnings, which pdfjs writes with console.log, i.e. on stdout, among the protocol messages.
    verbosity: 0,
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    cMapUrl: `${join(assets, 'cmaps')}/`,
    cMapPacked: true,
    standardFontDataUrl: `${join(assets, 'standard_fonts')}/`,
  });
  try {
    let pdf;
    try {
      pdf = await task.promise;
    } catch (error) {
      throw openError(error);
    }
    for (let number = 1; number <= pdf.numPages && !content.done; number += 1) {
      try {
        const page = await pdf.getPage(number);
        const text = await page.getTextContent();
        let pageText = '';
        for (const item of text.items) {
          if (!('str' in item)) continue;
          pageText += item.str;
          if (item.hasEOL) pageText += '\n';
        }
        // A damaged annotation costs its form values, never the page's text.
        const fields = formFieldLines(((await page.getAnnotations().catch(() => [])) ?? []) as WidgetAnnotation[]);
        page.cleanup();
        const withFields = [pageText.trim(), ...fields].filter((part) => part !== '').join('\n');
        content.append(`${number > 1 ? PDF_PAGE_SEPARATOR : ''}${withFields}`);
      } catch (error) {
        if (error instanceof DocumentParseError) throw error;
        throw parseErrorFrom(error, `its page ${number} cannot be read`);
      }
    }
  } finally {
    await task.destroy();
  }
}

function openError(error: unknown): DocumentParseError {
  const name = error instanceof Error ? error.name : '';
  if (name === 'PasswordException') return new DocumentParseError('the PDF is encrypted with a password; this connector reads only PDFs that open without one');
  if (name === 'InvalidPDFException') return parseErrorFrom(error, 'it is not a valid PDF (damaged, truncated, or another kind of file named .pdf)');
  return parseErrorFrom(error, 'the PDF cannot be opened');
}
