import { configError } from '../protocol/errors.js';
import type { S3Object } from '../s3/settings.js';
import { settings } from '../settings.js';

/** Where a sync stopped inside a file: the rows of it already emitted (after the cursor filter). */
export interface FilePosition {
  key: string;
  last_modified: string;
  rows: number;
}

/** The rows at a cursor value, as a fingerprint: their number and the sum of their row hashes. */
export interface CursorBoundary {
  rows: number;
  hash: string;
}

/** The state of a file stream, as written in STATE messages (stream_state). */
export interface FileStreamStateBlob {
  version: 1;
  cursor_field: string;
  /** Files fully synced: key -> last-modified (ISO 8601). */
  history: Record<string, string>;
  /**
   * Set once history overflowed: the newest (last-modified, key) dropped. Files not in history that
   * come at or before it in read order (last-modified, then key) count as synced.
   */
  history_cutoff?: string;
  history_cutoff_key?: string;
  /** Column cursor: rows below it are not read again (the filter of the next sync). */
  cursor?: unknown;
  /**
   * Column cursor of a model query: the rows emitted at the saved value (how many, and the sum of
   * their hashes). When the same rows sit there at the next sync, they are not emitted again.
   */
  cursor_boundary?: CursorBoundary;
  /** Column cursor: the largest value emitted so far in a sync that has not finished. */
  pending_cursor?: unknown;
  /**
   * Model query read in cursor order, in a sync that has not finished: every row below this value
   * was emitted (and some at it), so a resumed sync reads from it on.
   */
  resume_from?: unknown;
  /** A file partly emitted when this state was written. */
  in_progress?: FilePosition;
  /** Full refresh: the sync this state belongs to has not finished (resume it); absent when complete. */
  full_refresh_in_progress?: boolean;
}

/** Files remembered per stream: SOURCE_S3_HISTORY_MAX, default 10,000 (Airbyte's file-based CDK uses the same cap). */
export function historyMax(): number {
  return settings().historyMax;
}

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
/** A boundary from a state; anything else is ignored, which only means its rows may come again. */
const isBoundary = (value: unknown): value is CursorBoundary =>
  isRecord(value) && Number.isInteger(value.rows) && (value.rows as number) >= 0 && typeof value.hash === 'string' && /^\d+$/.test(value.hash);
const iso = (date: Date) => date.toISOString();

/**
 * A stream's sync state and the rules on it. History is bounded: when full,
 * the oldest entries go and `history_cutoff` remembers the newest time removed;
 * a file not in history and not modified after the cutoff counts as synced
 * (the rule of Airbyte's file-based CDK). Re-uploading such an old file with
 * its old timestamp would skip it; a new upload gets a new timestamp and syncs.
 */
export class StreamState {
  readonly cursorField: string;
  readonly history: Map<string, number>;
  historyCutoff: { time: number; key: string } | undefined;
  /** The filter of this sync (column cursor), unchanged until the stream completes. */
  readonly cursor: unknown;
  readonly boundary: CursorBoundary | undefined;
  pendingCursor: unknown;
  /** The rows at the pending cursor value, when fingerprinted (model queries). */
  pendingBoundary: CursorBoundary | undefined;
  /** Ordered model query: the cursor value reached by the sync that has not finished. */
  resumeFrom: unknown;
  inProgress: FilePosition | undefined;
  private readonly fullRefresh: boolean;

  private constructor(fields: {
    cursorField: string;
    history: Map<string, number>;
    historyCutoff?: { time: number; key: string };
    cursor?: unknown;
    boundary?: CursorBoundary;
    pendingCursor?: unknown;
    resumeFrom?: unknown;
    inProgress?: FilePosition;
    fullRefresh: boolean;
  }) {
    this.cursorField = fields.cursorField;
    this.history = fields.history;
    this.historyCutoff = fields.historyCutoff;
    this.cursor = fields.cursor;
    this.boundary = fields.boundary;
    this.pendingCursor = fields.pendingCursor;
    this.pendingBoundary = undefined;
    this.resumeFrom = fields.resumeFrom;
    this.inProgress = fields.inProgress;
    this.fullRefresh = fields.fullRefresh;
  }

  static fresh(cursorField: string, fullRefresh: boolean): StreamState {
    return new StreamState({ cursorField, history: new Map(), fullRefresh });
  }

  /**
   * The state to start from. Incremental syncs continue from the input state;
   * full refresh resumes only a full refresh that did not finish. A state that
   * cannot be read, or was kept with another cursor field, is the user's to fix:
   * silently starting over would re-sync everything.
   */
  static fromInput(streamName: string, input: unknown, cursorField: string, fullRefresh: boolean): StreamState {
    if (input === undefined) return StreamState.fresh(cursorField, fullRefresh);
    const fail = (reason: string) =>
      configError(`The state of stream "${streamName}" ${reason}. Pass the state a previous read of this stream printed, or drop this stream from the state to sync it from the start.`, {
        streamName,
      });
    if (!isRecord(input)) throw fail('is not an object');
    if (Object.keys(input).length === 0) return StreamState.fresh(cursorField, fullRefresh);
    if (input.version === undefined && isRecord(input.history)) {
      // Airbyte's own S3 connector: {history: {key: time}, _ab_source_file_last_modified: ...}.
      input = { version: 1, cursor_field: '_ab_source_file_last_modified', history: input.history };
    }
    const blob = input as Partial<FileStreamStateBlob> & Record<string, unknown>;
    // A full refresh resumes only its own unfinished sync; any other state (say, an incremental one
    // left from before the sync mode changed) is simply not for it.
    if (fullRefresh && blob.full_refresh_in_progress !== true) return StreamState.fresh(cursorField, true);
    if (blob.version !== 1) throw fail(`has version ${JSON.stringify(blob.version)}, which this connector does not know`);
    if (typeof blob.cursor_field !== 'string') throw fail('has no cursor_field');
    if (blob.cursor_field !== cursorField) {
      throw fail(`was kept with cursor field "${blob.cursor_field}", but the catalog now uses "${cursorField}"; a state of one cursor cannot filter by another`);
    }
    if (!isRecord(blob.history)) throw fail('has no history object');
    const history = new Map<string, number>();
    for (const [key, value] of Object.entries(blob.history)) {
      const time = typeof value === 'string' ? Date.parse(value) : Number.NaN;
      if (Number.isNaN(time)) throw fail(`has an unreadable time for file ${JSON.stringify(key)} in history`);
      history.set(key, time);
    }
    const cutoffTime = typeof blob.history_cutoff === 'string' ? Date.parse(blob.history_cutoff) : undefined;
    if (cutoffTime !== undefined && Number.isNaN(cutoffTime)) throw fail('has an unreadable history_cutoff');
    const cutoff = cutoffTime === undefined ? undefined : { time: cutoffTime, key: typeof blob.history_cutoff_key === 'string' ? blob.history_cutoff_key : '' };
    let inProgress: FilePosition | undefined;
    if (blob.in_progress !== undefined) {
      const position = blob.in_progress as Partial<FilePosition>;
      if (typeof position.key !== 'string' || typeof position.last_modified !== 'string' || !Number.isInteger(position.rows) || (position.rows ?? -1) < 0) {
        throw fail('has an unreadable in_progress position');
      }
      inProgress = position as FilePosition;
    }
    return new StreamState({
      cursorField,
      history,
      ...(cutoff === undefined ? {} : { historyCutoff: cutoff }),
      ...(blob.cursor === undefined ? {} : { cursor: blob.cursor }),
      ...(isBoundary(blob.cursor_boundary) ? { boundary: blob.cursor_boundary } : {}),
      ...(blob.pending_cursor === undefined ? {} : { pendingCursor: blob.pending_cursor }),
      ...(blob.resume_from === undefined || blob.resume_from === null ? {} : { resumeFrom: blob.resume_from }),
      ...(inProgress === undefined ? {} : { inProgress }),
      fullRefresh,
    });
  }

  /** Whether the object was synced as it is now (or later: a state from the future skips it too). */
  isSynced(object: S3Object): boolean {
    const synced = this.history.get(object.key);
    if (synced !== undefined) return synced >= object.lastModified.getTime();
    return this.historyCutoff !== undefined && compareReadOrder({ time: object.lastModified.getTime(), key: object.key }, this.historyCutoff) <= 0;
  }

  /** Rows of this object already emitted by an interrupted sync (0 when none). */
  rowsDone(object: S3Object): number {
    const position = this.inProgress;
    return position !== undefined && position.key === object.key && position.last_modified === iso(object.lastModified) ? position.rows : 0;
  }

  markSynced(object: S3Object, limit = historyMax()): void {
    this.history.delete(object.key);
    this.history.set(object.key, object.lastModified.getTime());
    this.inProgress = undefined;
    if (this.history.size <= limit) return;
    const oldest = [...this.history]
      .map(([key, time]) => ({ key, time }))
      .sort(compareReadOrder)
      .slice(0, this.history.size - limit);
    for (const entry of oldest) {
      this.history.delete(entry.key);
      if (this.historyCutoff === undefined || compareReadOrder(entry, this.historyCutoff) > 0) this.historyCutoff = entry;
    }
  }

  /** The largest column cursor value emitted so far (compared by DuckDB in the column's type, kept as its text). */
  raisePendingCursor(value: string | null): void {
    if (value !== null) this.pendingCursor = value;
  }

  /** The state to print. `final` closes the sync: the column cursor moves up; a full refresh forgets its files. */
  toBlob(final: boolean): FileStreamStateBlob {
    if (final && this.fullRefresh) return { version: 1, cursor_field: this.cursorField, history: {} };
    const history: Record<string, string> = {};
    for (const [key, time] of this.history) history[key] = new Date(time).toISOString();
    const moved = final && this.pendingCursor !== undefined;
    const cursor = moved ? this.pendingCursor : this.cursor;
    const boundary = moved ? this.pendingBoundary : this.boundary;
    return {
      version: 1,
      cursor_field: this.cursorField,
      history,
      ...(this.historyCutoff === undefined ? {} : { history_cutoff: new Date(this.historyCutoff.time).toISOString(), history_cutoff_key: this.historyCutoff.key }),
      ...(cursor === undefined ? {} : { cursor }),
      ...(cursor === undefined || boundary === undefined ? {} : { cursor_boundary: boundary }),
      ...(!final && this.pendingCursor !== undefined ? { pending_cursor: this.pendingCursor } : {}),
      ...(!final && this.resumeFrom !== undefined ? { resume_from: this.resumeFrom } : {}),
      ...(!final && this.inProgress !== undefined ? { in_progress: this.inProgress } : {}),
      ...(!final && this.fullRefresh ? { full_refresh_in_progress: true } : {}),
    };
  }
}

/** The order files are read in: last-modified, then key. */
function compareReadOrder(a: { time: number; key: string }, b: { time: number; key: string }): number {
  return a.time - b.time || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}
