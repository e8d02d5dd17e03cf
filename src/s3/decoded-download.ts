import { open } from 'node:fs/promises';
import type { Bucket } from './bucket.js';
import { BlankScan, contentCheck } from './content-check.js';
import { readObjectBytes, writeAt } from './object-reader.js';
import type { S3Object } from './settings.js';
import { readMemberText } from './zip-member.js';

/**
 * Writes the text of a .bz2 object or of a zip member to `path` (created or truncated, mode 0600),
 * decompressed as it arrives: memory holds a block at a time, never the file. The text is proved
 * complete (bzip2's end-of-stream marker and block CRCs; a member's CRC-32 and size) before it counts.
 */
export async function downloadDecoded(bucket: Bucket, object: S3Object, path: string): Promise<{ fetched: number; blank: boolean }> {
  const handle = await open(path, 'w', 0o600);
  try {
    let position = 0;
    const write = async (text: Buffer) => {
      await writeAt(handle, text, position);
      position += text.length;
    };
    if (object.member !== undefined) {
      const scan = new BlankScan();
      const fetched = await readMemberText(bucket, object, async (text) => {
        scan.add(text);
        await write(text);
      });
      return { fetched, blank: scan.end() };
    }
    const check = contentCheck(object.size === 0 ? 'none' : 'bzip2', `s3://${bucket.name}/${object.key}`, write);
    const fetched = await readObjectBytes(bucket, object, { start: 0, end: object.size - 1 }, (chunk) => check.push(chunk));
    await check.end();
    // A zero-byte object: nothing to decompress, nothing written.
    return { fetched, blank: check.blank };
  } finally {
    await handle.close();
  }
}
