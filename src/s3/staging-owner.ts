import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { lstat, readdir, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

/**
 * Who made a staging folder. A run killed with SIGKILL (the OOM killer, a
 * `docker kill`) cannot remove its folder, and staged objects can be large, so
 * the next run removes it: only folders it can prove are ours, and only when
 * it can prove their process is gone. Whenever it cannot tell, the folder stays.
 *
 * A PID alone is not proof: PIDs are reused, and another container sharing the
 * staging volume has its own PID numbers. So the record also holds the
 * process's start time (told apart from a reused PID), the kernel's boot id and
 * the PID namespace (PIDs compare only within one), and the host name.
 */
interface OwnerRecord {
  pid: number;
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22); null where there is no /proc. */
  startTicks: string | null;
  bootId: string | null;
  pidNamespace: string | null;
  host: string;
}

export const STAGING_FOLDER_PREFIX = 'source-s3-';
/** mkdtemp's names for the prefix: exactly six random characters. */
const STAGING_FOLDER_NAME = /^source-s3-[A-Za-z0-9]{6}$/;
const OWNER_FILE = '.owner';
/** What marks the record as ours, so a `.owner` written by anything else is never trusted. */
const OWNER_KIND = 'source-s3 staging';

function readOrNull(read: () => string): string | null {
  try {
    return read().trim();
  } catch {
    return null;
  }
}

/** The process's start time, or null when it does not exist (or /proc is not there). */
function startTicksOf(pid: number): string | null {
  const stat = readOrNull(() => readFileSync(`/proc/${pid}/stat`, 'utf8'));
  if (stat === null) return null;
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19] ?? null;
}

function currentOwner(): OwnerRecord {
  return {
    pid: process.pid,
    startTicks: startTicksOf(process.pid),
    bootId: readOrNull(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8')),
    pidNamespace: readOrNull(() => readlinkSync('/proc/self/ns/pid')),
    host: hostname(),
  };
}

/** Records this process as the owner of `dir`. */
export function writeOwnerRecord(dir: string): void {
  writeFileSync(join(dir, OWNER_FILE), `${JSON.stringify({ kind: OWNER_KIND, ...currentOwner() })}\n`, { mode: 0o600 });
}

function parseOwner(text: string): OwnerRecord | undefined {
  try {
    const value = JSON.parse(text) as Record<string, unknown>;
    const nullableString = (field: unknown) => field === null || typeof field === 'string';
    if (
      value.kind === OWNER_KIND &&
      Number.isSafeInteger(value.pid) &&
      (value.pid as number) > 0 &&
      nullableString(value.startTicks) &&
      nullableString(value.bootId) &&
      nullableString(value.pidNamespace) &&
      typeof value.host === 'string'
    ) {
      return value as unknown as OwnerRecord;
    }
  } catch {
    // Half-written or not ours: left alone.
  }
  return undefined;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** True only when the owner is certainly gone. */
export function ownerIsGone(owner: OwnerRecord, self: OwnerRecord = currentOwner()): boolean {
  if (owner.pid === self.pid && owner.startTicks === self.startTicks && owner.bootId === self.bootId && owner.pidNamespace === self.pidNamespace) return false;
  // The same machine (or container) booted again since: every process of the earlier boot is gone.
  if (owner.host === self.host && owner.bootId !== null && self.bootId !== null && owner.bootId !== self.bootId) return true;
  if (owner.bootId !== self.bootId || owner.pidNamespace !== self.pidNamespace) return false;
  if (self.bootId === null && owner.host !== self.host) return false;
  if (owner.startTicks === null) return !processExists(owner.pid);
  // Gone, or its PID now belongs to a process started later.
  return startTicksOf(owner.pid) !== owner.startTicks;
}

/**
 * Removes the staging folders under `parent` left by processes that are gone,
 * except `keep`. Best effort: whatever cannot be read or removed is left, and
 * the run goes on. Returns the folders removed.
 */
export async function removeAbandonedStagingFolders(parent: string, keep: string): Promise<string[]> {
  const removed: string[] = [];
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return removed;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    if (!STAGING_FOLDER_NAME.test(name)) continue;
    const dir = join(parent, name);
    if (dir === keep) continue;
    try {
      const info = await lstat(dir);
      // Never a symlink, and never another user's folder.
      if (!info.isDirectory() || (uid !== undefined && info.uid !== uid)) continue;
      const ownerFile = join(dir, OWNER_FILE);
      if (!(await lstat(ownerFile)).isFile()) continue;
      const owner = parseOwner(await readFile(ownerFile, 'utf8'));
      if (owner === undefined || !ownerIsGone(owner)) continue;
      await rm(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      // Vanished meanwhile, no .owner yet, or unreadable: not ours to judge.
    }
  }
  return removed;
}
