import type { FileFormat } from '../engine/formats.js';
import type { S3Object } from '../s3/settings.js';
import { sampleCandidates } from './rows-sample.js';

/**
 * The `keep` newest of a stream's files, in sampleCandidates' order (newest first, zero-byte
 * text files left out), and how many files were listed. At most 2 x `keep` objects are held
 * while listing: discover over a prefix of millions of keys keeps its memory flat.
 */
export async function newestCandidates(objects: AsyncIterable<S3Object>, format: FileFormat, keep: number): Promise<{ candidates: S3Object[]; listed: number }> {
  let kept: S3Object[] = [];
  let listed = 0;
  for await (const object of objects) {
    listed++;
    kept.push(object);
    if (kept.length >= 2 * keep) kept = sampleCandidates(kept, format).slice(0, keep);
  }
  return { candidates: sampleCandidates(kept, format).slice(0, keep), listed };
}
