import type { ConvertedFormat } from '../../engine/formats.js';
import { configError } from '../../protocol/errors.js';
import type { Converter } from '../converter.js';

// Placeholder until the Excel reader lands: refuses clearly instead of reading wrongly.
export function excelConverter(_format: Extract<ConvertedFormat, { filetype: 'excel' }>): Converter {
  return {
    name: 'Excel',
    convert: async (request) => {
      throw configError(`${request.url}: Excel files cannot be read yet.`);
    },
  };
}
