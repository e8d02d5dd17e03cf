import { settings } from '../settings.js';

/**
 * Address space a query worker may use on top of SOURCE_S3_DUCKDB_MEMORY_LIMIT.
 * Measured here (Node 20, DuckDB 1.5.6, `--jitless`, MALLOC_ARENA_MAX=2): an
 * idle worker maps ~330 MB, and DuckDB overshoots its own limit by ~300 MB in a
 * large sort (30M rows under a 1 GB limit peaked at 1.7 GB of address space,
 * 1.3 GB resident). 1 GiB leaves room for both; anything past it fails inside
 * the worker with an allocation error instead of growing until the kernel's
 * OOM killer ends the container.
 */
export const WORKER_MEMORY_MARGIN_BYTES = 2 ** 30;

const UNITS: Record<string, number> = { KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KIB: 2 ** 10, MIB: 2 ** 20, GIB: 2 ** 30, TIB: 2 ** 40 };

/** Bytes of a DuckDB size such as `1GB` (10^9, as DuckDB reads it) or `1.5GiB` (2^30). */
export function duckdbSizeBytes(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]i?B)$/i.exec(text.trim());
  if (match === null) throw new Error(`not a DuckDB size: ${text}`);
  return Math.round(Number(match[1]) * UNITS[match[2]!.toUpperCase()]!);
}

/** The address-space limit (RLIMIT_AS) of a query worker, in bytes. */
export function workerAddressSpaceBytes(): number {
  return duckdbSizeBytes(settings().duckdbMemoryLimit) + WORKER_MEMORY_MARGIN_BYTES;
}
