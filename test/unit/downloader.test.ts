import { describe, expect, it } from 'vitest';
import { Downloader } from '../../src/streams/downloader.js';

/** A download that finishes when the test says so. */
function controlled() {
  const started: number[] = [];
  const finish = new Map<number, () => void>();
  const download = (item: number) =>
    new Promise<number>((resolve) => {
      started.push(item);
      finish.set(item, () => resolve(item * 10));
    });
  return { started, finish: (item: number) => finish.get(item)!(), download };
}
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('Downloader', () => {
  it('keeps at most `concurrency` downloads in flight, handing items over in order', async () => {
    const { started, finish, download } = controlled();
    const downloader = new Downloader([1, 2, 3, 4, 5], { download, sizeOf: () => 1, prefetch: () => true, concurrency: 2, budgetBytes: 100 });
    const first = downloader.next();
    expect(started).toEqual([1, 2]);
    finish(2);
    await settle();
    expect(started).toEqual([1, 2, 3]);
    finish(1);
    expect((await first)?.prepared).toBe(10);
    await settle();
    expect(started).toEqual([1, 2, 3, 4]);
    expect((await downloader.next())?.prepared).toBe(20);
  });

  it('stages no more than the byte budget ahead until the reader releases, but always starts the item it waits for', async () => {
    const { started, finish, download } = controlled();
    const downloader = new Downloader([1, 2, 3, 4], { download, sizeOf: () => 10, prefetch: () => true, concurrency: 8, budgetBytes: 20 });
    const first = downloader.next();
    expect(started).toEqual([1, 2]);
    finish(1);
    finish(2);
    await first;
    await settle();
    expect(started).toEqual([1, 2]);
    const second = await downloader.next();
    expect(second?.prepared).toBe(20);
    // Held: 1 and 2 (20 bytes). The reader asks for 3 anyway: it is started.
    const third = downloader.next();
    expect(started).toEqual([1, 2, 3]);
    downloader.released(1);
    downloader.released(2);
    await settle();
    expect(started).toEqual([1, 2, 3, 4]);
    finish(3);
    expect((await third)?.prepared).toBe(30);
  });

  it('hands over items it does not prefetch without a download, and reports a failed download when its item is taken', async () => {
    const downloader = new Downloader([1, 2, 3], {
      download: async (item) => {
        if (item === 3) throw new Error('download failed');
        return item;
      },
      sizeOf: (item) => item,
      prefetch: (item) => item !== 2,
      concurrency: 4,
      budgetBytes: 100,
    });
    expect((await downloader.next())?.prepared).toBe(1);
    const large = await downloader.next();
    expect(large).toMatchObject({ item: 2, index: 1, prepared: undefined });
    await expect(downloader.next()).rejects.toThrow('download failed');
    expect(await downloader.next()).toBeUndefined();
  });

  it('releasing an item it did not prefetch (a large file the reader obtained) frees nothing of the budget', async () => {
    const { started, finish, download } = controlled();
    // 1 and 3 are prefetched (10 bytes each, budget 10); 2 is too large and obtained by the reader.
    const downloader = new Downloader([1, 2, 3, 4], { download, sizeOf: (item) => (item === 2 ? 1000 : 10), prefetch: (item) => item !== 2, concurrency: 8, budgetBytes: 10 });
    const first = downloader.next();
    finish(1);
    await first;
    const large = await downloader.next();
    expect(large?.prepared).toBeUndefined();
    downloader.released(2);
    await settle();
    // 1 is still held: 3 must not start, whatever the large file's size.
    expect(started).toEqual([1]);
    downloader.released(1);
    await settle();
    expect(started).toEqual([1, 3]);
  });

  it('hands back finished downloads never taken, for the caller to release', async () => {
    const downloader = new Downloader([1, 2, 3], { download: async (item) => item, sizeOf: () => 1, prefetch: () => true, concurrency: 3, budgetBytes: 10 });
    await downloader.next();
    expect((await downloader.leftovers()).sort()).toEqual([2, 3]);
  });
});
