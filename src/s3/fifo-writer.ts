import { constants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** How often to look whether the reader has opened the FIFO. */
const OPEN_POLL_MS = 2;

/** The FIFO's reader closed its end before all bytes were written (EPIPE): it needs no more. */
export class ReaderGone extends Error {
  constructor() {
    super('the reader closed the FIFO');
    this.name = 'ReaderGone';
  }
}

/**
 * The writing end of a FIFO, non-blocking: writes wait on the event loop (no
 * thread of Node's pool is held while the reader is busy), and closing it is
 * what gives the reader its end of file, so only `end` should do that on success.
 */
export class FifoWriter {
  private failure: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.failure ??= error.code === 'EPIPE' ? new ReaderGone() : error;
    });
  }

  /**
   * Opens `path` for writing once a reader has opened it; undefined when `stop` says to give up
   * first. Opening without O_NONBLOCK would wait forever for a reader that never comes (a query
   * that fails before it opens the file).
   */
  static async open(path: string, stop: () => boolean): Promise<FifoWriter | undefined> {
    for (;;) {
      if (stop()) return undefined;
      try {
        const fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
        return new FifoWriter(new Socket({ fd, readable: false, writable: true }));
      } catch (error) {
        // ENXIO: no reader yet.
        if ((error as NodeJS.ErrnoException).code !== 'ENXIO') throw error;
      }
      await sleep(OPEN_POLL_MS);
    }
  }

  /** Writes `chunks` and resolves once the reader has room for more. */
  async write(chunks: Buffer[]): Promise<void> {
    let room = true;
    for (const chunk of chunks) if (chunk.length > 0) room = this.socket.write(chunk);
    if (!room) await this.settled('drain');
    if (this.failure !== undefined) throw this.failure;
  }

  /** Flushes what is written, then closes: the reader sees the end of the file. */
  async end(): Promise<void> {
    this.socket.end();
    await this.settled('finish');
    if (this.failure !== undefined) throw this.failure;
    this.socket.destroy();
  }

  /** Closes at once, dropping what was not flushed. */
  destroy(): void {
    this.socket.destroy();
  }

  private settled(event: 'drain' | 'finish'): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off(event, done).off('close', done).off('error', done);
        resolve();
      };
      this.socket.on(event, done).on('close', done).on('error', done);
    });
  }
}
