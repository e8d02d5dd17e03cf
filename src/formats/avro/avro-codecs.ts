import { crc32, inflateRawSync } from 'node:zlib';
import { requireCjs } from '../../cjs-require.js';

/** Most bytes one block may decompress to: a block is held in memory whole, so a "zip bomb" must stop here. */
export const MAX_BLOCK_BYTES = 512 * 1024 * 1024;

/** Why a block could not be decompressed, or a codec this reader does not know; the caller names the file. */
export class AvroCodecError extends Error {}

type Decompress = (block: Buffer) => Buffer;

/** The block decompressor of an `avro.codec` (absent: null); an unknown codec fails before any block is read. */
export function codecFor(codec: string): Decompress {
  switch (codec) {
    case 'null':
      return (block) => block;
    case 'deflate':
      // RFC 1951 raw deflate, as the Avro spec says (no zlib header).
      return (block) => guard(() => inflateRawSync(block, { maxOutputLength: MAX_BLOCK_BYTES }));
    case 'snappy':
      return snappyBlock;
    case 'zstandard':
      return (block) => guard(() => Buffer.from(fzstd().decompress(block)));
    default:
      throw new AvroCodecError(`uses the codec "${codec.slice(0, 40)}", which this connector cannot read (it reads null, deflate, snappy and zstandard); rewrite the file with one of those`);
  }
}

/** Avro's snappy blocks: the compressed bytes, then the CRC32 (big-endian) of the uncompressed ones, which is checked. */
function snappyBlock(block: Buffer): Buffer {
  if (block.length < 4) throw new AvroCodecError('has a snappy block shorter than its 4-byte checksum');
  const data = guard(() => Buffer.from(snappy().uncompress(block.subarray(0, block.length - 4), MAX_BLOCK_BYTES)));
  const expected = block.readUInt32BE(block.length - 4);
  if (crc32(data) !== expected) throw new AvroCodecError('has a snappy block whose checksum does not match its data (the file is damaged)');
  return data;
}

function guard(decompress: () => Buffer): Buffer {
  try {
    return decompress();
  } catch (error) {
    if (error instanceof AvroCodecError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new AvroCodecError(`has a block that does not decompress (${reason.slice(0, 120)}): the file is damaged or its codec header is wrong`);
  }
}

// Loaded on first use: most runs read no snappy or zstandard Avro.
const snappy = () => requireCjs('snappyjs') as { uncompress(input: Uint8Array, maxLength?: number): Uint8Array };
const fzstd = () => requireCjs('fzstd') as typeof import('fzstd');
