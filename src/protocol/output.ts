import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { AirbyteMessage } from '../generated/protocol.js';
import { logMessage } from './messages.js';
import { SecretRedactor } from './redactor.js';

/**
 * The only writer of stdout. Each message is serialized whole and written as one
 * line in a single write call, so messages are never cut or interleaved, and the
 * caller awaits backpressure (the orchestrator may read slowly).
 * Messages that carry human text (LOG, TRACE, CONNECTION_STATUS) pass through
 * the secret redactor; RECORD data comes from files, not from the config.
 */
export class OutputWriter {
  readonly redactor: SecretRedactor;
  private readonly stream: Writable;

  constructor(stream: Writable = process.stdout, redactor: SecretRedactor = new SecretRedactor()) {
    this.stream = stream;
    this.redactor = redactor;
  }

  async write(message: AirbyteMessage): Promise<void> {
    const safe = message.type === 'RECORD' ? message : this.redactor.redactValue(message);
    await this.writeLine(JSON.stringify(safe));
  }

  async log(level: 'FATAL' | 'ERROR' | 'WARN' | 'INFO' | 'DEBUG' | 'TRACE', text: string): Promise<void> {
    await this.write(logMessage(level, text));
  }

  /** Waits until everything written so far has been handed to the OS. */
  async flush(): Promise<void> {
    if (this.stream.writableNeedDrain) await once(this.stream, 'drain');
  }

  private async writeLine(line: string): Promise<void> {
    if (!this.stream.write(`${line}\n`)) await once(this.stream, 'drain');
  }
}
