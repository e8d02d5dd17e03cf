import { writeSync } from 'node:fs';

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * stdout's reader went away (`read ... | head`): nothing written from now on can
 * reach anyone. Not a failure of the sync to report on stdout; the command
 * stops at once, says so in one stderr line and exits OUTPUT_CLOSED_EXIT_CODE.
 */
export class OutputClosedError extends Error {
  constructor() {
    super('stdout was closed by its reader');
    this.name = 'OutputClosedError';
  }
}

/** 128 + SIGPIPE, what a shell reports for a command stopped by a closed pipe. */
export const OUTPUT_CLOSED_EXIT_CODE = 141;

/**
 * Writes all of `buffer[start, end)` to a file descriptor, synchronously.
 * A descriptor left non-blocking by whoever opened it answers EAGAIN when the
 * reader is slow: wait a moment and go on, never drop or cut bytes. A pipe
 * whose reader is gone (EPIPE) throws OutputClosedError.
 */
export function writeAllSync(fd: number, buffer: Buffer, start = 0, end = buffer.length): void {
  let offset = start;
  let waitingSince: number | undefined;
  let blocked = false;
  try {
    while (offset < end) {
      try {
        offset += writeSync(fd, buffer, offset, end - offset);
        waitingSince = undefined;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') throw new OutputClosedError();
        if (code !== 'EAGAIN') throw error;
        // A reader slower for a moment is normal; one that has not read for seconds may never read again.
        waitingSince ??= Date.now();
        if (!blocked && Date.now() - waitingSince >= BLOCKED_AFTER_MS) {
          blocked = true;
          blockedHooks?.enter();
        }
        Atomics.wait(pause, 0, 0, 2);
      }
    }
  } finally {
    if (blocked) blockedHooks?.leave();
  }
}

/** How long a write waits on its reader before the output counts as blocked. */
const BLOCKED_AFTER_MS = 2000;

let blockedHooks: { enter(): void; leave(): void } | undefined;

/** What to do when a write has waited on a reader that does not read for seconds (`enter`), and when it goes on (`leave`). */
export function onOutputBlocked(hooks: { enter(): void; leave(): void }): void {
  blockedHooks = hooks;
}
