import type { QueryStreamConfig } from '../config/resolved.js';
import { columnValue, recordSelectSql, type RecordColumn } from '../engine/record-sql.js';
import type { ConfiguredAirbyteStream } from '../generated/protocol.js';
import { configError } from '../protocol/errors.js';
import type { LineForwarder } from '../protocol/forwarder.js';
import { estimateMessage, streamStatusMessage } from '../protocol/messages.js';
import type { OutputWriter } from '../protocol/output.js';
import type { SourceContext } from './context.js';
import { applyColumnCursor, atOrAfter, canResumeByValue, cursorOrder, cursorValueOfLine, resumeValueFits } from './cursor.js';
import { exportRecords } from './export.js';
import { StateCheckpoints } from './checkpoints.js';
import { describeQuery, outputReader, prepareQuery, queryCall, type PreparedQuery } from './query-stream.js';
import { checkpointEvery, planStream, type StreamPlan } from './stream-plan.js';
import { FILE_LAST_MODIFIED_COLUMN } from './schema.js';
import { StreamState } from './state.js';

/**
 * Reads a model query stream: stages the objects it references, runs it in
 * the sandboxed engine and forwards its rows as RECORDs. Incremental syncs
 * filter on a column cursor (the query wrapped: `cursor >= saved`, or `>` when
 * the rows at the saved value are the ones already emitted), which only moves up
 * once the stream completes. Incremental rows come in cursor order, so a sync
 * killed halfway resumes from the cursor value of its last checkpoint (rows
 * at that value come twice, none is lost); a full refresh starts over.
 */
export async function readQueryStream(
  context: SourceContext,
  out: OutputWriter,
  forwarder: LineForwarder,
  configured: ConfiguredAirbyteStream,
  stream: QueryStreamConfig,
  inputState: unknown,
): Promise<void> {
  const plan = planStream(configured, stream);
  if (configured.sync_mode === 'incremental' && plan.cursorColumn === undefined) {
    throw configError(`Stream "${stream.name}" is a model query: an incremental sync needs a cursor_field that is one of its columns (${FILE_LAST_MODIFIED_COLUMN} belongs to file streams).`, {
      streamName: stream.name,
    });
  }
  const state = StreamState.fromInput(stream.name, inputState, plan.cursorField, configured.sync_mode !== 'incremental');
  await out.write(streamStatusMessage(stream.name, 'STARTED'));
  const prepared = await prepareQuery(context, stream.name, stream.query, 'full');
  try {
    await runPreparedQuery(context, out, forwarder, stream, prepared, plan, state);
  } finally {
    // The worker and the staged objects go as soon as the stream ends, not when the command does.
    await prepared.close();
  }
  await out.write(streamStatusMessage(stream.name, 'COMPLETE'));
}

async function runPreparedQuery(
  context: SourceContext,
  out: OutputWriter,
  forwarder: LineForwarder,
  stream: QueryStreamConfig,
  prepared: PreparedQuery,
  plan: StreamPlan,
  state: StreamState,
): Promise<void> {
  await out.write(estimateMessage(stream.name, { bytes: prepared.bytesFetched }));
  await out.write(streamStatusMessage(stream.name, 'RUNNING'));

  const described = await describeQuery(context, stream.name, prepared);
  const columns: RecordColumn[] =
    plan.catalogColumns.size === 0
      ? described
      : described.filter((column) => plan.catalogColumns.has(column.name)).map((column) => ({ ...column, target: plan.catalogColumns.get(column.name)! }));
  const reader = outputReader(prepared, described, context.config.bucket);

  let where: string | undefined;
  let orderBy: string | undefined;
  if (plan.cursorColumn !== undefined) {
    const cursor = columns.find((column) => column.name === plan.cursorColumn);
    if (cursor === undefined) {
      throw configError(`Stream "${stream.name}": cursor_field "${plan.cursorColumn}" is not an output column of its model query.`, { streamName: stream.name });
    }
    // The fingerprint of the rows at the cursor: of the values emitted (s3:// URLs, not staging paths).
    const emittedRow = `struct_pack(${columns.map((column, index) => `"c${index}" := ${columnValue(column).value}`).join(', ')})`;
    where = await applyColumnCursor(prepared.worker, state, cursor, reader, (work) => queryCall(context, stream.name, work), { boundaryRow: emittedRow });
    if (canResumeByValue(cursor)) {
      // In cursor order, every checkpoint says where to resume: a killed sync does not start over.
      orderBy = cursorOrder(cursor);
      if (state.resumeFrom !== undefined && (await queryCall(context, stream.name, () => resumeValueFits(prepared.worker, cursor, state.resumeFrom)))) {
        where = `${where === undefined ? '' : `${where} AND `}${atOrAfter(cursor, state.resumeFrom)}`;
      }
    }
    state.resumeFrom = undefined;
  }

  let records = 0;
  let checkpointed = 0;
  const checkpoints = new StateCheckpoints(out, stream.name);
  /** Lines emitted at the last safe point. */
  let reached = 0;
  const select = recordSelectSql({
    stream: stream.name,
    reader,
    columns,
    constants: {},
    emittedAt: Date.now(),
    ...(where === undefined ? {} : { where }),
    ...(orderBy === undefined ? {} : { orderBy }),
  });
  const exported = queryCall(context, stream.name, () =>
    exportRecords(prepared.worker, prepared.folder, forwarder, select, {
      checkpointEvery: checkpointEvery(),
      // Safe to resume from: the saved cursor has not moved. Read in cursor order, every row below the
      // last one's value has been emitted, so a resumed sync reads from that value on (rows at it come again).
      checkpoint: async (lines, lastLine) => {
        reached = lines;
        if (orderBy !== undefined) state.resumeFrom = cursorValueOfLine(lastLine, plan.cursorColumn!) ?? state.resumeFrom;
        if (await checkpoints.offer(false, () => state.toBlob(false), { records: lines - checkpointed })) checkpointed = lines;
      },
    }),
  );
  // A failure keeps the last safe point reached (a resume value), printed if it was held back.
  const result = await exported.catch(async (error: unknown) => {
    await checkpoints.failed(() => state.toBlob(false), { records: reached - checkpointed });
    throw error;
  });
  records = result.lines - checkpointed;
  await checkpoints.offer(true, () => state.toBlob(true), { records });
}
