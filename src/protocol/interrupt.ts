/**
 * What to do, synchronously, when the process is told to stop (SIGTERM from an
 * orchestrator, Ctrl-C): stop producers, say which stream was cut short. Each
 * registration returns its own removal.
 */
const handlers = new Set<() => void>();

export function onInterrupt(handler: () => void): () => void {
  handlers.add(handler);
  return () => handlers.delete(handler);
}

/** Runs every handler once, newest first; one failing does not stop the others. */
export function runInterruptHandlers(): void {
  for (const handler of [...handlers].reverse()) {
    handlers.delete(handler);
    try {
      handler();
    } catch {
      // Stopping anyway: nothing better to do with it.
    }
  }
}
