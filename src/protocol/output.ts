import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { AirbyteMessage } from '../generated/protocol.js';
import { OutputClosedError, writeAllSync } from './fd-write.js';
import { logMessage } from './messages.js';
import { SecretRedactor } from './redactor.js';

/**
 * The only writer of stdout. Each message is serialized whole and written as
 * one line in a single write, so messages are never cut or interleaved.
 * Two targets: a file descriptor (the CLI: synchronous writes, which also lets
 * record bytes forwarded from DuckDB go out in order between messages) or a
 * Writable (awaiting backpressure). Messages that carry human text (LOG, TRACE,
 * CONNECTION_STATUS) pass through the secret redactor; RECORD data comes from
 * files, not from the config.
 */
export class OutputWriter {
  readonly redactor: SecretRedactor;
  private readonly target: Writable | number;
  private sealed = false;
  /** Bytes written to stdout so far (messages and forwarded lines): what a STATE's size is weighed against. */
  bytesWritten = 0;

  constructor(target: Writable | number = 1, redactor: SecretRedactor = new SecretRedactor()) {
    this.target = target;
    this.redactor = redactor;
  }

  /** Nothing more is written after this: the process is exiting and its last message is out. */
  seal(): void {
    this.sealed = true;
  }

  async write(message: AirbyteMessage): Promise<void> {
    if (this.sealed) return;
    const safe = message.type === 'RECORD' ? message : this.redactor.redactValue(message);
    await this.writeLine(JSON.stringify(safe));
  }

  async log(level: 'FATAL' | 'ERROR' | 'WARN' | 'INFO' | 'DEBUG' | 'TRACE', text: string): Promise<void> {
    await this.write(logMessage(level, text));
  }

  /** Pre-serialized message lines (whole lines only), e.g. RECORD lines written by DuckDB. */
  writeBytes(buffer: Buffer, start: number, end: number): void {
    if (typeof this.target !== 'number') throw new Error('raw bytes need a file descriptor target');
    if (this.sealed) return;
    this.bytesWritten += end - start;
    this.closing(() => writeAllSync(this.target as number, buffer, start, end));
  }

  /** Waits until everything written so far has been handed to the OS. */
  async flush(): Promise<void> {
    if (typeof this.target !== 'number' && this.target.writableNeedDrain) await once(this.target, 'drain');
  }

  /** A closed stdout is closed for good: later messages (a TRACE about it, say) are dropped, not retried. */
  private closing(write: () => void): void {
    try {
      write();
    } catch (error) {
      if (error instanceof OutputClosedError) this.sealed = true;
      throw error;
    }
  }

  private async writeLine(line: string): Promise<void> {
    if (typeof this.target === 'number') {
      const fd = this.target;
      const bytes = Buffer.from(`${line}\n`);
      this.bytesWritten += bytes.length;
      this.closing(() => writeAllSync(fd, bytes));
      return;
    }
    this.bytesWritten += Buffer.byteLength(line) + 1;
    if (!this.target.write(`${line}\n`)) await once(this.target, 'drain');
  }
}
