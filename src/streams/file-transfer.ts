import type { FileStreamConfig } from '../config/resolved.js';
import type { AirbyteMessage, AirbyteStream, ConfiguredAirbyteStream } from '../generated/protocol.js';
import { configError } from '../protocol/errors.js';
import { estimateMessage, streamStatusMessage } from '../protocol/messages.js';
import type { OutputWriter } from '../protocol/output.js';
import { copyToStaging, discardCopy, duplicatePaths, fileStagingDirectory, transferRelativePath, type CopiedFile } from '../s3/file-transfer.js';
import type { S3Object } from '../s3/settings.js';
import { settings } from '../settings.js';
import type { StreamCheck } from './check-stream.js';
import { StateCheckpoints } from './checkpoints.js';
import type { SourceContext } from './context.js';
import { Downloader } from './downloader.js';
import { matchingObjectPages, oldestFirst, s3Url } from './files.js';
import { ProgressDisplay } from './progress.js';
import { FILE_LAST_MODIFIED_COLUMN, FILE_URL_COLUMN } from './schema.js';
import { StreamState } from './state.js';
import { planStream } from './stream-plan.js';

/**
 * Raw-file transfer (delivery_method use_file_transfer): a file stream's objects are copied as
 * they are, never parsed, and each is one record of metadata with a file_reference.
 */

const TEXT = { type: ['null', 'string'] };

/**
 * The schema of a file-based stream: the fields of Airbyte's file transfer records (folder,
 * file_name, source_uri, bytes, and the optional id, created_at, updated_at, mime_type), plus the
 * two _ab_ columns every file stream of this connector has (the file cursor is one of them).
 */
export const FILE_TRANSFER_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  properties: {
    folder: { type: 'string' },
    file_name: { type: 'string' },
    source_uri: { type: 'string' },
    bytes: { type: 'integer' },
    id: TEXT,
    created_at: TEXT,
    updated_at: { ...TEXT, format: 'date-time', airbyte_type: 'timestamp_with_timezone' },
    mime_type: TEXT,
    [FILE_URL_COLUMN]: { type: 'string' },
    [FILE_LAST_MODIFIED_COLUMN]: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' },
  },
};

/** The catalog entry of a file stream delivered as files: no file is opened to make it. */
export function fileTransferAirbyteStream(stream: FileStreamConfig): AirbyteStream {
  const missing = stream.primaryKey.filter((column) => !(column in FILE_TRANSFER_SCHEMA.properties));
  if (missing.length > 0) {
    throw configError(
      `Stream "${stream.name}": primary_key ${missing.map((column) => `"${column}"`).join(', ')} is not a field of a copied file's record (fields: ${Object.keys(FILE_TRANSFER_SCHEMA.properties).join(', ')}). With use_file_transfer, fix or remove the primary_key.`,
      { streamName: stream.name },
    );
  }
  return {
    name: stream.name,
    json_schema: structuredClone(FILE_TRANSFER_SCHEMA),
    supported_sync_modes: ['full_refresh', 'incremental'],
    source_defined_cursor: false,
    default_cursor_field: [FILE_LAST_MODIFIED_COLUMN],
    ...(stream.primaryKey.length > 0 ? { source_defined_primary_key: stream.primaryKey.map((column) => [column]) } : {}),
    is_resumable: true,
    is_file_based: true,
  };
}

/** check with file transfer: the stream matches at least one file (its contents are not opened). */
export async function checkFileTransferStream(context: SourceContext, stream: FileStreamConfig): Promise<StreamCheck> {
  const { config, bucket } = context;
  // A .zip is copied as it is: its members are not files of the stream here.
  for await (const page of matchingObjectPages(bucket, config.pathPrefix, stream, config.startDate)) {
    const first = page[0];
    if (first === undefined) continue;
    return { stream: stream.name, file: s3Url(bucket.name, first.key), columns: Object.keys(FILE_TRANSFER_SCHEMA.properties).length, rowsParsed: 0, rowsSkipped: 'files are copied, not parsed' };
  }
  throw configError(
    `Stream "${stream.name}" matches no files under s3://${bucket.name}/${config.pathPrefix} (globs: ${stream.globs.join(', ')}${config.startDate === undefined ? '' : `, modified since ${config.startDate.toISOString()}`}). Fix the globs or path.`,
    { streamName: stream.name },
  );
}

/**
 * Reads a file stream by copying its files: listed once, oldest first, those not synced yet
 * copied up to SOURCE_S3_DOWNLOAD_CONCURRENCY at a time and reported in order, one RECORD each,
 * each file then synced (STATE at safe points as for records). A failure stops the stream; the
 * files reported before it stay synced, and copies made ahead of it are removed.
 *
 * A catalog with include_files false (a destination that takes no files) gets the records
 * without the copies and without file_reference.
 */
export async function readFileTransferStream(
  context: SourceContext,
  out: OutputWriter,
  configured: ConfiguredAirbyteStream,
  stream: FileStreamConfig,
  preserveDirectories: boolean,
  inputState: unknown,
): Promise<void> {
  const plan = planStream(configured, stream);
  if (plan.cursorColumn !== undefined) {
    throw configError(
      `Stream "${plan.name}": cursor_field "${plan.cursorColumn}" cannot be used with use_file_transfer; copied files are synced incrementally by ${FILE_LAST_MODIFIED_COLUMN} only.`,
      { streamName: plan.name },
    );
  }
  const includeFiles = configured.include_files !== false;
  const { config, bucket } = context;
  // Before anything is listed or printed: a missing volume is the deployment's to fix.
  const stagingDir = includeFiles ? await fileStagingDirectory() : undefined;
  const state = StreamState.fromInput(plan.name, inputState, plan.cursorField, configured.sync_mode !== 'incremental');
  await out.write(streamStatusMessage(plan.name, 'STARTED'));

  const matching: S3Object[] = [];
  for await (const page of matchingObjectPages(bucket, config.pathPrefix, stream, config.startDate)) matching.push(...page);
  const toRead = oldestFirst(matching).filter((object) => !state.isSynced(object));
  const paths = new Map(toRead.map((object) => [object.key, transferRelativePath(object.key, config.pathPrefix, preserveDirectories)]));
  const duplicates = duplicatePaths(paths);
  if (duplicates.length > 0) {
    const shown = duplicates.map(({ path, keys }) => `${JSON.stringify(path.slice(0, 200))} from ${keys.slice(0, 3).map((key) => s3Url(bucket.name, key)).join(', ')}${keys.length > 3 ? ` and ${keys.length - 3} more` : ''}`);
    throw configError(
      `Stream "${plan.name}": files of this sync would be copied to the same path (${shown.join('; ')}). ${preserveDirectories ? 'Their keys differ only in empty, "." or unsafe parts.' : 'Set preserve_directory_structure to true to keep their folders,'} or narrow the stream's globs.`,
      { streamName: plan.name },
    );
  }
  state.willRead(toRead);
  await out.write(estimateMessage(plan.name, { bytes: includeFiles ? toRead.reduce((total, object) => total + object.size, 0) : 0, rows: toRead.length }));
  await out.write(streamStatusMessage(plan.name, 'RUNNING'));

  const counters = { records: 0 };
  const checkpoints = new StateCheckpoints(out, plan.name);
  const emitState = async (final: boolean) => {
    if (await checkpoints.offer(final, () => state.toBlob(final), counters)) counters.records = 0;
  };
  const progress = new ProgressDisplay(plan.name, toRead.length);
  const copier = new Downloader<S3Object, CopiedFile | undefined>(toRead, {
    download: async (object) => (stagingDir === undefined ? undefined : copyToStaging(bucket, object, stagingDir, paths.get(object.key)!)),
    sizeOf: (object) => object.size,
    prefetch: () => true,
    concurrency: settings().downloadConcurrency,
    // Copies are streamed to their final volume, never held in memory: bounded by concurrency alone.
    budgetBytes: Number.MAX_SAFE_INTEGER,
  });
  try {
    for (let next = await copier.next(); next !== undefined; next = await copier.next()) {
      const object = next.item;
      await out.write(fileRecord(plan.name, bucket.name, config.pathPrefix, object, next.prepared));
      counters.records++;
      copier.released(object);
      state.markSynced(object);
      progress.update({ files: 1, rows: 1, bytes: object.size });
      await emitState(false);
    }
  } catch (error) {
    // Copies made ahead of the failure are never reported: removed, so the staging volume holds only reported files.
    for (const leftover of await copier.leftovers()) if (leftover !== undefined) await discardCopy(leftover);
    await checkpoints.failed(() => state.toBlob(false), counters);
    throw error;
  } finally {
    progress.finish();
  }
  await emitState(true);
  await out.write(streamStatusMessage(plan.name, 'COMPLETE'));
}

/** One copied file's record: Airbyte's file fields, the _ab_ columns, and where the copy lies. */
function fileRecord(stream: string, bucket: string, pathPrefix: string, object: S3Object, copy: CopiedFile | undefined): AirbyteMessage {
  const url = s3Url(bucket, object.key);
  const below = object.key.startsWith(pathPrefix) ? object.key.slice(pathPrefix.length) : object.key;
  const slash = below.lastIndexOf('/');
  const modified = object.lastModified.toISOString();
  return {
    type: 'RECORD',
    record: {
      stream,
      emitted_at: Date.now(),
      data: {
        folder: slash < 0 ? '' : below.slice(0, slash),
        file_name: below.slice(slash + 1),
        source_uri: url,
        bytes: object.size,
        updated_at: modified,
        [FILE_URL_COLUMN]: url,
        [FILE_LAST_MODIFIED_COLUMN]: modified,
      },
      ...(copy === undefined ? {} : { file_reference: { staging_file_url: copy.path, source_file_relative_path: copy.relativePath, file_size_bytes: object.size } }),
    },
  };
}
