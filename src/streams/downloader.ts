/**
 * Downloads a list of items ahead of the reader, in order, up to `concurrency`
 * at a time, while the bytes staged and not yet released (plus those on the
 * way) stay within `budgetBytes`. Items `prefetch` says no to (files too large
 * to stage ahead) are handed over without a download: the reader obtains them
 * itself. The item the reader waits for is always started, whatever the budget,
 * so the reader never waits on its own held bytes.
 */
export class Downloader<T, P> {
  private readonly pending = new Map<number, Promise<P | undefined>>();
  private launched = 0;
  private taken = 0;
  private inFlight = 0;
  /** Bytes of downloads started and not released: staged, on the way, or held by the reader. */
  private heldBytes = 0;
  /** What each prefetched item counts in `heldBytes` until released (items not prefetched count nothing). */
  private readonly counted = new Map<T, number>();
  private closed = false;

  constructor(
    private readonly items: readonly T[],
    private readonly options: {
      download: (item: T, index: number) => Promise<P>;
      sizeOf: (item: T) => number;
      prefetch: (item: T) => boolean;
      concurrency: number;
      budgetBytes: number;
    },
  ) {}

  /** The next item in order, with its download (undefined when it was not prefetched); undefined at the end. */
  async next(): Promise<{ item: T; index: number; prepared: P | undefined } | undefined> {
    const index = this.taken;
    if (index >= this.items.length) return undefined;
    this.taken++;
    if (index >= this.launched) this.launch();
    this.pump();
    const prepared = this.pending.get(index)!;
    this.pending.delete(index);
    return { item: this.items[index]!, index, prepared: await prepared };
  }

  /** The reader is done with a prefetched item: its bytes no longer count, and more downloads may start. */
  released(item: T): void {
    const size = this.counted.get(item);
    if (size === undefined) return;
    this.counted.delete(item);
    this.heldBytes -= size;
    this.pump();
  }

  /** After a failure: stops starting downloads, and returns those finished and never taken, for the caller to release. */
  async leftovers(): Promise<P[]> {
    this.closed = true;
    const settled = await Promise.allSettled(this.pending.values());
    this.pending.clear();
    return settled.flatMap((result) => (result.status === 'fulfilled' && result.value !== undefined ? [result.value] : []));
  }

  /** Starts downloads in order while the concurrency and the byte budget allow. */
  private pump(): void {
    while (!this.closed && this.launched < this.items.length && this.inFlight < this.options.concurrency) {
      const item = this.items[this.launched]!;
      const size = this.options.prefetch(item) ? this.options.sizeOf(item) : 0;
      if (size > 0 && this.heldBytes + size > this.options.budgetBytes) return;
      this.launch();
    }
  }

  private launch(): void {
    const index = this.launched++;
    const item = this.items[index]!;
    if (!this.options.prefetch(item)) {
      this.pending.set(index, Promise.resolve(undefined));
      return;
    }
    this.inFlight++;
    const size = this.options.sizeOf(item);
    this.heldBytes += size;
    this.counted.set(item, size);
    const promise = this.options.download(item, index).finally(() => {
      this.inFlight--;
      this.pump();
    });
    // A failure is reported when the item is taken, not as an unhandled rejection before.
    promise.catch(() => undefined);
    this.pending.set(index, promise);
  }
}
