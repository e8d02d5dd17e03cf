import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ConvertedFormat } from '../engine/formats.js';
import type { ConversionResult, DeclaredColumn } from '../formats/converter.js';
import { converterFor } from '../formats/converters.js';
import { ConnectorError } from '../protocol/errors.js';
import type { Bucket } from '../s3/bucket.js';
import type { S3Object } from '../s3/settings.js';
import { stagingSpaceError } from '../s3/staging-errors.js';
import type { StagedFile, StagingArea } from '../s3/staging.js';
import { settings } from '../settings.js';
import { s3Url } from './files.js';

/**
 * Stages an object of a format DuckDB cannot read: downloaded whole (with every guarantee of a
 * download: size, ETag, resume), converted to JSON Lines beside it, and the download removed. The
 * staged file is the conversion, and is blank when the object has no rows.
 */
export async function stageConverted(bucket: Bucket, staging: StagingArea, conversion: ConvertedFormat, object: S3Object, at?: string): Promise<StagedFile> {
  const download = await staging.download(bucket, object, at);
  const { staged } = await convertStaged(staging, conversion, download, undefined);
  return staged;
}

/**
 * A discover/check sample of such an object: its first bytes when the format can be read from
 * them, else the whole object; converted up to SOURCE_S3_SAMPLE_BYTES of rows. With the columns
 * the file declares, when its format declares them.
 */
export async function stageConvertedSample(
  bucket: Bucket,
  staging: StagingArea,
  conversion: ConvertedFormat,
  object: S3Object,
): Promise<{ staged: StagedFile; hasRows: boolean; declaredColumns?: DeclaredColumn[] }> {
  const prefixBytes = converterFor(conversion).samplePrefixBytes;
  const source =
    prefixBytes !== undefined && object.size > prefixBytes
      ? await staging.head(bucket, object, prefixBytes, (sample) => sample.length)
      : await staging.download(bucket, object);
  const { staged, result } = await convertStaged(staging, conversion, source, settings().sampleBytes);
  if (result.columns === undefined) return { staged, hasRows: true };
  // A file that declares its columns but holds no rows (an Avro header without blocks, as writers
  // leave an export with nothing to export) still has a schema: discover and check take its columns,
  // as they take an empty Parquet file's from its footer, instead of calling it empty.
  if (result.rows === 0 && result.columns.length > 0) return { staged: { ...staged, blank: false }, hasRows: false, declaredColumns: result.columns };
  return { staged, hasRows: true, declaredColumns: result.columns };
}

async function convertStaged(
  staging: StagingArea,
  conversion: ConvertedFormat,
  source: StagedFile,
  maxOutputBytes: number | undefined,
): Promise<{ staged: StagedFile; result: ConversionResult }> {
  const target = `${source.path}.jsonl`;
  const url = s3Url(source.bucket, source.object.key);
  try {
    const result = await converterFor(conversion).convert({
      source: source.path,
      target,
      url,
      key: source.object.key,
      complete: source.complete,
      ...(maxOutputBytes === undefined ? {} : { maxOutputBytes }),
    });
    return { staged: { ...source, path: target, blank: result.rows === 0, derived: [...(source.derived ?? [])] }, result };
  } catch (error) {
    await rm(target, { force: true });
    if (error instanceof ConnectorError) throw error;
    throw (await stagingSpaceError(error, { dir: dirname(staging.dir), url, needed: source.object.size })) ?? error;
  } finally {
    await rm(source.path, { force: true });
  }
}
