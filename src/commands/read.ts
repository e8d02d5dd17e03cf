import { loadConfig } from '../config/load.js';
import { asConnectorError, configError, type ConnectorError } from '../protocol/errors.js';
import { OutputClosedError } from '../protocol/fd-write.js';
import { LineForwarder } from '../protocol/forwarder.js';
import { readConfiguredCatalog, readStateInput, type StateByStream } from '../protocol/inputs.js';
import { errorTraceMessage, streamStatusMessage } from '../protocol/messages.js';
import { onInterrupt } from '../protocol/interrupt.js';
import type { OutputWriter } from '../protocol/output.js';
import { SourceContext } from '../streams/context.js';
import { readQueryStream } from '../streams/read-query.js';
import { readFileStream } from '../streams/read-stream.js';
import { readFileTransferStream } from '../streams/file-transfer.js';

/**
 * Reads every stream of the configured catalog, in its order. A stream that
 * fails is marked INCOMPLETE with a TRACE ERROR naming it, and the others
 * still run; the exit code is then 1.
 */
export async function readCommand(paths: { config: string; catalog: string; state?: string }, out: OutputWriter): Promise<number> {
  const { config, warnings } = await loadConfig(paths.config, out.redactor);
  for (const warning of warnings) await out.log('WARN', warning);
  const catalog = await readConfiguredCatalog(paths.catalog);
  const states: StateByStream = paths.state === undefined ? new Map() : await readStateInput(paths.state);

  const byName = new Map(config.streams.map((stream) => [stream.name, stream]));
  const unknown = catalog.streams.map((configured) => configured.stream.name).filter((name) => !byName.has(name));
  if (unknown.length > 0) {
    throw configError(
      `The catalog names stream${unknown.length === 1 ? '' : 's'} ${unknown.map((name) => `"${name}"`).join(', ')} that the config does not define (config streams: ${[...byName.keys()].join(', ')}). Run discover again after changing the config.`,
    );
  }

  // A state for a stream the catalog does not select is left alone (its stream is not read), but said:
  // a renamed stream would otherwise sync from the start without a word.
  const selected = new Set(catalog.streams.map((configured) => configured.stream.name));
  const stray = [...states.keys()].filter((name) => !selected.has(name));
  if (stray.length > 0) {
    await out.log(
      'WARN',
      `The state names stream${stray.length === 1 ? '' : 's'} ${briefList(stray)} that the catalog does not select; ${stray.length === 1 ? 'its' : 'their'} state is ignored (catalog streams: ${[...selected].join(', ') || 'none'}).`,
    );
  }

  const context = await SourceContext.open(config, out.redactor);
  const forwarder = new LineForwarder(out);
  const failures: ConnectorError[] = [];
  let current: string | undefined;
  // Told to stop mid-read: no more record bytes, DuckDB stopped, and the stream being read marked INCOMPLETE.
  const removeInterruptHandler = onInterrupt(() => {
    forwarder.abort();
    context.engine.interrupt();
    if (current !== undefined) void out.write(streamStatusMessage(current, 'INCOMPLETE'));
  });
  try {
    for (const configured of catalog.streams) {
      const stream = byName.get(configured.stream.name)!;
      current = stream.name;
      try {
        if (stream.kind === 'query') await readQueryStream(context, out, forwarder, configured, stream, states.get(stream.name));
        else if (config.delivery.kind === 'files') await readFileTransferStream(context, out, configured, stream, config.delivery.preserveDirectoryStructure, states.get(stream.name));
        else await readFileStream(context, out, forwarder, configured, stream, states.get(stream.name));
      } catch (error) {
        // No one reads stdout any more: stop every stream now (DuckDB too), nothing to report there.
        if (error instanceof OutputClosedError) {
          context.engine.interrupt();
          throw error;
        }
        const failure = asConnectorError(error).withStream(stream.name);
        failures.push(failure);
        await out.write(streamStatusMessage(stream.name, 'INCOMPLETE'));
        await out.write(errorTraceMessage(failure));
        process.stderr.write(`source-s3: stream "${stream.name}" failed: ${out.redactor.redact(failure.message)}\n`);
      }
      current = undefined;
    }
  } finally {
    removeInterruptHandler();
    await context.close();
  }
  return failures.length === 0 ? 0 : 1;
}

/** Names from an input file, quoted, shortened and at most ten: a state file can hold anything. */
function briefList(names: string[]): string {
  const quoted = names.slice(0, 10).map((name) => JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name));
  return names.length > 10 ? `${quoted.join(', ')} and ${names.length - 10} more` : quoted.join(', ');
}
