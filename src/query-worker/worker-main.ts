/**
 * A query worker: the child process in which one model query stream's SQL
 * runs. It opens a fresh sandboxed DuckDB over its working directory (the
 * stream's staging folder, where the referenced objects sit at
 * `./s3://bucket/key`), runs each statement it is sent as one prepared
 * statement, and dies with its parent. Nothing it does outlives it: tables,
 * macros, variables and settings go with the process. The parent starts it
 * under an address-space limit and kills it on timeout or interrupt.
 */
import { Engine } from '../engine/engine.js';
import type { WorkerHello, WorkerReply, WorkerRequest } from './messages.js';

function send(message: WorkerHello | WorkerReply): void {
  process.send?.(message);
}

// Orphaned (the connector died or closed the channel): nothing left to answer; stop at once,
// even inside a DuckDB call that would not notice an interrupt.
process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));

let engine: Engine;
try {
  engine = await Engine.create(process.cwd(), 'query');
} catch (error) {
  send({ ready: false, error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}

process.on('message', (message: WorkerRequest) => {
  const work = message.kind === 'all' ? engine.all(message.sql).then((rows) => ({ id: message.id, rows })) : engine.run(message.sql).then(() => ({ id: message.id, done: true as const }));
  work.then(send, (error: unknown) => send({ id: message.id, error: error instanceof Error ? error.message : String(error) }));
});
send({ ready: true });
