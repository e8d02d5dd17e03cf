import type { ConvertedFormat } from '../engine/formats.js';
import { avroConverter } from './avro/avro-converter.js';
import type { Converter, ConverterRegistry } from './converter.js';
import { documentConverter } from './document/document-converter.js';
import { excelConverter } from './excel/excel-converter.js';

const CONVERTERS: ConverterRegistry = {
  avro: () => avroConverter,
  excel: (format) => excelConverter(format as Extract<ConvertedFormat, { filetype: 'excel' }>),
  document: (format) => documentConverter(format as Extract<ConvertedFormat, { filetype: 'document' }>),
};

/** The converter of a format DuckDB cannot read. */
export function converterFor(format: ConvertedFormat): Converter {
  return CONVERTERS[format.filetype](format);
}
