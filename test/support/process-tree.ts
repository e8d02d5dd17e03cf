import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { CLI, cleanEnv, type AirbyteMessageLike } from './cli.js';
import { messageErrors } from './protocol.js';

/** The parent pid of a process, or undefined when it is gone. */
function parentOf(pid: number): number | undefined {
  try {
    // The command name (field 2) is in parentheses and may hold spaces: the fields after it are fixed.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Every live descendant of `pid` (children, their children, ...), walking /proc. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const parent = parentOf(Number(entry));
    if (parent === undefined) continue;
    children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** Resident bytes of one process (0 when it is gone or a zombie). */
function rssBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0;
  }
}

/** Whether the process still runs (a zombie waiting for its parent does not). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** The query worker processes (Node running worker-main.js) below `pid`. */
export function queryWorkers(pid: number): number[] {
  return descendants(pid).filter((child) => commandLine(child).includes('worker-main.js') && !commandLine(child).startsWith('/bin/sh'));
}

/** RLIMIT_AS of a process in bytes ("Max address space" of /proc/<pid>/limits), or undefined when unlimited. */
export function addressSpaceLimit(pid: number): number | undefined {
  const match = /^Max address space\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  return match === null || match[1] === 'unlimited' ? undefined : Number(match[1]);
}

export async function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface RunningCli {
  child: ChildProcessByStdio<null, Readable, Readable>;
  pid: number;
  stdout: () => string;
  stderr: () => string;
  /** Exit code (or 128 + signal number), when the process has exited and its pipes closed. */
  exited: Promise<number>;
  /** Every query worker pid seen below the CLI while it ran (polled every 20 ms). */
  workersSeen: Set<number>;
  /** Highest resident bytes summed over the CLI and all its descendants, sampled every 20 ms. */
  peakTreeRss: () => number;
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/**
 * Starts the real CLI and watches its process tree while it runs: the query
 * workers it starts and the peak resident memory of the whole tree. A CLI
 * still running after `killAfterSeconds` is killed (with its tree), so a test
 * of a bound that does not hold fails instead of hanging.
 */
export function startCli(args: string[], env: Record<string, string> = {}, killAfterSeconds = 120): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid!;
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const workersSeen = new Set<number>();
  let peak = 0;
  const sample = () => {
    const tree = [pid, ...descendants(pid)];
    peak = Math.max(peak, tree.reduce((sum, member) => sum + rssBytes(member), 0));
    for (const worker of queryWorkers(pid)) workersSeen.add(worker);
  };
  const sampler = setInterval(sample, 20);
  const killer = setTimeout(() => {
    for (const member of [pid, ...descendants(pid)]) {
      try {
        process.kill(member, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
  }, killAfterSeconds * 1000);
  const exited = new Promise<number>((resolve) =>
    child.once('close', (code, signal) => {
      clearInterval(sampler);
      clearTimeout(killer);
      resolve(code ?? 128 + (SIGNAL_NUMBERS[signal ?? ''] ?? 0));
    }),
  );
  return { child, pid, stdout: () => stdout, stderr: () => stderr, exited, workersSeen, peakTreeRss: () => peak };
}

/** Stdout as protocol messages: every line must be a valid Airbyte message. */
export function protocolMessages(stdout: string): AirbyteMessageLike[] {
  const lines = stdout.split('\n');
  if (lines.pop() !== '') throw new Error(`stdout does not end with a newline: ${stdout.slice(-200)}`);
  return lines.map((line) => {
    const message = JSON.parse(line) as AirbyteMessageLike;
    const errors = messageErrors(message);
    if (errors !== '') throw new Error(`not a valid Airbyte message (${errors}): ${line.slice(0, 300)}`);
    return message;
  });
}

/** Files (not folders) below `dir` with their sizes, walking it recursively; [] when it is gone. */
export function filesBelow(dir: string): { path: string; size: number }[] {
  if (!existsSync(dir)) return [];
  const found: { path: string; size: number }[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = `${entry.parentPath}/${entry.name}`;
    try {
      found.push({ path, size: statSync(path).size });
    } catch {
      // Removed while we looked.
    }
  }
  return found;
}
