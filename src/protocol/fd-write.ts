import { writeSync } from 'node:fs';

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes all of `buffer[start, end)` to a file descriptor, synchronously.
 * A descriptor left non-blocking by whoever opened it answers EAGAIN when the
 * reader is slow: wait a moment and go on, never drop or cut bytes.
 */
export function writeAllSync(fd: number, buffer: Buffer, start = 0, end = buffer.length): void {
  let offset = start;
  while (offset < end) {
    try {
      offset += writeSync(fd, buffer, offset, end - offset);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(pause, 0, 0, 2);
    }
  }
}
