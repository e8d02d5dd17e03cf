import { configError, type ConnectorError } from '../protocol/errors.js';
import type { S3Object } from '../s3/settings.js';
import { settings } from '../settings.js';
import { isRecord } from '../protocol/json-object.js';

/** Where a sync stopped inside a file: the rows of it already emitted (after the cursor filter). */
export interface FilePosition {
  key: string;
  last_modified: string;
  rows: number;
  /**
   * The object version the rows belong to (see objectVersion). The position is used only for that
   * version; states printed before versions were kept have none and match on last_modified alone.
   */
  version?: string;
}

/** A synced file as history remembers it: last-modified (ms), and its version when known. */
export interface HistoryEntry {
  time: number;
  version?: string;
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
  /**
   * Files fully synced: key -> `"<last-modified ISO 8601>|<version>"`, e.g.
   * `"2026-11-30T12:00:00.000Z|1234:9b2cf535f27731c974343645a3985328"` (see objectVersion).
   * Last-modified has one-second resolution on S3, so the version tells a rewrite within the same
   * second apart. A bare `"<ISO time>"` (states printed before versions were kept, or Airbyte's S3
   * connector) is still read: such a file counts as synced while its time is not later.
   */
  history: Record<string, string>;
  /**
   * Set once history overflowed: the newest (last-modified, key) dropped. Files not in history that
   * come at or before it in read order (last-modified, then key) count as synced.
   */
  history_cutoff?: string;
  history_cutoff_key?: string;
  /**
   * The last-modified time (ISO 8601) of the newest file in history, or of the history cutoff: the
   * file cursor's value as a plain date-time, for tools that read a cursor out of the state (Airbyte's
   * CAT 0.11.5 looks it up at `cursor_paths`). Written for them only; never read back.
   */
  latest_file_modified?: string;
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

/** A boundary from a state; anything else is ignored, which only means its rows may come again. */
const isBoundary = (value: unknown): value is CursorBoundary =>
  isRecord(value) && Number.isInteger(value.rows) && (value.rows as number) >= 0 && typeof value.hash === 'string' && /^\d+$/.test(value.hash);
const iso = (date: Date) => date.toISOString();

/**
 * The version of an object as the listing shows it: `<size>:<ETag without quotes>`, or `<size>`
 * when the store gives no ETag. A rewrite changes the ETag (multipart ETags like `abc-3` too: they
 * hash the parts), and usually the size; stores without ETags fall back to the size alone.
 */
export function objectVersion(object: S3Object): string {
  const etag = object.etag?.replace(/^W\//, '').replace(/"/g, '').trim();
  return etag === undefined || etag === '' ? String(object.size) : `${object.size}:${etag}`;
}

/** A history value from a state: `"<ISO time>"` or `"<ISO time>|<version>"`; undefined when unreadable. */
function parseHistoryValue(value: unknown): HistoryEntry | undefined {
  if (typeof value !== 'string') return undefined;
  const bar = value.indexOf('|');
  const time = Date.parse(bar === -1 ? value : value.slice(0, bar));
  if (Number.isNaN(time)) return undefined;
  if (bar === -1) return { time };
  const version = value.slice(bar + 1);
  return version === '' ? undefined : { time, version };
}

/**
 * A state the connector cannot use: the user's to fix (a config_error naming the stream, and the
 * state as the culprit, not the data). Silently starting over would re-sync everything.
 */
export function stateError(streamName: string, reason: string): ConnectorError {
  return configError(
    `The state of stream "${streamName}" ${reason}. Pass the state a previous read of this stream printed, or drop this stream from the state to sync it from the start.`,
    { streamName },
  );
}

/** A state value to quote in an error: short, as JSON. */
export function stateValuePreview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}

/**
 * A stream's sync state and the rules on it. History is bounded: when full,
 * the oldest entries go and `history_cutoff` remembers the newest time removed;
 * a file not in history and not modified after the cutoff counts as synced
 * (the rule of Airbyte's file-based CDK). Re-uploading such an old file with
 * its old timestamp would skip it; a new upload gets a new timestamp and syncs.
 */
export class StreamState {
  readonly streamName: string;
  readonly cursorField: string;
  readonly history: Map<string, HistoryEntry>;
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
    streamName: string;
    cursorField: string;
    history: Map<string, HistoryEntry>;
    historyCutoff?: { time: number; key: string };
    cursor?: unknown;
    boundary?: CursorBoundary;
    pendingCursor?: unknown;
    resumeFrom?: unknown;
    inProgress?: FilePosition;
    fullRefresh: boolean;
  }) {
    this.streamName = fields.streamName;
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

  static fresh(cursorField: string, fullRefresh: boolean, streamName = ''): StreamState {
    return new StreamState({ streamName, cursorField, history: new Map(), fullRefresh });
  }

  /**
   * The state to start from. Incremental syncs continue from the input state;
   * full refresh resumes only a full refresh that did not finish. A state that
   * cannot be read, or was kept with another cursor field, is the user's to fix:
   * silently starting over would re-sync everything.
   */
  static fromInput(streamName: string, input: unknown, cursorField: string, fullRefresh: boolean): StreamState {
    if (input === undefined) return StreamState.fresh(cursorField, fullRefresh, streamName);
    const fail = (reason: string) => stateError(streamName, reason);
    if (!isRecord(input)) throw fail('is not an object');
    if (Object.keys(input).length === 0) return StreamState.fresh(cursorField, fullRefresh, streamName);
    if (input.version === undefined && isRecord(input.history)) {
      // Airbyte's own S3 connector: {history: {key: time}, _ab_source_file_last_modified: ...}.
      input = { version: 1, cursor_field: '_ab_source_file_last_modified', history: input.history };
    }
    const blob = input as Partial<FileStreamStateBlob> & Record<string, unknown>;
    // A full refresh resumes only its own unfinished sync; any other state (say, an incremental one
    // left from before the sync mode changed) is simply not for it.
    if (fullRefresh && blob.full_refresh_in_progress !== true) return StreamState.fresh(cursorField, true, streamName);
    if (blob.version !== 1) throw fail(`has version ${JSON.stringify(blob.version)}, which this connector does not know`);
    if (typeof blob.cursor_field !== 'string') throw fail('has no cursor_field');
    if (blob.cursor_field !== cursorField) {
      throw fail(`was kept with cursor field "${blob.cursor_field}", but the catalog now uses "${cursorField}"; a state of one cursor cannot filter by another`);
    }
    if (!isRecord(blob.history)) throw fail('has no history object');
    const history = new Map<string, HistoryEntry>();
    for (const [key, value] of Object.entries(blob.history)) {
      const entry = parseHistoryValue(value);
      if (entry === undefined) {
        throw fail(`has an unreadable history entry for file ${stateValuePreview(key)}: ${stateValuePreview(value)} (expected "<ISO time>" or "<ISO time>|<version>")`);
      }
      history.set(key, entry);
    }
    const cutoffTime = typeof blob.history_cutoff === 'string' ? Date.parse(blob.history_cutoff) : undefined;
    if (cutoffTime !== undefined && Number.isNaN(cutoffTime)) throw fail('has an unreadable history_cutoff');
    const cutoff = cutoffTime === undefined ? undefined : { time: cutoffTime, key: typeof blob.history_cutoff_key === 'string' ? blob.history_cutoff_key : '' };
    let inProgress: FilePosition | undefined;
    if (blob.in_progress !== undefined) {
      const position = (isRecord(blob.in_progress) ? blob.in_progress : {}) as Partial<FilePosition>;
      if (typeof position.key !== 'string' || typeof position.last_modified !== 'string' || Number.isNaN(Date.parse(position.last_modified))) {
        throw fail(`has an unreadable in_progress position ${stateValuePreview(blob.in_progress)} (expected {key, last_modified, rows, version})`);
      }
      if (!Number.isSafeInteger(position.rows) || (position.rows as number) < 0) {
        throw fail(`has in_progress.rows ${stateValuePreview(position.rows)} for file ${stateValuePreview(position.key)}, which is not a count of rows (a whole number from 0)`);
      }
      if (position.version !== undefined && (typeof position.version !== 'string' || position.version === '')) {
        throw fail(`has an unreadable in_progress.version ${stateValuePreview(position.version)} for file ${stateValuePreview(position.key)}`);
      }
      inProgress = {
        key: position.key,
        last_modified: position.last_modified,
        rows: position.rows as number,
        ...(position.version === undefined ? {} : { version: position.version }),
      };
    }
    return new StreamState({
      streamName,
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

  /**
   * Whether the object was synced as it is now (or later: a state from the future skips it too).
   * A remembered version must match as well: a rewrite within the same second is read again.
   */
  isSynced(object: S3Object): boolean {
    const synced = this.history.get(object.key);
    if (synced !== undefined) return synced.time >= object.lastModified.getTime() && (synced.version === undefined || synced.version === objectVersion(object));
    return this.historyCutoff !== undefined && compareReadOrder({ time: object.lastModified.getTime(), key: object.key }, this.historyCutoff) <= 0;
  }

  /** Rows of this object already emitted by an interrupted sync: 0 when none, or when they were of another version. */
  rowsDone(object: S3Object): number {
    const position = this.inProgress;
    if (position === undefined || position.key !== object.key || Date.parse(position.last_modified) !== object.lastModified.getTime()) return 0;
    return position.version === undefined || position.version === objectVersion(object) ? position.rows : 0;
  }

  /** Records that `rows` rows of the object (this version of it) were emitted. */
  markProgress(object: S3Object, rows: number): void {
    this.inProgress = { key: object.key, last_modified: iso(object.lastModified), rows, version: objectVersion(object) };
  }

  markSynced(object: S3Object, limit = historyMax()): void {
    this.history.delete(object.key);
    this.history.set(object.key, { time: object.lastModified.getTime(), version: objectVersion(object) });
    this.inProgress = undefined;
    if (this.history.size <= limit) return;
    const oldest = [...this.history]
      .map(([key, { time }]) => ({ key, time }))
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
    for (const [key, { time, version }] of this.history) history[key] = version === undefined ? new Date(time).toISOString() : `${new Date(time).toISOString()}|${version}`;
    let latest = this.historyCutoff?.time;
    for (const { time } of this.history.values()) if (latest === undefined || time > latest) latest = time;
    const moved = final && this.pendingCursor !== undefined;
    const cursor = moved ? this.pendingCursor : this.cursor;
    const boundary = moved ? this.pendingBoundary : this.boundary;
    return {
      version: 1,
      cursor_field: this.cursorField,
      history,
      ...(this.historyCutoff === undefined ? {} : { history_cutoff: new Date(this.historyCutoff.time).toISOString(), history_cutoff_key: this.historyCutoff.key }),
      ...(latest === undefined ? {} : { latest_file_modified: new Date(latest).toISOString() }),
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
