import { loadConfig, readJsonFile } from '../config/load.js';
import { ConnectorError } from '../protocol/errors.js';
import type { OutputWriter } from '../protocol/output.js';

/** discover and read validate their config, then say plainly that they are not built yet. */
export async function notImplementedCommand(
  command: 'discover' | 'read',
  paths: { config: string; catalog?: string; state?: string },
  out: OutputWriter,
): Promise<void> {
  const { warnings } = await loadConfig(paths.config, out.redactor);
  for (const warning of warnings) await out.log('WARN', warning);
  if (paths.catalog !== undefined) await readJsonFile(paths.catalog, 'catalog');
  if (paths.state !== undefined) await readJsonFile(paths.state, 'state');
  throw new ConnectorError('system_error', `The ${command} command is not implemented yet in this version of source-s3.`);
}
