import { loadConfig } from '../config/load.js';
import type { StreamConfig } from '../config/resolved.js';
import { catalogMessage } from '../protocol/messages.js';
import type { OutputWriter } from '../protocol/output.js';
import { airbyteStream } from '../streams/catalog.js';
import { fileTransferAirbyteStream } from '../streams/file-transfer.js';
import { Limiter } from '../streams/concurrency.js';
import { SourceContext } from '../streams/context.js';
import { describeQuery, prepareQuery } from '../streams/query-stream.js';
import { declaredSchema } from '../streams/user-schema.js';
import { discoveryConcurrency, inferFileStreamSchema, queryJsonSchema, type InferredSchema } from '../streams/schema.js';

/** Prints one CATALOG message with a stream per configured stream (or the default stream). */
export async function discoverCommand(configPath: string, out: OutputWriter): Promise<void> {
  const { config, warnings } = await loadConfig(configPath, out.redactor);
  for (const warning of warnings) await out.log('WARN', warning);
  if (config.delivery.kind === 'files') {
    // Copying raw files: the streams' schema is the file record's, known without opening a file
    // (so neither DuckDB nor the staging area is started). Validation refused model query streams.
    const streams = config.streams.map((stream) => {
      if (stream.kind !== 'files') throw new Error(`stream "${stream.name}" is a model query, which use_file_transfer cannot copy`);
      return fileTransferAirbyteStream(stream);
    });
    await out.write(catalogMessage({ streams }));
    return;
  }
  const context = await SourceContext.open(config, out.redactor);
  try {
    // One limiter for every file of every stream: the bound holds for the whole discovery.
    const limiter = new Limiter(discoveryConcurrency());
    const schemas = await Promise.all(config.streams.map((stream) => inferSchema(context, stream, limiter))).catch((error: unknown) => {
      limiter.close();
      throw error;
    });
    const streams = config.streams.map((stream, index) => airbyteStream(stream, schemas[index]!));
    for (const [index, schema] of schemas.entries()) {
      const stream = config.streams[index]!;
      if (schema.declared === true) continue;
      if (schema.fileCount === 0) {
        const dropped = stream.primaryKey.length > 0 ? ' Its primary_key is left out until files appear.' : '';
        await out.log('WARN', `Stream "${stream.name}" matches no files yet; its schema has only the _ab_source_file_url and _ab_source_file_last_modified columns.${dropped}`);
      } else if (schema.sampledFiles.length === 0) {
        const dropped = stream.primaryKey.length > 0 ? ' Its primary_key is left out until files with rows appear.' : '';
        await out.log('WARN', `Stream "${stream.name}" matches ${schema.fileCount} file${schema.fileCount === 1 ? '' : 's'}, all empty (no rows); its schema has only the _ab_source_file_url and _ab_source_file_last_modified columns.${dropped}`);
      }
    }
    await out.write(catalogMessage({ streams }));
  } finally {
    await context.close();
  }
}

async function inferSchema(context: SourceContext, stream: StreamConfig, limiter: Limiter): Promise<InferredSchema> {
  if (stream.kind === 'query') {
    return limiter.run(async () => {
      const prepared = await prepareQuery(context, stream.name, stream.query, 'sample');
      let columns;
      try {
        columns = await describeQuery(context, stream.name, prepared);
      } finally {
        await prepared.close();
      }
      return { columns, jsonSchema: queryJsonSchema(columns), fileCount: prepared.objects.length, sampledFiles: prepared.objects.map((object) => object.key) };
    });
  }
  return declaredSchema(stream) ?? inferFileStreamSchema(context, stream, limiter);
}
