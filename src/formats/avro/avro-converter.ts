import { configError } from '../../protocol/errors.js';
import { requireCjs } from '../../cjs-require.js';
import type { ConversionRequest, ConversionResult, Converter } from '../converter.js';
import { AvroCodecError } from './avro-codecs.js';
import { AvroContainer, AvroFileError } from './avro-container.js';
import { rowJson } from './avro-json.js';
import { avroShape, AvroSchemaError, declaredColumns, type AvroRecord } from './avro-schema.js';
import { LineOutput } from '../line-output.js';

/**
 * Avro object container files: decoded block by block (avsc decodes the records of the writer
 * schema), written as JSON Lines as they come; the columns are the writer schema's. A discover or
 * check sample reads the object's first SAMPLE_PREFIX_BYTES only (header and whole blocks).
 */
const SAMPLE_PREFIX_BYTES = 4 * 1024 * 1024;

export const avroConverter: Converter = {
  name: 'Avro',
  samplePrefixBytes: SAMPLE_PREFIX_BYTES,
  convert: async (request) => {
    try {
      return await convertAvro(request);
    } catch (error) {
      if (error instanceof AvroFileError || error instanceof AvroSchemaError || error instanceof AvroCodecError) {
        throw configError(`${request.url} could not be read as Avro: it ${error.message}.`, { internalMessage: error.message });
      }
      throw error;
    }
  },
};

async function convertAvro(request: ConversionRequest): Promise<ConversionResult> {
  const container = await AvroContainer.open(request.source, request.complete);
  const output = new LineOutput(request.target);
  try {
    // A zero-byte object holds no rows (and declares no columns): like an empty CSV.
    if (await container.isEmpty()) {
      await output.close();
      return { rows: 0 };
    }
    const header = await container.header();
    const type = writerType(header.schema);
    const shape = avroShape(header.schema);
    const columns = declaredColumns(shape);
    for await (const block of container.eachBlock(header.codec)) {
      let position = 0;
      for (let row = 0; row < block.count; row++) {
        const decoded = decodeRecord(type, block.data, position, block.index);
        position = decoded.offset;
        await output.write(rowJson(shape as AvroRecord, decoded.value));
        if (request.maxOutputBytes !== undefined && output.bytes >= request.maxOutputBytes) {
          await output.close();
          return { rows: output.rows, columns };
        }
      }
      if (position !== block.data.length) throw new AvroFileError(`has a block (${block.index}) with ${block.data.length - position} bytes after its ${block.count} records: it is damaged or its schema is not the one its records were written with`);
    }
    await output.close();
    return { rows: output.rows, columns };
  } catch (error) {
    output.destroy();
    throw error;
  } finally {
    await container.close();
  }
}

type AvscType = { decode(buffer: Buffer, position?: number): { value: unknown; offset: number } };

function decodeRecord(type: AvscType, data: Buffer, position: number, block: number): { value: unknown; offset: number } {
  let decoded: { value: unknown; offset: number };
  try {
    decoded = type.decode(data, position);
  } catch (error) {
    throw new AvroFileError(`has a record in block ${block} that does not decode with its writer schema (${error instanceof Error ? error.message.slice(0, 120) : String(error)}): it is damaged`);
  }
  if (decoded.offset < 0) throw new AvroFileError(`has a block (${block}) whose records end before the record count its header says: it is damaged`);
  return decoded;
}

/** avsc's decoder of the writer schema: unions wrapped (the branch is known), longs as BigInt (no digit lost). */
function writerType(schema: unknown): AvscType {
  const avsc = requireCjs('avsc') as typeof import('avsc');
  const long = avsc.types.LongType.__with({
    fromBuffer: (buffer: Buffer) => buffer.readBigInt64LE(0),
    toBuffer: (value: bigint) => {
      const buffer = Buffer.alloc(8);
      buffer.writeBigInt64LE(value);
      return buffer;
    },
    fromJSON: (value: number | string) => BigInt(value),
    toJSON: (value: bigint) => Number(value),
    isValid: (value: unknown) => typeof value === 'bigint',
    compare: (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0),
  });
  try {
    // The registry replaces "long"; the hook also catches {"type": "long", "logicalType": ...}.
    const typeHook = (node: unknown) => (node === 'long' || (typeof node === 'object' && node !== null && (node as { type?: unknown }).type === 'long') ? long : undefined);
    return avsc.Type.forSchema(schema as never, { wrapUnions: true, registry: { long } as never, typeHook: typeHook as never }) as unknown as AvscType;
  } catch (error) {
    throw new AvroSchemaError(`has a writer schema avsc refuses (${error instanceof Error ? error.message.slice(0, 160) : String(error)})`);
  }
}
