import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Row } from '../engine/engine.js';
import { sqlString } from '../engine/sql.js';
import { formatBytes } from '../format-bytes.js';
import { configError, ConnectorError, transientError } from '../protocol/errors.js';
import { onInterrupt } from '../protocol/interrupt.js';
import { settings } from '../settings.js';
import type { WorkerHello, WorkerReply, WorkerRequest } from './messages.js';
import { WORKER_MEMORY_MARGIN_BYTES, workerAddressSpaceBytes, workerResidentLimitBytes } from './memory-bound.js';
import { readFileSync } from 'node:fs';

/** Workers alive now, killed if the connector exits without closing them (one listener for all: discover runs several at once). */
const liveWorkers = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of liveWorkers) child.kill('SIGKILL');
});

const WORKER_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'worker-main.js');

/** How often the worker's resident memory is sampled: it can grow by what a process touches in that time (~100 MB) before it is stopped. */
const MEMORY_SAMPLE_MS = 20;
const PAGE_BYTES = 4096;

/** The last bytes of the worker's stderr kept to explain a crash (V8's or DuckDB's last words). */
const STDERR_TAIL = 4000;

/**
 * The connector's handle on a query worker: a child process with its own
 * DuckDB, started for one model query stream and killed when it ends. Its
 * resident memory is bounded (SOURCE_S3_DUCKDB_MEMORY_LIMIT plus a margin,
 * sampled; one huge allocation meets the OS's address-space cap first), its
 * run time by SOURCE_S3_QUERY_TIMEOUT_SECONDS, and an interrupt
 * (SIGTERM, Ctrl-C) kills it at once, whatever DuckDB is doing.
 */
export class QueryWorker {
  private readonly child: ChildProcess;
  private readonly subject: string;
  private readonly pending = new Map<number, { resolve: (reply: WorkerReply) => void; reject: (error: unknown) => void }>();
  private sequence = 0;
  private stderrTail = '';
  /** Why the worker was stopped by us (timeout, interrupt, close); undefined while it runs or when it crashed. */
  private stopReason: ConnectorError | 'closed' | undefined;
  private readonly exited: Promise<void>;
  /** Armed by the first statement: the time bound is on the query, not on staging its objects. */
  private timer: NodeJS.Timeout | undefined;
  private readonly removeInterruptHandler: () => void;
  /** Why calls fail once the worker is gone (set when it exits). */
  private exitError: Error | undefined;
  private readonly memoryWatch: NodeJS.Timeout;

  private constructor(
    child: ChildProcess,
    private readonly dir: string,
    private readonly streamName: string | undefined,
  ) {
    this.child = child;
    this.subject = streamName === undefined ? 'The query' : `Stream "${streamName}": the model query`;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL);
    });
    child.on('message', (message: WorkerReply) => {
      const waiting = this.pending.get(message.id);
      this.pending.delete(message.id);
      waiting?.resolve(message);
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        liveWorkers.delete(child);
        clearInterval(this.memoryWatch);
        this.removeInterruptHandler();
        clearTimeout(this.timer);
        const error = this.stopReason === 'closed' ? new Error('the query worker was closed') : (this.stopReason ?? this.crashError(code, signal));
        this.exitError = error;
        for (const waiting of this.pending.values()) waiting.reject(error);
        this.pending.clear();
        resolve();
      });
    });
    this.removeInterruptHandler = onInterrupt(() => this.interrupt());
    this.memoryWatch = this.watchMemory();
    liveWorkers.add(child);
  }

  /**
   * Starts a worker whose DuckDB can read only `dir` (and runs there). The
   * address-space limit is set by the shell's `ulimit -v` before exec'ing Node:
   * Node has no setrlimit of its own. `--jitless` keeps V8 from reserving
   * ~500 MB of code space, and two malloc arenas keep glibc from reserving 64 MB
   * per thread: the limit then goes to DuckDB, not to reservations.
   */
  static async start(dir: string, streamName: string | undefined): Promise<QueryWorker> {
    const kib = Math.ceil(workerAddressSpaceBytes() / 1024);
    const child = spawn('/bin/sh', ['-c', 'ulimit -v "$1" && shift && exec "$@"', 'sh', String(kib), process.execPath, '--jitless', '--no-expose-wasm', WORKER_SCRIPT], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: workerEnvironment(),
    });
    const worker = new QueryWorker(child, dir, streamName);
    const hello = await new Promise<WorkerHello | Error>((resolve) => {
      child.once('message', (message: WorkerHello) => resolve(message));
      child.once('error', (error) => resolve(error));
      void worker.exited.then(() => resolve(new Error(`exited before it was ready: ${worker.lastWords(300)}`)));
    });
    if (hello instanceof Error || !hello.ready) {
      // Stopped by us while it started (an interrupt): that is the reason, not a failed start.
      if (worker.stopReason instanceof ConnectorError) throw worker.stopReason;
      worker.stop('closed');
      const reason = (hello instanceof Error ? hello.message : hello.error).split(dir).join('<staging>');
      throw new ConnectorError('system_error', `${worker.subject} could not start its engine: ${reason}`, worker.streamField());
    }
    return worker;
  }

  /** Runs one statement and returns its rows. */
  async all(sql: string): Promise<Row[]> {
    const reply = await this.request('all', sql);
    return 'rows' in reply ? reply.rows : [];
  }

  /** Runs one statement that returns nothing to keep. */
  async run(sql: string): Promise<void> {
    await this.request('run', sql);
  }

  /** Writes the rows of a query as JSON lines to `path` (a FIFO in the worker's folder). */
  async copyJsonLines(selectSql: string, path: string): Promise<void> {
    // Named relative to the worker's folder (its working directory): DuckDB's error messages quote
    // the statement, and no part of this machine's paths may show in them.
    const target = path.startsWith(`${this.dir}/`) ? `./${path.slice(this.dir.length + 1)}` : path;
    await this.run(`COPY (${selectSql}) TO ${sqlString(target)} (FORMAT json, USE_TMP_FILE false)`);
  }

  /** Stops the worker (its DuckDB with it); calls in flight fail. */
  interrupt(): void {
    this.stop(transientError(`${this.subject} was interrupted before it finished; run the sync again.`, this.streamField()));
  }

  /** Ends the worker and waits for it to be gone. */
  async close(): Promise<void> {
    this.stop('closed');
    await this.exited;
  }

  private async request(kind: WorkerRequest['kind'], sql: string): Promise<WorkerReply> {
    if (this.stopReason !== undefined || this.child.exitCode !== null || this.child.signalCode !== null) {
      throw this.exitError ?? (this.stopReason instanceof ConnectorError ? this.stopReason : new Error('the query worker is not running'));
    }
    this.timer ??= this.armTimeout();
    const id = ++this.sequence;
    const reply = await new Promise<WorkerReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, kind, sql } satisfies WorkerRequest, (error) => {
        if (error === null || error === undefined) return;
        this.pending.delete(id);
        reject(error);
      });
    });
    if ('error' in reply) throw new Error(reply.error);
    return reply;
  }

  /**
   * Samples the worker's resident memory and stops it past the bound. The
   * OS's address-space cap alone cannot be the bound: DuckDB maps several times
   * what it touches, so a cap tight enough for resident memory refuses
   * ordinary queries.
   */
  private watchMemory(): NodeJS.Timeout {
    const limit = workerResidentLimitBytes();
    const watch = setInterval(() => {
      const resident = residentBytes(this.child.pid);
      if (resident <= limit) return;
      this.stop(
        configError(
          `${this.subject} used more than ${formatBytes(limit, 'B')} of memory (SOURCE_S3_DUCKDB_MEMORY_LIMIT ${settings().duckdbMemoryLimit} plus ${formatBytes(WORKER_MEMORY_MARGIN_BYTES, 'B')} for the engine itself) and was stopped. Make it use less (aggregate earlier, avoid huge lists or strings) or raise SOURCE_S3_DUCKDB_MEMORY_LIMIT.`,
          this.streamField(),
        ),
      );
    }, MEMORY_SAMPLE_MS);
    watch.unref();
    return watch;
  }

  private armTimeout(): NodeJS.Timeout {
    const { queryTimeoutSeconds } = settings();
    const timer = setTimeout(
      () => this.stop(configError(`${this.subject} ran longer than SOURCE_S3_QUERY_TIMEOUT_SECONDS (${queryTimeoutSeconds} s) and was stopped; make it cheaper (narrow its globs, filter earlier) or raise the limit.`, this.streamField())),
      queryTimeoutSeconds * 1000,
    );
    timer.unref();
    return timer;
  }

  private stop(reason: ConnectorError | 'closed'): void {
    this.stopReason ??= reason;
    this.child.kill('SIGKILL');
  }

  /** The end of the worker's stderr, without the local folder it ran in. */
  private lastWords(length: number): string {
    return this.stderrTail.split(this.dir).join('<staging>').trim().slice(-length);
  }

  private streamField(): { streamName?: string } {
    return this.streamName === undefined ? {} : { streamName: this.streamName };
  }

  /** The worker died on its own: most likely memory (an allocation V8 or DuckDB could not survive). */
  private crashError(code: number | null, signal: NodeJS.Signals | null): ConnectorError {
    const how = signal === null ? `exit code ${code}` : `signal ${signal}`;
    const memory = /out of memory|bad_alloc|allocation failed|Cannot allocate/i.test(this.stderrTail) || signal === 'SIGABRT' || signal === 'SIGSEGV';
    const internalMessage = this.lastWords(1000) || undefined;
    if (memory || signal === 'SIGKILL') {
      return configError(
        `${this.subject} ran out of memory and its engine stopped (${how}): a model query may use SOURCE_S3_DUCKDB_MEMORY_LIMIT (${settings().duckdbMemoryLimit}) plus ${formatBytes(WORKER_MEMORY_MARGIN_BYTES, 'B')} for the engine itself. Make it use less (aggregate earlier, avoid huge lists or strings) or raise SOURCE_S3_DUCKDB_MEMORY_LIMIT.`,
        { ...this.streamField(), ...(internalMessage === undefined ? {} : { internalMessage }) },
      );
    }
    return new ConnectorError('system_error', `${this.subject}'s engine stopped unexpectedly (${how}).`, { ...this.streamField(), ...(internalMessage === undefined ? {} : { internalMessage }) });
  }
}

/** Resident bytes of a process (0 when it is gone). */
function residentBytes(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    // statm: size resident shared ... in pages.
    return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE_BYTES;
  } catch {
    return 0;
  }
}

/**
 * The worker's environment: what Node, DuckDB and our settings need, and
 * nothing else. Credentials and the rest of the connector's environment stay
 * out of reach of the user's SQL.
 */
function workerEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { MALLOC_ARENA_MAX: '2' };
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('SOURCE_S3_') || ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'].includes(name)) env[name] = value;
  }
  return env;
}
