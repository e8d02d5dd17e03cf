import { readFile, writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Converter, DeclaredColumn } from '../converter.js';

/** A document stream's columns: one record per file. */
export const DOCUMENT_COLUMNS: DeclaredColumn[] = [
  { name: 'content', type: 'VARCHAR' },
  { name: 'document_key', type: 'VARCHAR' },
  { name: '_ab_source_file_parse_error', type: 'VARCHAR' },
];

/** Plain text and markdown are their own content. */
async function textContent(source: string): Promise<string> {
  return (await readFile(source, 'utf8')).replace(/^\uFEFF/, '');
}

export const documentConverter: Converter = {
  name: 'document',
  convert: async (request) => {
    const extension = extname(request.key).toLowerCase();
    let content: string | null = null;
    let parseError: string | null = null;
    if (extension === '.md' || extension === '.txt') content = await textContent(request.source);
    else parseError = `${extension || 'a file without an extension'} is not a document type this connector reads (.md, .txt)`;
    const line = JSON.stringify({ content, document_key: request.key, _ab_source_file_parse_error: parseError });
    await writeFile(request.target, `${line}\n`, { mode: 0o600 });
    return { rows: 1, columns: DOCUMENT_COLUMNS };
  },
};
