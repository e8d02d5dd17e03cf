import type { ConvertedFormat } from '../engine/formats.js';
import { avroConverter } from './avro/avro-converter.js';
import type { Converter } from './converter.js';
import { documentConverter } from './document/document-converter.js';
import { excelConverter } from './excel/excel-converter.js';

/** The converter of a format DuckDB cannot read; a module per format. */
export function converterFor(format: ConvertedFormat): Converter {
  switch (format.filetype) {
    case 'avro':
      return avroConverter;
    case 'excel':
      return excelConverter(format);
    case 'document':
      return documentConverter(format);
  }
}
