import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { SaxesTagPlain } from 'saxes';
import { requireCjs } from '../../cjs-require.js';
import { configError } from '../../protocol/errors.js';
import { reason } from './xlsx-archive.js';

/** What a part's reader sees: elements by local name (writers may prefix them: `x:c`), attributes as written. */
export interface XmlHandlers {
  open?(name: string, attributes: Record<string, string>): void;
  text?(text: string): void;
  close?(name: string): void;
}

/**
 * Parses a part of the workbook as it streams, chunk by chunk. After each chunk `drain` runs (the
 * sheet reader writes the rows that chunk completed), so memory holds one chunk's rows. `drain`
 * returning false stops the parse early (a sample that is big enough).
 */
export async function parseXmlPart(stream: Readable, part: string, url: string, handlers: XmlHandlers, drain?: () => Promise<boolean>): Promise<void> {
  const { SaxesParser } = requireCjs('saxes') as typeof import('saxes');
  const parser = new SaxesParser({ xmlns: false });
  const localName = (name: string) => name.slice(name.indexOf(':') + 1);
  if (handlers.open !== undefined) {
    const open = handlers.open;
    parser.on('opentag', (tag: SaxesTagPlain) => open(localName(tag.name), tag.attributes as Record<string, string>));
  }
  if (handlers.text !== undefined) {
    parser.on('text', handlers.text);
    parser.on('cdata', handlers.text);
  }
  if (handlers.close !== undefined) {
    const close = handlers.close;
    parser.on('closetag', (tag) => close(localName(tag.name)));
  }
  // A chunk may end inside a multi-byte character: the decoder keeps it for the next one.
  const decoder = new StringDecoder('utf8');
  try {
    for await (const chunk of stream) {
      parser.write(decoder.write(chunk as Buffer));
      if (drain !== undefined && !(await drain())) {
        stream.destroy();
        return;
      }
    }
    parser.write(decoder.end());
    parser.close();
  } catch (error) {
    stream.destroy();
    if (error instanceof Error && error.name === 'ConnectorError') throw error;
    throw configError(`${url} is not a readable .xlsx workbook: ${part} is damaged (${reason(error)}).`, { cause: error });
  }
}

/** An attribute by local name (`r:id` is written with whatever prefix the writer chose). */
export function attribute(attributes: Record<string, string>, name: string): string | undefined {
  if (attributes[name] !== undefined) return attributes[name];
  for (const [key, value] of Object.entries(attributes)) if (key.slice(key.indexOf(':') + 1) === name && key.includes(':')) return value;
  return undefined;
}
