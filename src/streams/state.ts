import { configError, type ConnectorError } from '../protocol/errors.js';
import type { S3Object } from '../s3/settings.js';
import { settings } from '../settings.js';
import { isRecord } from '../protocol/json-object.js';
import { decodeFiles, encodeFiles, FilesEncodingError, shortVersion } from './state-encoding.js';

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

/** A synced file as history remembers it: last-modified (ms), and its short version (shortVersion) when known. */
export interface HistoryEntry {
  time: number;
  version?: string;
}

/** The rows at a cursor value, as a fingerprint: their number and the sum of their row hashes. */
export interface CursorBoundary {
  rows: number;
  hash: string;
}

/** Fields every version of the blob has beside the remembered files. */
interface BlobCommon {
  cursor_field: string;
  /**
   * The watermark: the newest (last-modified, key) folded out of the remembered files. Files not
   * remembered that come at or before it in read order (last-modified, then key) count as synced.
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

/**
 * The state of a file stream as printed today (stream_state of STATE messages): the watermark
 * (history_cutoff) plus the files near it, compact (see state-encoding.ts).
 */
export interface FileStreamStateBlob extends BlobCommon {
  version: 2;
  /** The remembered files, front-coded: `<shared> <suffix> <offset> <version>` (see encodeFiles). */
  files: string[];
  /** The time the offsets of `files` count from (ISO 8601); absent when `files` is empty. */
  files_since?: string;
}

/**
 * The state as versions before 2 printed it, still read. `history` maps each file to
 * `"<last-modified ISO 8601>|<size>:<etag>"`, or a bare `"<ISO time>"` (states printed before versions
 * were kept, or Airbyte's S3 connector): such a file counts as synced while its time is not later.
 */
export interface FileStreamStateBlobV1 extends BlobCommon {
  version: 1;
  history: Record<string, string>;
}

/** How much history a state keeps: SOURCE_S3_HISTORY_MAX files at most, within SOURCE_S3_HISTORY_WINDOW_SECONDS of the newest. */
export interface HistoryLimits {
  maxFiles: number;
  windowMs: number;
}


/** The history limits of the process's settings. */
export function historyLimits(): HistoryLimits {
  return { maxFiles: settings().historyMax, windowMs: settings().historyWindowSeconds * 1000 };
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
 * A stream's sync state and the rules on it.
 *
 * What a state remembers is a watermark and the files near it, so that it stays small however many
 * files a stream has synced (a bucket of hourly exports keeps a tiny state forever):
 *
 * - `historyCutoff`, the watermark: every file at or before it in read order (last-modified, then
 *   key) counts as synced, unless history holds it with another version;
 * - `history`, the files synced within the history window of the newest one (and at most
 *   `maxFiles` of them), each with its last-modified time and short version, so that a file
 *   rewritten in the same second, or one that appears late with an older last-modified time (a
 *   multipart upload is dated when it started; a replica keeps its source's date), is still read.
 *
 * Older files fold into the cutoff (the rule of Airbyte's file-based CDK when its history is full).
 * The one risk is an object appearing more than the window after its last-modified time: it would
 * be taken as synced.
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
  readonly limits: HistoryLimits;
  private readonly fullRefresh: boolean;
  /** The files this sync reads, in read order (see `willRead`); `unreadFrom` is the first not yet synced. */
  private toRead: { time: number; key: string }[] = [];
  private unreadFrom = 0;

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
    limits: HistoryLimits;
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
    this.limits = fields.limits;
  }

  static fresh(cursorField: string, fullRefresh: boolean, streamName = '', limits: HistoryLimits = historyLimits()): StreamState {
    return new StreamState({ streamName, cursorField, history: new Map(), fullRefresh, limits });
  }

  /**
   * The state to start from. Incremental syncs continue from the input state;
   * full refresh resumes only a full refresh that did not finish. A state that
   * cannot be read, or was kept with another cursor field, is the user's to fix:
   * silently starting over would re-sync everything. Blobs of version 1 (and
   * Airbyte's S3 connector's shape) are read as well as today's version 2.
   */
  static fromInput(streamName: string, input: unknown, cursorField: string, fullRefresh: boolean, limits: HistoryLimits = historyLimits()): StreamState {
    if (input === undefined) return StreamState.fresh(cursorField, fullRefresh, streamName, limits);
    const fail = (reason: string) => stateError(streamName, reason);
    if (!isRecord(input)) throw fail('is not an object');
    if (Object.keys(input).length === 0) return StreamState.fresh(cursorField, fullRefresh, streamName, limits);
    if (input.version === undefined && isRecord(input.history)) {
      // Airbyte's own S3 connector: {history: {key: time}, _ab_source_file_last_modified: ...}.
      input = { version: 1, cursor_field: '_ab_source_file_last_modified', history: input.history };
    }
    const blob = input as Partial<BlobCommon> & Record<string, unknown>;
    // A full refresh resumes only its own unfinished sync; any other state (say, an incremental one
    // left from before the sync mode changed) is simply not for it.
    if (fullRefresh && blob.full_refresh_in_progress !== true) return StreamState.fresh(cursorField, true, streamName, limits);
    if (blob.version !== 1 && blob.version !== 2) throw fail(`has version ${JSON.stringify(blob.version)}, which this connector does not know`);
    if (typeof blob.cursor_field !== 'string') throw fail('has no cursor_field');
    if (blob.cursor_field !== cursorField) {
      throw fail(`was kept with cursor field "${blob.cursor_field}", but the catalog now uses "${cursorField}"; a state of one cursor cannot filter by another`);
    }
    const history = blob.version === 1 ? historyOfV1(blob, fail) : historyOfV2(blob, fail);
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
      limits,
    });
  }

  /**
   * Whether the object was synced as it is now (or later: a state from the future skips it too).
   * A remembered version must match as well: a rewrite within the same second is read again.
   */
  isSynced(object: S3Object): boolean {
    const synced = this.history.get(object.key);
    if (synced !== undefined) return synced.time >= object.lastModified.getTime() && (synced.version === undefined || synced.version === shortVersion(objectVersion(object)));
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

  /**
   * Tells the state which files this sync will read, in read order. Until a file is synced, the
   * watermark never reaches it: folding the history (a lowered SOURCE_S3_HISTORY_MAX or window, a
   * late file older than every remembered one) must not make a file not yet read count as synced.
   */
  willRead(objects: readonly S3Object[]): void {
    this.toRead = objects.map((object) => ({ time: object.lastModified.getTime(), key: object.key }));
    this.unreadFrom = 0;
  }

  /** The first file of `willRead` not synced yet, if any. */
  private firstUnread(): { time: number; key: string } | undefined {
    while (this.unreadFrom < this.toRead.length) {
      const next = this.toRead[this.unreadFrom]!;
      const synced = this.history.get(next.key);
      if (synced === undefined || synced.time < next.time) return next;
      this.unreadFrom++;
    }
    return undefined;
  }

  /**
   * Records the object as synced. Call it in read order (oldest first): files folded into the
   * cutoff count as synced with everything before them. Folding waits for the next printed state
   * (it sorts the history), unless history grows to twice its cap.
   */
  markSynced(object: S3Object): void {
    this.history.delete(object.key);
    this.history.set(object.key, { time: object.lastModified.getTime(), version: shortVersion(objectVersion(object)) });
    this.inProgress = undefined;
    if (this.history.size > 2 * this.limits.maxFiles) this.fold();
  }

  /**
   * Moves out of history the files older than the window before the newest one, then the oldest
   * until at most `maxFiles` remain; the cutoff rises to the newest file moved. Never past a file
   * this sync has still to read, nor a file in progress: neither is synced yet, and neither may
   * come to count as such.
   */
  fold(): void {
    if (this.history.size === 0) return;
    let newest = Number.NEGATIVE_INFINITY;
    let oldest = Number.POSITIVE_INFINITY;
    for (const { time } of this.history.values()) {
      if (time > newest) newest = time;
      if (time < oldest) oldest = time;
    }
    const windowStart = newest - this.limits.windowMs;
    // Nothing can fold (the common case at every printed STATE): no sort of the whole history.
    if (oldest >= windowStart && this.history.size <= this.limits.maxFiles) return;
    const inProgress = this.inProgress === undefined ? undefined : { time: Date.parse(this.inProgress.last_modified), key: this.inProgress.key };
    const unread = this.firstUnread();
    const oldestFirst = [...this.history].map(([key, { time }]) => ({ key, time })).sort(compareReadOrder);
    let remaining = oldestFirst.length;
    for (const entry of oldestFirst) {
      if (entry.time >= windowStart && remaining <= this.limits.maxFiles) break;
      if (inProgress !== undefined && compareReadOrder(entry, inProgress) >= 0) break;
      if (unread !== undefined && compareReadOrder(entry, unread) >= 0) break;
      this.history.delete(entry.key);
      remaining--;
      if (this.historyCutoff === undefined || compareReadOrder(entry, this.historyCutoff) > 0) this.historyCutoff = entry;
    }
  }

  /** The largest column cursor value emitted so far (compared by DuckDB in the column's type, kept as its text). */
  raisePendingCursor(value: string | null): void {
    if (value !== null) this.pendingCursor = value;
  }

  /** The state to print. `final` closes the sync: the column cursor moves up; a full refresh forgets its files. */
  toBlob(final: boolean): FileStreamStateBlob {
    if (final && this.fullRefresh) return { version: 2, cursor_field: this.cursorField, files: [] };
    this.fold();
    const encoded = encodeFiles([...this.history].map(([key, entry]) => ({ key, ...entry })));
    let latest = this.historyCutoff?.time;
    for (const { time } of this.history.values()) if (latest === undefined || time > latest) latest = time;
    const moved = final && this.pendingCursor !== undefined;
    const cursor = moved ? this.pendingCursor : this.cursor;
    const boundary = moved ? this.pendingBoundary : this.boundary;
    return {
      version: 2,
      cursor_field: this.cursorField,
      files: encoded?.files ?? [],
      ...(encoded === undefined ? {} : { files_since: encoded.since }),
      ...(this.historyCutoff === undefined ? {} : { history_cutoff: iso(new Date(this.historyCutoff.time)), history_cutoff_key: this.historyCutoff.key }),
      ...(latest === undefined ? {} : { latest_file_modified: iso(new Date(latest)) }),
      ...(cursor === undefined ? {} : { cursor }),
      ...(cursor === undefined || boundary === undefined ? {} : { cursor_boundary: boundary }),
      ...(!final && this.pendingCursor !== undefined ? { pending_cursor: this.pendingCursor } : {}),
      ...(!final && this.resumeFrom !== undefined ? { resume_from: this.resumeFrom } : {}),
      ...(!final && this.inProgress !== undefined ? { in_progress: this.inProgress } : {}),
      ...(!final && this.fullRefresh ? { full_refresh_in_progress: true } : {}),
    };
  }
}

/** The history of a version 1 blob: `history` maps keys to `"<ISO time>"` or `"<ISO time>|<size>:<etag>"`. */
function historyOfV1(blob: Record<string, unknown>, fail: (reason: string) => ConnectorError): Map<string, HistoryEntry> {
  if (!isRecord(blob.history)) throw fail('has no history object');
  const history = new Map<string, HistoryEntry>();
  for (const [key, value] of Object.entries(blob.history)) {
    const entry = parseHistoryValue(value);
    if (entry === undefined) {
      throw fail(`has an unreadable history entry for file ${stateValuePreview(key)}: ${stateValuePreview(value)} (expected "<ISO time>" or "<ISO time>|<version>")`);
    }
    history.set(key, entry.version === undefined ? entry : { time: entry.time, version: shortVersion(entry.version) });
  }
  return history;
}

/** The history of a version 2 blob: the front-coded `files`, their offsets counted from `files_since`. */
function historyOfV2(blob: Record<string, unknown>, fail: (reason: string) => ConnectorError): Map<string, HistoryEntry> {
  if (!Array.isArray(blob.files)) throw fail('has no files list');
  const since = typeof blob.files_since === 'string' ? Date.parse(blob.files_since) : blob.files.length === 0 ? 0 : Number.NaN;
  if (Number.isNaN(since)) throw fail(`has an unreadable files_since ${stateValuePreview(blob.files_since)} (expected an ISO 8601 time)`);
  try {
    return new Map(decodeFiles(since, blob.files).map(({ key, ...entry }) => [key, entry]));
  } catch (error) {
    if (!(error instanceof FilesEncodingError)) throw error;
    throw fail(`has an unreadable files entry ${error.index} (${stateValuePreview(blob.files[error.index])}): it ${error.message}`);
  }
}

/** The order files are read in: last-modified, then key. */
function compareReadOrder(a: { time: number; key: string }, b: { time: number; key: string }): number {
  return a.time - b.time || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}
