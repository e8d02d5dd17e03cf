/**
 * Runs at most `limit` tasks at once; the rest wait in order. One limiter can
 * be shared by work of several streams, so the bound holds for the whole command.
 */
export class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private closed = false;

  constructor(private readonly limit: number) {}

  /** Tasks not started yet are dropped (they reject): after one failure, the rest is wasted work. */
  close(): void {
    this.closed = true;
    for (const wake of this.waiting.splice(0)) wake();
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    if (this.closed) throw new Error('cancelled: another task failed');
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  /** Maps items through the limiter; results keep the input order. */
  map<T, R>(items: readonly T[], work: (item: T, index: number) => Promise<R>): Promise<R[]> {
    return Promise.all(items.map((item, index) => this.run(() => work(item, index))));
  }
}
