/**
 * Prepares items one step ahead: while the caller works on item i, item i+1
 * is already being prepared (a download overlapping a parse). At most
 * `ahead` + 1 prepared items exist at once, which bounds disk use.
 */
export class Prefetcher<T, P> {
  private readonly pending = new Map<number, Promise<P>>();
  private nextIndex = 0;

  constructor(
    private readonly items: readonly T[],
    private readonly prepare: (item: T) => Promise<P>,
    private readonly ahead = 1,
  ) {}

  /** The next prepared item, or undefined when all were taken. Starts preparing the ones after it. */
  async next(): Promise<{ item: T; prepared: P } | undefined> {
    const index = this.nextIndex;
    if (index >= this.items.length) return undefined;
    this.nextIndex++;
    for (let look = index; look <= Math.min(index + this.ahead, this.items.length - 1); look++) this.start(look);
    const prepared = this.pending.get(index)!;
    this.pending.delete(index);
    return { item: this.items[index]!, prepared: await prepared };
  }

  /** Prepared items never taken (after a failure), to be released by the caller. */
  async leftovers(): Promise<P[]> {
    const settled = await Promise.allSettled(this.pending.values());
    this.pending.clear();
    return settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  }

  private start(index: number): void {
    if (this.pending.has(index)) return;
    const promise = this.prepare(this.items[index]!);
    // A failure is reported when the item is taken, not as an unhandled rejection before.
    promise.catch(() => undefined);
    this.pending.set(index, promise);
  }
}
