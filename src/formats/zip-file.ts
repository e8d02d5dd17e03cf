import type { Entry, Options, ZipFile } from 'yauzl';
import { requireCjs } from '../cjs-require.js';

/** yauzl, loaded on the first zip a converter opens (.xlsx, .docx): commands that read neither do not load it. */
const yauzl = () => requireCjs('yauzl') as typeof import('yauzl');

/** A staged zip archive (a path) or one in memory (a buffer), opened for random access; entries read with `zipEntries`. */
export function openZip(source: string | Buffer, options: Options): Promise<ZipFile> {
  return new Promise<ZipFile>((resolve, reject) => {
    const done = (error: Error | null, file: ZipFile) => (error ? reject(error) : resolve(file));
    if (typeof source === 'string') yauzl().open(source, options, done);
    else yauzl().fromBuffer(source, options, done);
  });
}

/** Every entry of the archive's central directory, in order (the zip opened with `lazyEntries`). */
export function zipEntries(zip: ZipFile): Promise<Entry[]> {
  const entries: Entry[] = [];
  return new Promise((resolve, reject) => {
    zip.on('entry', (entry: Entry) => {
      entries.push(entry);
      zip.readEntry();
    });
    zip.on('end', () => resolve(entries));
    zip.on('error', reject);
    zip.readEntry();
  });
}
