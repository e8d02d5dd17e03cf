import type { DuckDBConnection, DuckDBInstance, DuckDBPreparedStatement } from '@duckdb/node-api';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { sqlString, sqlStringList } from './sql.js';
import { settings } from '../settings.js';
import { onInterrupt } from '../protocol/interrupt.js';
import { requireCjs } from '../cjs-require.js';

const duckdb = requireCjs('@duckdb/node-api') as typeof import('@duckdb/node-api');

export type Row = Record<string, unknown>;

/** What an engine runs: file streams and their samples, or a model query (in its worker). */
export type EngineUse = 'files' | 'query';

/**
 * DuckDB settings: SOURCE_S3_DUCKDB_FILE_THREADS (1) for file streams, SOURCE_S3_DUCKDB_THREADS (2)
 * for model queries, SOURCE_S3_DUCKDB_MEMORY_LIMIT and SOURCE_S3_DUCKDB_MAX_SPILL for both.
 */
export function engineLimits(use: EngineUse = 'files'): { threads: string; memoryLimit: string; maxSpill: string } {
  const { duckdbThreads, duckdbFileThreads, duckdbMemoryLimit, duckdbMaxSpill } = settings();
  return { threads: String(use === 'query' ? duckdbThreads : duckdbFileThreads), memoryLimit: duckdbMemoryLimit, maxSpill: duckdbMaxSpill };
}

/**
 * The one place that creates DuckDB. The instance can read only the staging
 * directory: no other file, no network, no extension install or autoload, and
 * the configuration is locked so SQL cannot loosen it.
 */
export class Engine {
  private readonly instance: DuckDBInstance;
  private readonly connection: DuckDBConnection;
  /** Queries run one at a time on the connection; callers may be concurrent. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Told to stop (SIGTERM, Ctrl-C), the query in flight ends: the process can then exit. */
  private readonly removeInterruptHandler = onInterrupt(() => this.interrupt());

  private constructor(instance: DuckDBInstance, connection: DuckDBConnection) {
    this.instance = instance;
    this.connection = connection;
  }

  static async create(stagingDir: string, use: EngineUse = 'files'): Promise<Engine> {
    const { threads, memoryLimit, maxSpill } = engineLimits(use);
    const spillDir = join(stagingDir, '.duckdb-spill');
    mkdirSync(spillDir, { recursive: true, mode: 0o700 });
    const instance = await duckdb.DuckDBInstance.create(':memory:', {
      threads,
      memory_limit: memoryLimit,
      autoload_known_extensions: 'false',
      autoinstall_known_extensions: 'false',
      temp_directory: spillDir,
    });
    const connection = await instance.connect();
    const directory = stagingDir.endsWith('/') ? stagingDir : `${stagingDir}/`;
    // Zoned timestamps are written in UTC, whatever the machine's zone.
    await connection.run("SET TimeZone = 'UTC'");
    // A query that spills (a huge DISTINCT, a sort) may not fill the disk.
    await connection.run(`SET max_temp_directory_size = ${sqlString(maxSpill)}`);
    // Order matters: allow the directory before closing external access, then lock.
    await connection.run(`SET allowed_directories = ${sqlStringList([directory])}`);
    await connection.run('SET enable_external_access = false');
    await connection.run('SET lock_configuration = true');
    return new Engine(instance, connection);
  }

  /** Runs one statement and returns its rows as JSON-compatible objects. */
  async all(sql: string): Promise<Row[]> {
    return this.enqueue(async () => (await this.runOne(sql, (statement) => statement.runAndReadAll())).getRowObjectsJson() as Row[]);
  }

  /** Runs one statement that returns nothing to keep (COPY, CREATE, DROP). */
  async run(sql: string): Promise<void> {
    await this.enqueue(() => this.runOne(sql, (statement) => statement.run()));
  }

  /**
   * How many statements DuckDB's parser finds in `sql` (parsing only: nothing is bound or run).
   * Text that does not parse throws DuckDB's parser error; text without a statement counts 0.
   */
  async statementCount(sql: string): Promise<number> {
    return this.enqueue(async () => {
      // The node API answers text without a statement with a bare "Error in native callback".
      if (sql.trim() === '') return 0;
      try {
        return (await this.connection.extractStatements(sql)).count;
      } catch (error) {
        if (error instanceof Error && /native callback/.test(error.message)) return 0;
        throw error;
      }
    });
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(() => {
      this.assertOpen();
      return work();
    });
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * Every statement runs as one prepared statement: DuckDB refuses to prepare
   * several at once, so no text, however it was built, can run a second
   * statement behind the first (the plain run API executes them all).
   */
  private async runOne<T>(sql: string, work: (statement: DuckDBPreparedStatement) => Promise<T>): Promise<T> {
    const statement = await this.connection.prepare(sql);
    try {
      return await work(statement);
    } finally {
      statement.destroySync();
    }
  }

  /**
   * Writes the rows of a query as JSON lines to `path` (a FIFO someone reads,
   * or a file). DuckDB's JSON writer serializes vectorized; USE_TMP_FILE is off
   * because a FIFO cannot be renamed into place.
   */
  async copyJsonLines(selectSql: string, path: string): Promise<void> {
    await this.run(`COPY (${selectSql}) TO ${sqlString(path)} (FORMAT json, USE_TMP_FILE false)`);
  }

  async setting(name: string): Promise<unknown> {
    const rows = await this.all(`SELECT current_setting(${sqlString(name)}) AS value`);
    return rows[0]?.value;
  }

  /** Asks DuckDB to stop the running query (it ends with an error). */
  interrupt(): void {
    this.connection.interrupt();
  }

  /**
   * Closes DuckDB once the query in flight (if any) has ended; later queries
   * are refused. Closing under a running query deadlocks DuckDB's client
   * context, and the process then never exits.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    this.removeInterruptHandler();
    this.connection.closeSync();
    this.instance.closeSync();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the engine is closed');
  }
}
