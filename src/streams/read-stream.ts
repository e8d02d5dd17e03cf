import type { FileStreamConfig } from '../config/resolved.js';
import type { ConfiguredAirbyteStream } from '../generated/protocol.js';
import type { LineForwarder } from '../protocol/forwarder.js';
import { estimateMessage, streamStatusMessage } from '../protocol/messages.js';
import type { OutputWriter } from '../protocol/output.js';
import type { S3Object } from '../s3/settings.js';
import type { StagedFile } from '../s3/staging.js';
import { settings } from '../settings.js';
import { batchStagedPath, readBatch, type Batch } from './batch-reader.js';
import { BatchShapes } from './batch-shape.js';
import { StateCheckpoints } from './checkpoints.js';
import type { SourceContext } from './context.js';
import { noDialectError, streamCsvDialect } from './csv-dialect.js';
import { Downloader } from './downloader.js';
import { readFile, type FileReadContext } from './file-reader.js';
import { obtainFile, stageWhole, streamsFrom } from './local-file.js';
import { oldestFirst, streamFiles } from './files.js';
import { ProgressDisplay } from './progress.js';
import { mayBeEmpty } from './rows-sample.js';
import { StreamState } from './state.js';
import { planStream } from './stream-plan.js';

// Where the pieces of a stream's read moved; kept importable from here.
export { checkpointEvery, planStream, type StreamPlan } from './stream-plan.js';
export { oldestFirst } from './files.js';

let streamSequence = 0;

/**
 * Reads one file stream: files listed once, oldest first, downloaded up to
 * SOURCE_S3_DOWNLOAD_CONCURRENCY at a time, and read by DuckDB in batches of
 * consecutive files of one shape (one query each, see batch-reader.ts) or one
 * by one (file-reader.ts) when a file needs its own reading; RECORD lines go
 * from DuckDB to stdout, with STATE after each batch or file (and every N
 * records inside a file read alone), STREAM_STATUS around it all and an
 * ESTIMATE before it.
 */
export async function readFileStream(
  context: SourceContext,
  out: OutputWriter,
  forwarder: LineForwarder,
  configured: ConfiguredAirbyteStream,
  stream: FileStreamConfig,
  inputState: unknown,
): Promise<void> {
  const plan = planStream(configured, stream);
  const state = StreamState.fromInput(plan.name, inputState, plan.cursorField, configured.sync_mode !== 'incremental');
  const { config, bucket, staging } = context;
  await out.write(streamStatusMessage(plan.name, 'STARTED'));

  const matching: S3Object[] = [];
  for await (const object of streamFiles(bucket, config.pathPrefix, stream, config.startDate)) matching.push(object);
  const toRead = oldestFirst(matching).filter((object) => !state.isSynced(object));
  state.willRead(toRead);
  await out.write(estimateMessage(plan.name, { bytes: toRead.reduce((total, object) => total + object.size, 0) }));
  await out.write(streamStatusMessage(plan.name, 'RUNNING'));

  const dialect = await streamCsvDialect(context, stream, matching, toRead.length > 0);
  const counters = { records: 0, rejected: 0 };
  // At every safe point; prints a STATE only when due (see StateCheckpoints), always at the end.
  const checkpoints = new StateCheckpoints(out, plan.name);
  const emitState = async (final: boolean) => {
    if (!(await checkpoints.offer(final, () => state.toBlob(final), counters))) return;
    counters.records = 0;
    counters.rejected = 0;
  };
  const progress = new ProgressDisplay(plan.name, toRead.length);
  const read: FileReadContext = { context, out, forwarder, plan, stream, dialect, state, counters, emitState, progress };
  const { batchBytes, batchFiles, downloadConcurrency } = settings();
  const sequence = ++streamSequence;
  // Files up to a batch's size are fetched ahead, within twice that many bytes staged and unread;
  // a larger file is obtained when its turn comes.
  const downloader = new Downloader(toRead, {
    download: (object, index) => stageWhole(context, stream, object, batchStagedPath(staging.dir, sequence, index, object.key)),
    sizeOf: (object) => object.size,
    // A text file streamed into DuckDB is not staged at all: it is read alone, when its turn comes.
    prefetch: (object) => object.size <= batchBytes && !streamsFrom(stream, plan.catalogColumns.size, object),
    concurrency: downloadConcurrency,
    budgetBytes: 2 * batchBytes,
  });
  const held = new Set<StagedFile>();
  const release = async (staged: StagedFile) => {
    held.delete(staged);
    await staging.release(staged);
    downloader.released(staged.object);
  };
  const shapes = new BatchShapes(read);
  let batch: Batch | undefined;
  const flush = async () => {
    if (batch === undefined) return;
    const reading = batch;
    batch = undefined;
    try {
      await readBatch(read, reading);
    } finally {
      for (const member of reading.members) await release(member.staged);
    }
  };
  /** One file read on its own, synced after it. */
  const readAlone = async (staged: StagedFile) => {
    await flush();
    try {
      // An empty file (zero bytes, or only white space, decompressed) has no rows: nothing to emit, and it is synced.
      if (!(staged.blank && mayBeEmpty(stream.format))) await readFile(read, staged);
    } finally {
      await release(staged);
    }
    state.markSynced(staged.object);
    progress.update({ files: 1, bytes: staged.object.size });
    await emitState(false);
  };
  // A download that failed (a cut-off upload, say) fails the stream after the files before it are read and synced.
  const nextFile = () =>
    downloader.next().catch(async (error: unknown) => {
      await flush();
      throw error;
    });
  try {
    for (let next = await nextFile(); next !== undefined; next = await nextFile()) {
      const { item: object, index } = next;
      if (next.prepared === undefined) {
        // Too large for a batch: staged now, when its turn has come.
        await flush();
        // The one place a large file's local copy (or its FIFO, for a text file) is obtained.
        const staged = await obtainFile(context, stream, plan.catalogColumns.size, object);
        held.add(staged);
        await readAlone(staged);
        continue;
      }
      const staged = next.prepared;
      held.add(staged);
      const blank = staged.blank && mayBeEmpty(stream.format);
      if (!blank && dialect === undefined && stream.format.filetype === 'csv') throw noDialectError(stream.name);
      const shape = blank ? batch?.shape : await shapes.of(staged);
      if (shape === undefined) {
        await readAlone(staged);
        continue;
      }
      if (batch !== undefined && (batch.shape.key !== shape.key || batch.bytes + object.size > batchBytes || batch.members.length >= batchFiles)) await flush();
      batch ??= { shape, members: [], bytes: 0 };
      batch.members.push({ index, staged, blank });
      batch.bytes += object.size;
    }
    await flush();
  } catch (error) {
    // The files finished before the failure stay synced: their state is printed if it was held back.
    await checkpoints.failed(() => state.toBlob(false), counters);
    throw error;
  } finally {
    for (const leftover of await downloader.leftovers()) await staging.release(leftover);
    for (const staged of held) await staging.release(staged);
    progress.finish();
  }
  await emitState(true);
  await out.write(streamStatusMessage(plan.name, 'COMPLETE'));
}
