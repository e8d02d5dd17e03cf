import { configError } from '../../protocol/errors.js';
import type { Converter } from '../converter.js';

// Placeholder until the Avro reader lands: refuses clearly instead of reading wrongly.
export const avroConverter: Converter = {
  name: 'Avro',
  convert: async (request) => {
    throw configError(`${request.url}: Avro files cannot be read yet.`);
  },
};
