import { loadConfig } from '../config/load.js';
import type { ResolvedConfig } from '../config/resolved.js';
import { asConnectorError, configError, type ConnectorError } from '../protocol/errors.js';
import { connectionStatusMessage } from '../protocol/messages.js';
import type { OutputWriter } from '../protocol/output.js';
import { settings } from '../settings.js';
import { checkStream, type StreamCheck } from '../streams/check-stream.js';
import { SourceContext } from '../streams/context.js';

/**
 * Answers CONNECTION_STATUS and exits 0 whatever the outcome: a failed check
 * is an answer, with a message saying what to fix.
 */
export async function checkCommand(configPath: string, out: OutputWriter): Promise<void> {
  try {
    settings();
    const { config, warnings } = await loadConfig(configPath, out.redactor);
    for (const warning of warnings) await out.log('WARN', warning);
    const results = await checkConnection(config, out);
    const summary = results.map(
      (result) =>
        `stream "${result.stream}": ${result.file} (${result.columns} columns, ${
          result.rowsSkipped ?? `${result.rowsParsed} rows parsed`
        })`,
    );
    await out.write(connectionStatusMessage('SUCCEEDED', `Connected to s3://${config.bucket}/${config.pathPrefix}; ${summary.join('; ')}.`));
  } catch (error) {
    const failure = asConnectorError(error);
    if (failure.internalMessage !== undefined) await out.log('ERROR', `check failed (${failure.failureType}): ${failure.internalMessage}`);
    await out.write(connectionStatusMessage('FAILED', failure.message));
  }
}

async function checkConnection(config: ResolvedConfig, out: OutputWriter): Promise<StreamCheck[]> {
  const context = await SourceContext.open(config, out.redactor);
  try {
    // One request first: wrong credentials, a missing bucket or an unreachable
    // endpoint are reported once, not once per stream.
    if (!(await context.bucket.hasAnyObject(config.pathPrefix))) {
      throw configError(`There are no objects under s3://${config.bucket}/${config.pathPrefix}. Check bucket and path${config.pathPrefix === '' ? '' : ` ("${config.pathPrefix}")`}.`);
    }
    const results: StreamCheck[] = [];
    const failures: ConnectorError[] = [];
    for (const stream of config.streams) {
      try {
        results.push(await checkStream(context, stream));
      } catch (error) {
        failures.push(asConnectorError(error));
      }
    }
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw configError(`${failures.length} streams failed: ${failures.map((failure) => failure.message).join(' | ')}`);
    return results;
  } finally {
    await context.close();
  }
}
