// How `npm run bench` runs the real CLI: as a child process, its stdout consumed the way an
// orchestrator would (through a pipe), its peak memory (whole process tree) and its staging disk
// (SOURCE_S3_STAGING_DIR pointed at a fresh folder) sampled every 20 ms.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, createReadStream, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
export const cli = join(root, 'dist', 'main.js');
const SAMPLE_MS = 20;
const RECORD_PREFIX = Buffer.from('{"type":"RECORD"');
const STATE_PREFIX = Buffer.from('{"type":"STATE"');

let runs = 0;

/**
 * Runs `source-s3 <args>` and returns { seconds, rss, stagingPeak, records, states }.
 * - output 'grep' (big outputs): the connector's stdout is a pipe read by `grep -c` counting RECORD
 *   lines (grep gets the pipe itself: no JavaScript relays the bytes, which on 2 cores would cost
 *   the connector a third of a core);
 * - output 'scan': stdout goes to a file, scanned after the run (not timed), counting RECORD lines
 *   and measuring every STATE line (count, total bytes, largest).
 * `work` holds the staging folder of the run; `env` adds variables.
 */
export async function runConnector(args, { work, output = 'scan', env = {} }) {
  const staging = join(work, `staging-${++runs}`);
  mkdirSync(staging, { recursive: true });
  const outputFile = join(work, `stdout-${runs}.jsonl`);
  const grep = output === 'grep' ? spawn('grep', ['-c', '^{"type":"RECORD"'], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, LC_ALL: 'C' } }) : undefined;
  const grepCount = grep === undefined ? undefined : collect(grep);
  const stdoutTarget = grep === undefined ? openSync(outputFile, 'w') : grep.stdin;
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, ['--import', join(import.meta.dirname, 'report-rss.mjs'), cli, ...args], {
    stdio: ['ignore', stdoutTarget, 'pipe'],
    env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true', SOURCE_S3_STAGING_DIR: staging, ...env },
  });
  if (grep === undefined) closeSync(stdoutTarget);
  else grep.stdin.destroy();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr = (stderr + chunk).slice(-20_000)));

  let rssPeak = 0;
  let stagingPeak = 0;
  const sample = () => {
    rssPeak = Math.max(rssPeak, processTreeRss(child.pid));
    stagingPeak = Math.max(stagingPeak, diskUse(staging));
  };
  const sampler = setInterval(sample, SAMPLE_MS);
  const code = await new Promise((resolve) => child.on('close', resolve));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(sampler);
  const { records, states } = grepCount !== undefined ? { records: Number((await grepCount).trim() || 0), states: { count: 0, bytes: 0, largest: 0 } } : await scanLines(createReadStream(outputFile));
  rmSync(outputFile, { force: true });
  if (code !== 0) throw new Error(`source-s3 ${args[0]} exited with ${code}: ${stderr.slice(-2000)}`);
  // The main process's own peak (from the kernel, exact) can be above the sampled tree's.
  const mainPeak = Number(/BENCH_MAX_RSS_KB=(\d+)/.exec(stderr)?.[1] ?? 0) * 1024;
  return { seconds, rss: Math.max(rssPeak, mainPeak), stagingPeak, records, states };
}

/** What a child process prints on stdout, once it ends. */
function collect(child) {
  let text = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (text += chunk));
  return new Promise((resolve) => child.on('close', () => resolve(text)));
}

/** Counts RECORD lines and measures STATE lines, working on bytes (no string per line). */
function scanLines(stdout) {
  let records = 0;
  const states = { count: 0, bytes: 0, largest: 0 };
  let head = Buffer.alloc(0); // the first bytes of the current line, up to a prefix's length
  let length = 0; // bytes of the current line so far
  const endLine = () => {
    if (head.subarray(0, RECORD_PREFIX.length).equals(RECORD_PREFIX)) records++;
    else if (head.subarray(0, STATE_PREFIX.length).equals(STATE_PREFIX)) {
      states.count++;
      states.bytes += length + 1;
      states.largest = Math.max(states.largest, length + 1);
    }
    head = Buffer.alloc(0);
    length = 0;
  };
  stdout.on('data', (chunk) => {
    let start = 0;
    for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
      if (head.length < RECORD_PREFIX.length) head = Buffer.concat([head, chunk.subarray(start, Math.min(newline, start + RECORD_PREFIX.length))]);
      length += newline - start;
      endLine();
      start = newline + 1;
    }
    if (start < chunk.length) {
      if (head.length < RECORD_PREFIX.length) head = Buffer.concat([head, chunk.subarray(start, Math.min(chunk.length, start + RECORD_PREFIX.length))]);
      length += chunk.length - start;
    }
  });
  return new Promise((resolve) => stdout.on('end', () => resolve({ records, states })));
}

/** Resident bytes of a process and all its descendants (from /proc; 0 once gone). */
export function processTreeRss(pid) {
  let total = 0;
  try {
    total = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean)) total += processTreeRss(Number(child));
    }
  } catch {
    // Gone meanwhile.
  }
  return total;
}

/** Bytes of disk a folder's files occupy (allocated blocks: sparse files count what they hold). */
export function diskUse(folder) {
  let total = 0;
  let entries;
  try {
    entries = readdirSync(folder, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(folder, entry.name);
    try {
      if (entry.isDirectory()) total += diskUse(path);
      else total += lstatSync(path).blocks * 512;
    } catch {
      // Removed meanwhile.
    }
  }
  return total;
}

/**
 * The catalog `discover` gives for `configPath`, configured the way an orchestrator would:
 * every stream in `syncMode` (incremental on its default cursor), written to `catalogPath` and returned.
 */
export function discoveredCatalog(configPath, catalogPath, syncMode) {
  const discovered = spawnSync(process.execPath, [cli, 'discover', '--config', configPath], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' },
  });
  const line = discovered.stdout.split('\n').find((text) => text.startsWith('{"type":"CATALOG"'));
  if (discovered.status !== 0 || line === undefined) throw new Error(`discover failed (exit ${discovered.status}): ${discovered.stdout.slice(-1000)} ${discovered.stderr.slice(-1000)}`);
  const streams = JSON.parse(line).catalog.streams.map((stream) => {
    const incremental = syncMode === 'incremental' && stream.supported_sync_modes.includes('incremental');
    return {
      stream,
      sync_mode: incremental ? 'incremental' : 'full_refresh',
      destination_sync_mode: incremental ? 'append' : 'overwrite',
      ...(incremental && stream.default_cursor_field ? { cursor_field: stream.default_cursor_field } : {}),
    };
  });
  writeFileSync(catalogPath, JSON.stringify({ streams }));
  return { streams };
}

/** A catalog naming the streams with no columns at all ("every column of the file"). */
export function emptyCatalog(names, catalogPath, syncMode) {
  const streams = names.map((name) => ({
    stream: { name, json_schema: { type: 'object', properties: {} }, supported_sync_modes: ['full_refresh', 'incremental'] },
    sync_mode: syncMode,
    destination_sync_mode: syncMode === 'incremental' ? 'append' : 'overwrite',
  }));
  writeFileSync(catalogPath, JSON.stringify({ streams }));
  return catalogPath;
}

/** Median of numbers. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
