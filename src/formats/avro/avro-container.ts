import { open, type FileHandle } from 'node:fs/promises';
import { requireCjs } from '../../cjs-require.js';
import { AvroCodecError, codecFor, MAX_BLOCK_BYTES } from './avro-codecs.js';

/** What is wrong with a file's bytes; the caller names the file. */
export class AvroFileError extends Error {}

export interface AvroHeader {
  /** The writer schema (parsed JSON). */
  schema: unknown;
  codec: string;
}

export interface AvroBlock {
  /** 1-based, for messages. */
  index: number;
  count: number;
  /** The decompressed records. */
  data: Buffer;
}

const MAGIC = Buffer.from('Obj\u0001', 'latin1');
const SYNC_BYTES = 16;
const READ_CHUNK = 1024 * 1024;
/**
 * Records beyond a block's byte count a block may claim. A record takes at least a byte unless its
 * schema encodes in none (a record without fields, or of null fields only): then nothing but the
 * count says how many there are, and a 30-byte file claiming 2^53 of them would write JSON lines
 * for ever. Beyond this many such records the block is refused as damaged.
 */
export const MAX_EMPTY_RECORDS_PER_BLOCK = 1_000_000;
/** A header past this is not a real Avro header (schemas are kilobytes): refused rather than buffered. */
const MAX_HEADER_BYTES = 64 * 1024 * 1024;

type AvscType = { decode(buffer: Buffer, position?: number): { value: unknown; offset: number } };

/**
 * An Avro object container file read from its start, block by block: the header (magic, metadata,
 * sync marker), then each block (record count, size, data, sync marker). Only one block is held in
 * memory at a time. `complete` false: the file is a prefix of the object, and a cut block ends it
 * quietly; true: a cut is a truncated file.
 */
export class AvroContainer {
  private buffer = Buffer.alloc(0);
  private position = 0;
  private offset = 0;
  private ended = false;
  private sync: Buffer = Buffer.alloc(0);
  private blocks = 0;

  private constructor(
    private readonly handle: FileHandle,
    private readonly complete: boolean,
  ) {}

  static async open(path: string, complete: boolean): Promise<AvroContainer> {
    return new AvroContainer(await open(path, 'r'), complete);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  /** True when the file has no bytes at all (an empty object is no rows, not a broken file). */
  async isEmpty(): Promise<boolean> {
    return !(await this.fill(1));
  }

  async header(): Promise<AvroHeader> {
    await this.fill(MAGIC.length);
    if (!this.available(MAGIC.length) || !this.buffer.subarray(this.position, this.position + MAGIC.length).equals(MAGIC)) {
      throw new AvroFileError('does not start with the Avro magic bytes "Obj\\x01": it is not an Avro object container file');
    }
    let decoded: { value: unknown; offset: number };
    for (;;) {
      try {
        decoded = headerType().decode(this.buffer, this.position);
      } catch {
        throw new AvroFileError('has a header that does not decode (its metadata is damaged)');
      }
      if (decoded.offset >= 0) break;
      const have = this.buffer.length - this.position;
      if (have > MAX_HEADER_BYTES) throw new AvroFileError(`has a header larger than ${MAX_HEADER_BYTES / 1024 / 1024} MiB: it is damaged`);
      if (!(await this.fill(have + READ_CHUNK))) throw this.cut(this.complete ? 'inside its header' : 'inside its header (the part read for the sample holds no whole header)', true);
    }
    this.position = decoded.offset;
    const { meta, sync } = decoded.value as { meta: Record<string, Buffer>; sync: Buffer };
    this.sync = Buffer.from(sync);
    const schemaText = meta['avro.schema']?.toString('utf8');
    if (schemaText === undefined) throw new AvroFileError('has no avro.schema in its header: it is damaged');
    let schema: unknown;
    try {
      schema = JSON.parse(schemaText);
    } catch {
      throw new AvroFileError('has a writer schema (avro.schema) that is not JSON: it is damaged');
    }
    const codec = meta['avro.codec']?.toString('utf8') || 'null';
    return { schema, codec };
  }

  /** The blocks after the header, decompressed with `codec`. */
  async *eachBlock(codec: string): AsyncGenerator<AvroBlock> {
    const decompress = codecFor(codec);
    for (;;) {
      if (!(await this.fill(1))) return;
      const start = this.offset + this.position;
      const count = await this.varint('its record count');
      if (count === undefined) return;
      const size = await this.varint('its size');
      if (size === undefined) return;
      const index = ++this.blocks;
      if (count < 0 || size < 0) throw new AvroFileError(`has a block (${index}, at byte ${start}) with a negative record count or size: it is damaged`);
      if (size > MAX_BLOCK_BYTES) throw new AvroFileError(`has a block (${index}, at byte ${start}) of ${size} bytes, more than the ${MAX_BLOCK_BYTES / 1024 / 1024} MiB this reader holds at once`);
      if (!(await this.fill(size + SYNC_BYTES))) {
        if (!this.complete) return;
        throw this.cut(`inside block ${index} (which starts at byte ${start})`, false);
      }
      const compressed = this.buffer.subarray(this.position, this.position + size);
      const sync = this.buffer.subarray(this.position + size, this.position + size + SYNC_BYTES);
      if (!sync.equals(this.sync)) {
        throw new AvroFileError(`has a sync marker after block ${index} (at byte ${this.offset + this.position + size}) that differs from its header's: the file is damaged or was joined from several files`);
      }
      this.position += size + SYNC_BYTES;
      let data: Buffer;
      try {
        data = decompress(Buffer.from(compressed));
      } catch (error) {
        if (error instanceof AvroCodecError) throw new AvroFileError(`${error.message} (block ${index}, at byte ${start})`);
        throw error;
      }
      if (count > data.length + MAX_EMPTY_RECORDS_PER_BLOCK) {
        throw new AvroFileError(`has a block (${index}, at byte ${start}) that claims ${count} records in ${data.length} bytes, more than its bytes can hold: it is damaged`);
      }
      yield { index, count, data };
    }
  }

  /** A zig-zag varint long at the position; undefined when a prefix ends in it. */
  private async varint(what: string): Promise<number | undefined> {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (!(await this.fill(1))) {
        if (!this.complete) return undefined;
        throw this.cut(`inside the header of block ${this.blocks + 1} (${what})`, false);
      }
      const byte = this.buffer[this.position++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) {
        const value = (result >> 1n) ^ -(result & 1n);
        if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) throw new AvroFileError(`has a block whose ${what.replace(/^its /, '')} is out of range: it is damaged`);
        return Number(value);
      }
    }
    throw new AvroFileError(`has a block whose ${what.replace(/^its /, '')} is not a valid number: it is damaged`);
  }

  private cut(where: string, header: boolean): AvroFileError {
    return new AvroFileError(
      header && !this.complete
        ? `ends ${where}`
        : `ends ${where}, at byte ${this.offset + this.buffer.length}: the object is cut short (an interrupted upload?). Upload it again, or narrow the stream's globs to leave it out`,
    );
  }

  private available(bytes: number): boolean {
    return this.buffer.length - this.position >= bytes;
  }

  /** Reads until `bytes` are available from the position; false when the file ends first. */
  private async fill(bytes: number): Promise<boolean> {
    while (!this.available(bytes)) {
      if (this.ended) return false;
      // Keep only what is not read yet, then append the next chunk.
      const rest = this.buffer.subarray(this.position);
      const chunk = Buffer.allocUnsafe(Math.max(READ_CHUNK, bytes - rest.length));
      const { bytesRead } = await this.handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) this.ended = true;
      this.offset += this.position;
      this.buffer = Buffer.concat([rest, chunk.subarray(0, bytesRead)]);
      this.position = 0;
    }
    return true;
  }
}

let header: AvscType | undefined;

/** The container header, as the Avro spec defines it, decoded by avsc. */
function headerType(): AvscType {
  header ??= (requireCjs('avsc') as typeof import('avsc')).Type.forSchema({
    type: 'record',
    name: 'org.apache.avro.file.Header',
    fields: [
      { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
      { name: 'meta', type: { type: 'map', values: 'bytes' } },
      { name: 'sync', type: { type: 'fixed', name: 'Sync', size: 16 } },
    ],
  }) as unknown as AvscType;
  return header;
}
