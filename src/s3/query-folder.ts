import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeFifo } from './fifo.js';

/**
 * One model query stream's own staging folder: the objects its query reads,
 * the worker's spill files and its record FIFO, all removed together when the
 * stream ends (not when the command ends).
 *
 * Objects sit at `<folder>/s3:/<bucket>/<key>` and the rewritten query names
 * them relative to the worker's working directory as `./s3://<bucket>/<key>`:
 * the leading `./` makes DuckDB read a local file, and every file name DuckDB
 * knows (its `filename` column, its error messages) is the object's s3:// URL
 * behind `./`, never a path of this machine.
 */
export class QueryFolder {
  private sequence = 0;

  constructor(
    readonly root: string,
    readonly bucket: string,
  ) {
    mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  /** The name the rewritten query gives the object (relative to the worker's working directory). */
  queryPathOf(key: string): string {
    return `./s3://${this.bucket}/${key}`;
  }

  /** Where the object is written. */
  filePathOf(key: string): string {
    return join(this.root, 's3:', this.bucket, ...key.split('/'));
  }

  /** A fresh FIFO in the folder (the worker may write only here). */
  fifo(name: string): string {
    return makeFifo(this.root, ++this.sequence, name);
  }

  async remove(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}

/**
 * Why an object key cannot be staged for a query, or undefined. DuckDB would
 * treat `*`, `?` and `[` in a file name as a glob, and a key with empty, `.`
 * or `..` segments (or a backslash) has no one faithful local path.
 */
export function unstageableKey(key: string): string | undefined {
  if (/[*?[\]\\]/.test(key)) return 'has a character DuckDB reads as a glob or a path separator (* ? [ ] \\)';
  if (key.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) return 'has an empty, . or .. path segment';
  return undefined;
}
