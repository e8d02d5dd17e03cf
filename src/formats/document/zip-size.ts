import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { openZip, zipEntries } from '../zip-file.js';
import { DocumentParseError } from './parse-error.js';

/**
 * Checks that a zip archive (a .docx) inflates to at most `maxBytes`, before a reader that inflates
 * its parts in memory (mammoth, through JSZip) sees it: a .docx of a few KB can inflate to
 * gigabytes (a zip bomb). The sizes its directory declares are summed first; then every part is
 * inflated as a stream into nothing, with yauzl stopping a part at the first byte past its declared
 * size, because an attacker writes whatever sizes they like there (JSZip inflates a part whole
 * before it compares sizes). Memory stays one chunk; time is bounded by `maxBytes`.
 * Throws a parse error when `bytes` is not a zip archive or a part is not what its entry says.
 */
export async function checkZipInflatedSize(bytes: Buffer, maxBytes: number, tooLarge: (declared: number) => string): Promise<void> {
  const zip = await openZip(bytes, { lazyEntries: true, validateEntrySizes: true, strictFileNames: false }).catch((error: unknown) => {
    throw new DocumentParseError(`it is not a Word document: a .docx file is a zip archive, and this file is not one (renamed, damaged or truncated: ${reason(error)})`);
  });
  try {
    const entries = await zipEntries(zip);
    const declared = entries.reduce((total, entry) => total + entry.uncompressedSize, 0);
    if (declared > maxBytes) throw new DocumentParseError(tooLarge(declared));
    for (const entry of entries) {
      if (entry.fileName.endsWith('/')) continue;
      const stream = await new Promise<Readable>((resolve, reject) => zip.openReadStream(entry, (error, opened) => (error ? reject(error) : resolve(opened))));
      await pipeline(stream, new Writable({ write: (_chunk, _encoding, done) => done() }));
    }
  } catch (error) {
    if (error instanceof DocumentParseError) throw error;
    throw new DocumentParseError(`it is not a valid Word document: its zip archive is damaged or a part inflates past the size its directory declares (${reason(error)})`);
  } finally {
    zip.close();
  }
}

function reason(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 160);
}
