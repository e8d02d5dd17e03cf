import { open as openFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Entry } from 'yauzl';
import { configError } from '../../protocol/errors.js';
import { openZip, zipEntries } from '../zip-file.js';

/**
 * An .xlsx is a zip archive. The object is staged whole, so the archive is read with random access
 * (yauzl): its index first, then each part as a stream, in the order the reader needs them (shared
 * strings before the sheet), whatever order the writer stored them in. Nothing is unpacked to disk.
 */
export interface XlsxArchive {
  has(name: string): boolean;
  /** A part's bytes as a stream (inflated as it is read; sizes checked against the index). */
  open(name: string): Promise<Readable>;
  close(): void;
}

/** An OLE2 compound file: legacy .xls, or an .xlsx encrypted with a password (Office wraps it in one). */
const COMPOUND_FILE_MAGIC = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
/** The stream an encrypted workbook keeps inside its compound file. */
const ENCRYPTED_PACKAGE = Buffer.from('EncryptedPackage', 'utf16le');

export async function openXlsxArchive(path: string, url: string): Promise<XlsxArchive> {
  await refuseOtherContainers(path, url);
  const zip = await openZip(path, { lazyEntries: true, autoClose: false, strictFileNames: false, validateEntrySizes: true }).catch((error: unknown) => {
    throw configError(`${url} is not a readable .xlsx file (a zip archive): ${reason(error)}. Was the upload cut short, or is it another format?`, { cause: error });
  });
  const entries = new Map<string, Entry>();
  try {
    for (const entry of await zipEntries(zip)) entries.set(entry.fileName.replace(/\\/g, '/').replace(/^\//, ''), entry);
  } catch (error) {
    zip.close();
    throw configError(`${url} is not a readable .xlsx file: its zip index is damaged (${reason(error)}).`, { cause: error });
  }
  return {
    has: (name) => entries.has(name),
    open: (name) => {
      const entry = entries.get(name);
      if (entry === undefined) return Promise.reject(configError(`${url} is not a complete .xlsx workbook: it has no part ${name}.`));
      return new Promise<Readable>((resolve, reject) => {
        zip.openReadStream(entry, (error, stream) => (error ? reject(configError(`${url}: cannot read its part ${name}: ${reason(error)}.`, { cause: error })) : resolve(stream)));
      });
    },
    close: () => zip.close(),
  };
}

/** .xls and password-protected workbooks are not zip archives: say which one it is. */
async function refuseOtherContainers(path: string, url: string): Promise<void> {
  const file = await openFile(path, 'r');
  try {
    const head = Buffer.alloc(COMPOUND_FILE_MAGIC.length);
    await file.read(head, 0, head.length, 0);
    if (!head.equals(COMPOUND_FILE_MAGIC)) return;
    // The compound file's directory names its streams; it is small and near the start in practice.
    const directory = Buffer.alloc(1 << 20);
    const { bytesRead } = await file.read(directory, 0, directory.length, 0);
    if (directory.subarray(0, bytesRead).includes(ENCRYPTED_PACKAGE)) {
      throw configError(`${url} is a password-protected (encrypted) workbook, which cannot be read: save it without a password.`);
    }
    throw configError(`${url} is a legacy Excel 97-2003 (.xls) workbook, which is not supported: save it as .xlsx.`);
  } finally {
    await file.close();
  }
}

export function reason(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 200);
}
