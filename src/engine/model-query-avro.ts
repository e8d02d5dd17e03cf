/**
 * DuckDB reads Avro only through its avro extension, which is not built in and cannot be
 * downloaded (the engine is sandboxed, often air-gapped): model queries and the query preview
 * cannot read Avro. File streams can (src/formats/avro converts it to JSON Lines).
 */
export const AVRO_IN_QUERIES = 'Avro is read by file streams only: a model query cannot read it (DuckDB has no built-in Avro reader). Define a file stream with format {"filetype": "avro"} for these files instead';

/** True for a key (or glob) naming Avro files. */
export const namesAvro = (key: string): boolean => key.toLowerCase().endsWith('.avro');
