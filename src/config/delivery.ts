import type { SourceS3Config } from '../generated/config.js';
import { isRecord } from '../protocol/json-object.js';

/**
 * How a sync delivers: the rows of the files as records (use_records_transfer, the default), or
 * the files themselves, copied byte for byte to the staging directory with one record each
 * (use_file_transfer, Airbyte's "Copy raw files").
 */
export type DeliveryMethod = { kind: 'records' } | { kind: 'files'; preserveDirectoryStructure: boolean };

export function resolveDelivery(raw: SourceS3Config): DeliveryMethod {
  const method = raw.delivery_method;
  if (method?.delivery_type !== 'use_file_transfer') return { kind: 'records' };
  return { kind: 'files', preserveDirectoryStructure: method.preserve_directory_structure ?? true };
}

/**
 * What file transfer cannot do with the streams as configured. A model query stream has no
 * files to copy (its rows are computed): refused, rather than quietly delivering records in a
 * sync the user set up to copy files.
 */
export function deliveryProblems(raw: Record<string, unknown>): string[] {
  if (!isRecord(raw.delivery_method) || raw.delivery_method.delivery_type !== 'use_file_transfer' || !Array.isArray(raw.streams)) return [];
  const problems: string[] = [];
  raw.streams.forEach((stream, index) => {
    if (!isRecord(stream) || stream.query === undefined) return;
    problems.push(
      `streams[${index}] (${String(stream.name)}) is a model query, which has no files to copy: with delivery_method use_file_transfer every stream must be a file stream (globs); remove the stream or deliver records (use_records_transfer)`,
    );
  });
  return problems;
}

/**
 * Warnings for settings that file transfer ignores, said once: a stream's format (files are not
 * parsed) and on_error. The default stream copies every file under the path unless file_type is set.
 */
export function deliveryWarnings(raw: SourceS3Config, delivery: DeliveryMethod): string[] {
  if (delivery.kind !== 'files') return [];
  const ignored = (raw.streams ?? []).filter((stream) => stream.query === undefined && (stream.format !== undefined || stream.on_error !== undefined)).map((stream) => `"${stream.name}"`);
  if (ignored.length === 0) return [];
  return [
    `delivery_method is use_file_transfer: files are copied unparsed, so the format and on_error of stream${ignored.length === 1 ? '' : 's'} ${ignored.join(', ')} ${ignored.length === 1 ? 'is' : 'are'} ignored.`,
  ];
}
