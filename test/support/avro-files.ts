import { Writable } from 'node:stream';
import { createRequire } from 'node:module';
import { crc32 } from 'node:zlib';

/**
 * Avro object container files made by real writers, in memory: avsc's BlockEncoder, and Apache
 * Avro's own JavaScript implementation (avro-js), an independent writer of the same format.
 */
const require = createRequire(import.meta.url);
const avsc = require('avsc') as typeof import('avsc');
const snappyjs = require('snappyjs') as { compress(input: Uint8Array): Uint8Array };
// avro-js's index pulls a deprecated validator needing a package it does not depend on: its file module is the writer.
const avroJs = require('avro-js/lib/files.js') as {
  streams: { BlockEncoder: new (schema: unknown, options?: Record<string, unknown>) => NodeJS.ReadWriteStream };
};

type Compress = (data: Buffer, done: (error: Error | null, compressed?: Buffer) => void) => void;

/** Avro's snappy codec: snappy bytes, then the big-endian CRC32 of the uncompressed data. */
const snappyCodec: Compress = (data, done) => {
  const checksum = Buffer.alloc(4);
  checksum.writeUInt32BE(crc32(data));
  done(null, Buffer.concat([Buffer.from(snappyjs.compress(data)), checksum]));
};

/**
 * A zstandard frame of raw (stored) blocks, written by hand from RFC 8878: no compressor for it is
 * a dependency here, and a stored frame is still a frame every zstd decoder must read.
 */
const zstdStoredCodec: Compress = (data, done) => {
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.from([0x00, 0x58])]; // magic; no checksum, window 2^(10+11)
  const MAX = 128 * 1024;
  for (let start = 0; start === 0 || start < data.length; start += MAX) {
    const chunk = data.subarray(start, start + MAX);
    const last = start + MAX >= data.length ? 1 : 0;
    const header = (chunk.length << 3) | (0 << 1) | last; // Raw_Block
    parts.push(Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff]), chunk);
  }
  done(null, Buffer.concat(parts));
};

export type AvroCodec = 'null' | 'deflate' | 'snappy' | 'zstandard';

async function collect(encoder: NodeJS.ReadWriteStream, records: unknown[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  const finished = new Promise<void>((resolve, reject) => {
    sink.on('finish', resolve);
    encoder.on('error', reject);
  });
  encoder.pipe(sink);
  for (const record of records) encoder.write(record as never);
  encoder.end();
  await finished;
  return Buffer.concat(chunks);
}

/** An Avro file written by avsc. `blockSize` small: many blocks. Longs past 2^53 are given as BigInt. */
export function avscFile(schema: unknown, records: unknown[], options: { codec?: AvroCodec; blockSize?: number; syncMarker?: Buffer } = {}): Promise<Buffer> {
  const long = avsc.types.LongType.__with({
    fromBuffer: (buffer: Buffer) => buffer.readBigInt64LE(0),
    toBuffer: (value: bigint | number) => {
      const buffer = Buffer.alloc(8);
      buffer.writeBigInt64LE(BigInt(value));
      return buffer;
    },
    fromJSON: (value: number) => BigInt(value),
    toJSON: (value: bigint) => Number(value),
    isValid: (value: unknown) => typeof value === 'bigint' || Number.isInteger(value),
    compare: () => 0,
  });
  const typeHook = (node: unknown) => (node === 'long' || (typeof node === 'object' && node !== null && (node as { type?: unknown }).type === 'long') ? long : undefined);
  const type = avsc.Type.forSchema(schema as never, { registry: { long } as never, typeHook: typeHook as never, wrapUnions: true });
  const encoder = new avsc.streams.BlockEncoder(type, {
    codec: options.codec ?? 'null',
    codecs: { null: (data: Buffer, done: Compress extends (a: Buffer, b: infer D) => void ? D : never) => done(null, data), deflate: require('node:zlib').deflateRaw, snappy: snappyCodec, zstandard: zstdStoredCodec },
    ...(options.blockSize === undefined ? {} : { blockSize: options.blockSize }),
    ...(options.syncMarker === undefined ? {} : { syncMarker: options.syncMarker }),
  } as never) as unknown as NodeJS.ReadWriteStream;
  // avsc writes the header's schema from the type, where its custom long type loses the
  // logicalType attributes: the header gets the schema as given (what avsc does for a schema).
  (encoder as unknown as { _schema: unknown })._schema = schema;
  return collect(encoder, records);
}

/** An Avro file written by Apache Avro's JavaScript implementation (avro-js). */
export function avroJsFile(schema: unknown, records: unknown[], options: { codec?: 'null' | 'deflate'; blockSize?: number } = {}): Promise<Buffer> {
  const encoder = new avroJs.streams.BlockEncoder(schema, { codec: options.codec ?? 'null', ...(options.blockSize === undefined ? {} : { blockSize: options.blockSize }) });
  return collect(encoder, records);
}
