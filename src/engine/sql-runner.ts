import type { Row } from './engine.js';

/**
 * What runs SQL for a stream: the connector's own engine (file streams) or a
 * model query's worker process. Each call runs exactly one statement.
 */
export interface SqlRunner {
  all(sql: string): Promise<Row[]>;
  /** Writes the rows of a SELECT as JSON lines to `path` (a FIFO the connector reads). */
  copyJsonLines(selectSql: string, path: string): Promise<void>;
}
