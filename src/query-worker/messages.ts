import type { Row } from '../engine/engine.js';

/** What the connector asks a query worker to do: run one statement, keeping its rows (`all`) or not (`run`). */
export interface WorkerRequest {
  id: number;
  kind: 'all' | 'run';
  sql: string;
}

/** The worker's answer to one request: its rows, or DuckDB's error message. */
export type WorkerReply = { id: number; rows: Row[] } | { id: number; done: true } | { id: number; error: string };

/** Sent once, when the worker's engine is open (or could not be opened). */
export type WorkerHello = { ready: true } | { ready: false; error: string };
