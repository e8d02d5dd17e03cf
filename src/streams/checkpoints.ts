import { streamStateMessage } from '../protocol/messages.js';
import type { OutputWriter } from '../protocol/output.js';
import { settings } from '../settings.js';

/** When a STATE is due: SOURCE_S3_CHECKPOINT_RECORDS records, or SOURCE_S3_CHECKPOINT_SECONDS seconds. */
export interface CheckpointRules {
  records: number;
  seconds: number;
}

export function checkpointRules(): CheckpointRules {
  return { records: settings().checkpointRecords, seconds: settings().checkpointSeconds };
}

/**
 * A STATE printed because records piled up is at most this share of the bytes printed since the
 * previous one. The records rule exists to bound what a resumed sync emits twice; when the state
 * is large (thousands of files in the history window) and the records small, printing it every
 * 10,000 records would make STATE most of the output (2,000 files of 500 rows printed 191 MB of
 * STATE). 1/1024 keeps that near a tenth of a percent (2,000 files of 500 rows: ~0.3 MB of STATE
 * in 272 MB of output; 10,000 such files: ~1.3 MB), and still checkpoints a large file every 10,000
 * records (its state is a few hundred bytes).
 */
export const STATE_SHARE_OF_OUTPUT = 1 / 1024;

/**
 * Decides, at each point where the stream's state is safe to print (a file or batch done, a
 * mid-file checkpoint), whether to print it, and prints it. Every printed state is one a sync can
 * resume from, so fewer STATEs only mean more work again after a failure, never a lost row. A
 * STATE is due:
 * - always at the end of the stream (`final`);
 * - when SOURCE_S3_CHECKPOINT_SECONDS passed since the last one (0: at every safe point), so a long
 *   sync can be resumed near where it stopped;
 * - when SOURCE_S3_CHECKPOINT_RECORDS records were emitted since the last one and the state is
 *   small beside them (STATE_SHARE_OF_OUTPUT).
 * A state identical to the last one printed, with no records since, is never printed again before
 * the end. `sourceStats.recordCount` counts the records since the previous STATE of the stream.
 */
export class StateCheckpoints {
  private lastPrintedAt: number;
  private outputAtLastPrint: number;
  private lastPrinted: string | undefined;
  /** Size of the last state serialized: what the records rule weighs output against before serializing again. */
  private stateBytesEstimate = 0;
  /** Safe points offered since the last STATE without printing one: the state has moved on since. */
  private heldBack = 0;

  constructor(
    private readonly out: OutputWriter,
    private readonly stream: string,
    private readonly rules: CheckpointRules = checkpointRules(),
    private readonly clock: () => number = Date.now,
  ) {
    this.lastPrintedAt = clock();
    this.outputAtLastPrint = out.bytesWritten;
  }

  /**
   * At a safe point: prints the state `blob()` gives when due (always when final), with the
   * counts since the previous STATE. Returns whether it printed (the caller then starts counting
   * again). `blob` is called only when a STATE may be due: serializing a large history at every
   * file would cost as much as printing it.
   */
  async offer(final: boolean, blob: () => object, stats: { records: number; rejected?: number }): Promise<boolean> {
    const output = this.out.bytesWritten - this.outputAtLastPrint;
    const byTime = this.clock() - this.lastPrintedAt >= this.rules.seconds * 1000;
    const byRecords = stats.records >= this.rules.records && output * STATE_SHARE_OF_OUTPUT >= this.stateBytesEstimate;
    if (!final && !byTime && !byRecords) return this.holdBack();
    const state = blob();
    const text = JSON.stringify(state);
    this.stateBytesEstimate = text.length;
    if (!final) {
      if (text === this.lastPrinted && stats.records === 0 && (stats.rejected ?? 0) === 0) return false;
      if (!byTime && output * STATE_SHARE_OF_OUTPUT < text.length) return this.holdBack();
    }
    await this.print(state, text, stats);
    return true;
  }

  /**
   * The stream failed: prints the state of its last safe point if it was held back, so that the
   * files finished before the failure are not read again. (Between safe points the state only
   * gains a pending column cursor, which a resumed sync does not filter by.)
   */
  async failed(blob: () => object, stats: { records: number; rejected?: number }): Promise<void> {
    if (this.heldBack === 0) return;
    try {
      const state = blob();
      await this.print(state, JSON.stringify(state), stats);
    } catch {
      // stdout closed, say: the failure being reported is the one that matters.
    }
  }

  private holdBack(): false {
    this.heldBack++;
    return false;
  }

  private async print(state: object, text: string, stats: { records: number; rejected?: number }): Promise<void> {
    await this.out.write(streamStateMessage(this.stream, state, stats));
    this.heldBack = 0;
    this.lastPrinted = text;
    this.lastPrintedAt = this.clock();
    this.outputAtLastPrint = this.out.bytesWritten;
  }
}
