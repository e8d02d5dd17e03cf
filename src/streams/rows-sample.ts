import type { FileFormat } from '../engine/formats.js';
import { configError } from '../protocol/errors.js';
import type { S3Object } from '../s3/settings.js';
import type { SourceContext } from './context.js';
import { stageSample, type FileSample } from './sample.js';
import { newestFirst } from './schema.js';

/**
 * Blank samples (a whole non-zero-size file of white space, an empty .gz)
 * looked past before giving up. Zero-byte objects are skipped from the listing
 * and do not count: they cost nothing to skip.
 */
export const MAX_BLANK_SAMPLES = 100;

/**
 * A text file (CSV, JSON Lines) of zero bytes, or nothing but a BOM and white
 * space, has no rows: it cannot tell a stream's columns or dialect, and is
 * read as no rows. A Parquet file always says what it holds (or is refused).
 */
export function mayBeEmpty(format: FileFormat): boolean {
  return format.filetype !== 'parquet';
}

/** The stream's files newest first (the order samples are taken in), without the zero-byte text files. */
export function sampleCandidates(objects: S3Object[], format: FileFormat): S3Object[] {
  return newestFirst(objects).filter((object) => !(mayBeEmpty(format) && object.size === 0));
}

export interface RowsSample {
  object: S3Object;
  sample: FileSample;
  /** Index in the candidates of the next file to sample after this one. */
  next: number;
}

/**
 * Stages a sample of the newest candidate that has rows, looking past blank
 * files (released as they are found). The one discover samples first, check
 * parses and read takes a CSV dialect from. Undefined when every candidate
 * looked at is blank; the caller decides what that means.
 */
export async function stageNewestWithRows(
  context: SourceContext,
  candidates: S3Object[],
  format: FileFormat,
  options: { rows: boolean },
): Promise<{ found: RowsSample | undefined; blanks: number }> {
  const { bucket, staging, engine } = context;
  let blanks = 0;
  for (let index = 0; index < candidates.length && blanks < MAX_BLANK_SAMPLES; index++) {
    const object = candidates[index]!;
    const sample = await stageSample(bucket, staging, engine, object, format, options);
    if (!sample.staged.blank) return { found: { object, sample, next: index + 1 }, blanks };
    await staging.release(sample.staged);
    blanks++;
  }
  return { found: undefined, blanks };
}

/** Every file a stream matched (or the newest MAX_BLANK_SAMPLES of them) holds no rows. */
export function allFilesEmptyError(streamName: string, matched: number, looked: number): Error {
  const which = looked >= matched ? `all ${matched} matching file${matched === 1 ? ' is' : 's are'}` : `the newest ${looked} of its ${matched} matching files are`;
  return configError(
    `Stream "${streamName}": ${which} empty (zero bytes, or only white space): there are no rows to check the stream's format against. Upload a file with rows, or fix the stream's globs.`,
    { streamName },
  );
}
