import { readFile } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import type { ContentBuffer } from './content-buffer.js';
import { DocumentParseError } from './parse-error.js';

/**
 * Plain text and markdown are their own content. UTF-8 (a BOM is dropped), or UTF-16 when a BOM
 * says so (Windows Notepad's "Unicode"). Anything else (a NUL byte too) is a parse error naming the first bad byte's
 * line: text decoded with a guessed encoding would be silently wrong in the destination.
 */
export async function readTextDocument(source: string, content: ContentBuffer): Promise<void> {
  const bytes = await readFile(source);
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return content.append(new TextDecoder('utf-16le').decode(bytes.subarray(2)));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return content.append(new TextDecoder('utf-16be').decode(bytes.subarray(2)));
  const body = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  if (!isUtf8(body)) {
    const offset = firstInvalidUtf8(body);
    const line = body.subarray(0, offset).filter((byte) => byte === 0x0a).length + 1;
    throw new DocumentParseError(`it is not UTF-8 text: byte 0x${body[offset]!.toString(16).padStart(2, '0')} on line ${line} is not valid UTF-8 (save the file as UTF-8)`);
  }
  // NUL is valid UTF-8 but never text: it is UTF-16 saved without a BOM (every other byte NUL for
  // Latin letters) or a binary file, and most destinations refuse it in a string anyway.
  const nul = body.indexOf(0);
  if (nul !== -1) {
    const line = body.subarray(0, nul).filter((byte) => byte === 0x0a).length + 1;
    throw new DocumentParseError(`it is not UTF-8 text: it holds a NUL byte (0x00) on line ${line}, as UTF-16 text without a byte order mark or a binary file does (save the file as UTF-8)`);
  }
  content.append(body.toString('utf8'));
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let at = 0;
  while (at < bytes.length) {
    const lead = bytes[at]!;
    const length = lead < 0x80 ? 1 : lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    if (length === 0 || at + length > bytes.length) return at;
    for (let next = 1; next < length; next += 1) if ((bytes[at + next]! & 0xc0) !== 0x80) return at;
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF (their second byte tells).
    const second = bytes[at + 1] ?? 0;
    if ((lead === 0xe0 && second < 0xa0) || (lead === 0xed && second > 0x9f) || (lead === 0xf0 && second < 0x90) || (lead === 0xf4 && second > 0x8f)) return at;
    at += length;
  }
  return Math.min(at, bytes.length - 1);
}
