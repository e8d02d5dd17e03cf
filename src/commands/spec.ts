import { connectorSpecification } from '../config/spec.js';
import { specMessage } from '../protocol/messages.js';
import type { OutputWriter } from '../protocol/output.js';

export async function specCommand(out: OutputWriter): Promise<void> {
  await out.write(specMessage(connectorSpecification()));
}
