import { closeSync, constants, openSync, unlinkSync } from 'node:fs';
import type { SqlRunner } from '../engine/sql-runner.js';
import type { LineForwarder, ForwardOptions } from '../protocol/forwarder.js';
import { ConnectorError } from '../protocol/errors.js';

/**
 * Runs a RECORD-producing query in DuckDB, writing into a FIFO that the
 * forwarder copies to stdout as it arrives: serialization stays in DuckDB,
 * memory stays bounded (nothing is materialized), and only whole lines reach
 * stdout even when the query fails halfway.
 */
export async function exportRecords(
  engine: SqlRunner,
  /** Where the FIFO is made: a folder the engine may write to. */
  staging: { fifo(name: string): string },
  forwarder: LineForwarder,
  selectSql: string,
  options: ForwardOptions,
): Promise<{ lines: number; bytes: number }> {
  const fifo = staging.fifo('records');
  try {
    const copy = engine.copyJsonLines(selectSql, fifo);
    // If DuckDB fails before opening the FIFO, the reader would wait forever: open and close a writer to end it.
    copy.catch(() => releaseReader(fifo));
    const forwarded = await forwarder.forward(fifo, options);
    try {
      await copy;
    } catch (error) {
      // A query worker stopped by the connector (timeout, interrupt, out of memory) already says why, as the
      // connector's own error: passed on as is, not quoted as if DuckDB had said it.
      if (error instanceof ConnectorError) throw error;
      throw new PartialExport(error, forwarded.lines);
    }
    return { lines: forwarded.lines, bytes: forwarded.bytes };
  } finally {
    unlinkSync(fifo);
  }
}

function releaseReader(fifo: string): void {
  const deadline = Date.now() + 5000;
  const attempt = () => {
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch (error) {
      // ENXIO: the reader has not opened yet; try again shortly.
      if ((error as NodeJS.ErrnoException).code === 'ENXIO' && Date.now() < deadline) setTimeout(attempt, 10);
    }
  };
  attempt();
}

/** A query that failed after `lines` of its records reached stdout; the message is DuckDB's own. */
export class PartialExport extends Error {
  constructor(
    readonly reason: unknown,
    readonly lines: number,
  ) {
    super(reason instanceof Error ? reason.message : String(reason));
  }
}
