import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';

/** Lines gathered before one write: fewer, larger writes (a row is often tens of bytes). */
const BATCH_CHARS = 64 * 1024;

/** A JSON Lines file written as rows come, waiting when the disk is behind (bounded memory). */
export class LineOutput {
  private readonly stream: WriteStream;
  private pending: string[] = [];
  private pendingChars = 0;
  private failure: Error | undefined;
  /** Bytes handed to the file so far (UTF-8), pending lines included. */
  bytes = 0;
  rows = 0;

  constructor(path: string) {
    this.stream = createWriteStream(path, { mode: 0o600 });
    this.stream.on('error', (error) => {
      this.failure = error;
    });
  }

  async write(line: string): Promise<void> {
    this.pending.push(line, '\n');
    this.pendingChars += line.length + 1;
    this.bytes += Buffer.byteLength(line) + 1;
    this.rows++;
    if (this.pendingChars >= BATCH_CHARS) await this.flush();
  }

  async close(): Promise<void> {
    await this.flush();
    this.stream.end();
    if (!this.stream.closed) await once(this.stream, 'close');
    if (this.failure !== undefined) throw this.failure;
  }

  /** Closes without waiting for what is left, after a failure elsewhere. */
  destroy(): void {
    this.stream.destroy();
  }

  private async flush(): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    this.pendingChars = 0;
    if (!this.stream.write(text)) {
      // Both waits are cancelled after the race: each left behind would stay a listener (thousands on a large file).
      const done = new AbortController();
      await Promise.race([once(this.stream, 'drain', { signal: done.signal }), once(this.stream, 'error', { signal: done.signal })]).finally(() => done.abort());
    }
    if (this.failure !== undefined) throw this.failure;
  }
}
