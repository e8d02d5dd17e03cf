import { settings } from '../settings.js';

/**
 * Resident memory a query worker may use on top of SOURCE_S3_DUCKDB_MEMORY_LIMIT.
 * Measured here (Node 20, DuckDB 1.5.6, `--jitless`, MALLOC_ARENA_MAX=2): an
 * idle worker holds ~90 MB, and DuckDB overshoots its own limit by ~300 MB in a
 * large sort (30M rows under a 1 GB limit peaked at 1.33 GB resident). Past
 * limit + margin the worker is stopped with a clear error instead of growing
 * until the kernel's OOM killer ends the container. With the default 1GB the
 * worker stays under 1.54 GB, which with the connector's own process fits the
 * 2 GiB a sync is given (metadata.yaml).
 */
export const WORKER_MEMORY_MARGIN_BYTES = 512 * 2 ** 20;

/**
 * The address-space cap is a backstop for one huge allocation (it fails at
 * once instead of being filled), set well above the resident bound: DuckDB maps
 * far more than it touches (a JSON scan of 300 tiny files needed ~3 GB of
 * address space; three 30 MB strings mapped 2.3 GB while 0.6 GB was resident),
 * so a cap near the resident bound refused ordinary queries. 4 GiB of headroom
 * above the resident bound let a scan of 60 small JSON files run under a 256MB limit.
 */
const ADDRESS_SPACE_HEADROOM_BYTES = 4 * 2 ** 30;

const UNITS: Record<string, number> = { KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KIB: 2 ** 10, MIB: 2 ** 20, GIB: 2 ** 30, TIB: 2 ** 40 };

/** Bytes of a DuckDB size such as `1GB` (10^9, as DuckDB reads it) or `1.5GiB` (2^30). */
export function duckdbSizeBytes(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]i?B)$/i.exec(text.trim());
  if (match === null) throw new Error(`not a DuckDB size: ${text}`);
  return Math.round(Number(match[1]) * UNITS[match[2]!.toUpperCase()]!);
}

/** Most resident memory a query worker may hold before it is stopped, in bytes. */
export function workerResidentLimitBytes(): number {
  return duckdbSizeBytes(settings().duckdbMemoryLimit) + WORKER_MEMORY_MARGIN_BYTES;
}

/** The address-space limit (RLIMIT_AS) of a query worker, in bytes. */
export function workerAddressSpaceBytes(): number {
  return workerResidentLimitBytes() + ADDRESS_SPACE_HEADROOM_BYTES;
}
