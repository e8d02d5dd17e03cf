import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Makes a named pipe in `dir` (readable and writable by this user only) and returns its path. */
export function makeFifo(dir: string, sequence: number, name: string): string {
  const path = join(dir, `${sequence}-${name.replace(/[^A-Za-z0-9._-]/g, '_')}.fifo`);
  execFileSync('mkfifo', ['-m', '600', path]);
  return path;
}
