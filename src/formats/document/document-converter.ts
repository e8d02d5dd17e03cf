import { stat, writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { ConvertedFormat } from '../../engine/formats.js';
import { configError } from '../../protocol/errors.js';
import { settings } from '../../settings.js';
import type { Converter, ConversionRequest, DeclaredColumn } from '../converter.js';
import { ContentBuffer } from './content-buffer.js';
import { readDocxDocument } from './docx-document.js';
import { DocumentParseError, parseErrorFrom } from './parse-error.js';
import { readPdfDocument } from './pdf-document.js';
import { readTextDocument } from './text-document.js';

/** A document stream's columns: one record per file (as Airbyte's document streams). */
export const DOCUMENT_COLUMNS: DeclaredColumn[] = [
  { name: 'content', type: 'VARCHAR' },
  { name: 'document_key', type: 'VARCHAR' },
  { name: '_ab_source_file_parse_error', type: 'VARCHAR' },
];

type DocumentReader = (source: string, content: ContentBuffer, maxBytes: number) => Promise<void>;

/** The document kinds read, by file name ending; each in its own module. */
const READERS: Record<string, DocumentReader> = {
  '.md': readTextDocument,
  '.markdown': readTextDocument,
  '.txt': readTextDocument,
  '.pdf': readPdfDocument,
  '.docx': readDocxDocument,
};

/**
 * One record per document: `content` (text; markdown for Word documents), `document_key` (the
 * object's key) and `_ab_source_file_parse_error`. A document that cannot be parsed fails the
 * stream naming it, or with on_error skip is a record with content null and the reason.
 */
export function documentConverter(format: Extract<ConvertedFormat, { filetype: 'document' }>): Converter {
  return {
    name: 'document',
    convert: async (request) => {
      let content: string | null = null;
      let parseError: string | null = null;
      try {
        content = await parseDocument(request);
      } catch (error) {
        // Reading the staged copy or writing beside it is no parse error (a full disk, say).
        if (!(error instanceof DocumentParseError)) throw error;
        if (format.skipUnprocessable !== true) {
          throw configError(
            `${request.url} could not be parsed as a document: ${error.message}. To sync such files as records with content null and the reason in _ab_source_file_parse_error, set the stream's on_error to skip.`,
          );
        }
        parseError = error.message;
      }
      const line = JSON.stringify({ content, document_key: request.key, _ab_source_file_parse_error: parseError });
      await writeFile(request.target, `${line}\n`, { mode: 0o600 });
      return { rows: 1, columns: DOCUMENT_COLUMNS };
    },
  };
}

async function parseDocument(request: ConversionRequest): Promise<string> {
  const extension = extname(request.key).toLowerCase();
  const reader = READERS[extension];
  if (reader === undefined) {
    throw new DocumentParseError(`${extension === '' ? 'a file without an extension' : `${extension}`} is not a document type this connector reads (${Object.keys(READERS).join(', ')}); narrow the stream's globs to leave such files out`);
  }
  const { documentMaxBytes, documentMaxContentBytes } = settings();
  const { size } = await stat(request.source);
  if (size > documentMaxBytes) {
    throw new DocumentParseError(`it is ${size} bytes, more than SOURCE_S3_DOCUMENT_MAX_BYTES (${documentMaxBytes}) of document parsed in memory; raise that setting to read it`);
  }
  const content = new ContentBuffer(documentMaxContentBytes, request.maxOutputBytes);
  try {
    await reader(request.source, content, documentMaxBytes);
  } catch (error) {
    if (error instanceof DocumentParseError || !isFileSystemError(error)) throw parseErrorFrom(error, `the ${extension.slice(1)} file cannot be parsed`);
    throw error;
  }
  return content.text();
}

function isFileSystemError(error: unknown): boolean {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === 'string';
}
