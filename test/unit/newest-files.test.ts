import { describe, expect, it } from 'vitest';
import type { FileFormat } from '../../src/engine/formats.js';
import type { S3Object } from '../../src/s3/settings.js';
import { newestCandidates } from '../../src/streams/newest-files.js';
import { sampleCandidates } from '../../src/streams/rows-sample.js';

/** A listing as S3 gives it: by key, with dates, sizes (some zero) and ties in any order. */
function listing(count: number, seed: number): S3Object[] {
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: count }, (_, index) => ({
    key: `data/part-${String(index).padStart(6, '0')}.csv`,
    size: random() < 0.1 ? 0 : 100,
    // Few distinct seconds: many ties, broken by key.
    lastModified: new Date(Date.UTC(2024, 0, 1) + Math.floor(random() * 50) * 1000),
  }));
}

async function* listed(objects: S3Object[]): AsyncGenerator<S3Object> {
  yield* objects;
}

describe('newestCandidates', () => {
  it.each([
    [0, 5],
    [3, 5],
    [10, 5],
    [1_000, 7],
    [25_000, 210],
  ])('of %i files keeps the %i newest, as sorting them all would', async (count, keep) => {
    const objects = listing(count, count + keep);
    const formats: FileFormat[] = [{ filetype: 'csv', encoding: 'utf-8', header: true, skipRows: 0 }, { filetype: 'parquet' }];
    for (const format of formats) {
      const { candidates, listed: total } = await newestCandidates(listed(objects), format, keep);
      expect(total).toBe(count);
      expect(candidates).toEqual(sampleCandidates(objects, format).slice(0, keep));
    }
  });
});
