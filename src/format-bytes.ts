/** A byte count for people: `512 bytes` (or `512 B`), `1.5 KiB`, `3.0 MiB`, `1.2 GiB`. */
export function formatBytes(bytes: number, smallUnit: 'bytes' | 'B' = 'bytes'): string {
  const units = [smallUnit, 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} ${smallUnit}` : `${value.toFixed(1)} ${units[unit]}`;
}
