import { DocumentParseError } from './parse-error.js';

const END_OF_DIRECTORY = 0x06054b50;
const DIRECTORY_ENTRY = 0x02014b50;

/**
 * The sum of a zip archive's declared uncompressed sizes, read from its central directory without
 * inflating anything: a .docx of a few KB can inflate to gigabytes (a zip bomb), and the Word
 * reader inflates its parts in memory. Throws a parse error when `bytes` is not a zip archive.
 */
export function zipUncompressedBytes(bytes: Buffer): number {
  const end = findEndOfDirectory(bytes);
  if (end < 0) throw new DocumentParseError('it is not a Word document: a .docx file is a zip archive, and this file is not one (renamed, damaged or truncated)');
  const entries = bytes.readUInt16LE(end + 10);
  let at = bytes.readUInt32LE(end + 16);
  let total = 0;
  for (let entry = 0; entry < entries; entry += 1) {
    if (at + 46 > bytes.length || bytes.readUInt32LE(at) !== DIRECTORY_ENTRY) throw new DocumentParseError('it is not a valid Word document: its zip directory is damaged');
    const size = bytes.readUInt32LE(at + 24);
    // 0xFFFFFFFF: the real size is in a ZIP64 field; at 4 GiB it is too large either way.
    total += size;
    at += 46 + bytes.readUInt16LE(at + 28) + bytes.readUInt16LE(at + 30) + bytes.readUInt16LE(at + 32);
  }
  return total;
}

/** Offset of the end-of-central-directory record: in the last 22 bytes, or before a comment of up to 64 KiB. */
function findEndOfDirectory(bytes: Buffer): number {
  for (let at = bytes.length - 22; at >= 0 && at >= bytes.length - 22 - 0xffff; at -= 1) {
    if (bytes.readUInt32LE(at) === END_OF_DIRECTORY) return at;
  }
  return -1;
}
