/**
 * Excel stores dates and times as numbers (days since an epoch) and tells them apart only by the
 * cell's number format. These decide what a number with a format is, and write it in ISO 8601.
 */
export type TemporalKind = 'date' | 'timestamp' | 'time';

/** Built-in format ids (ECMA-376 18.8.30, plus the East Asian date ids 27-36 and 50-58). */
const BUILT_IN: Record<number, TemporalKind> = { 14: 'date', 15: 'date', 16: 'date', 17: 'date', 18: 'time', 19: 'time', 20: 'time', 21: 'time', 22: 'timestamp', 45: 'time', 47: 'time' };
for (const id of [27, 28, 29, 30, 31, 34, 35, 36, 50, 51, 52, 53, 54, 57, 58]) BUILT_IN[id] = 'date';
for (const id of [32, 33, 55, 56]) BUILT_IN[id] = 'time';

/** What a number formatted with `code` (or built-in `id`) is: undefined for a plain number (percent, currency, elapsed `[h]:mm`). */
export function temporalKind(id: number, code: string | undefined): TemporalKind | undefined {
  if (code === undefined) return BUILT_IN[id];
  const section = (code.split(';')[0] ?? '')
    .replace(/"[^"]*"/g, '') // literal text
    .replace(/\\./g, '') // escaped characters
    .replace(/_.|\*./g, '') // spacing and fill characters
    .replace(/\[(h+|m+|s+)\]/gi, '#') // elapsed time: a duration, not a time of day
    .replace(/\[[^\]]*\]/g, '') // colours, locales, conditions
    .replace(/E[+-]/gi, '') // scientific notation
    .toLowerCase();
  if (section === 'general' || section.includes('#')) return undefined;
  const hasDate = /[yd]/.test(section) || (/m/.test(section) && !/[hs]/.test(section));
  const hasTime = /[hs]/.test(section) || /am\/pm|a\/p/.test(section);
  if (hasDate && hasTime) return 'timestamp';
  if (hasDate) return 'date';
  if (hasTime) return 'time';
  return undefined;
}

const MS_PER_DAY = 86_400_000;
/** Day 0 of each date system, in ms since 1970: 1899-12-30 (so that serial 61 is 1900-03-01) and 1904-01-01. */
const EPOCH_1900 = Date.UTC(1899, 11, 30);
const EPOCH_1904 = Date.UTC(1904, 0, 1);

/**
 * A serial date as ISO 8601 without an offset (Excel's dates have none), to the millisecond.
 * In the 1900 system Excel counts a 29 February 1900 that never was (serial 60): serials before it
 * are one day later than the arithmetic says.
 */
export function serialToIso(serial: number, kind: TemporalKind, date1904: boolean): string | undefined {
  if (!Number.isFinite(serial) || serial < 0) return undefined;
  const days = !date1904 && serial < 61 ? serial + 1 : serial;
  const ms = Math.round(days * MS_PER_DAY) + (date1904 ? EPOCH_1904 : EPOCH_1900);
  const iso = new Date(ms).toISOString(); // 2024-01-02T03:04:05.678Z
  if (iso.startsWith('+') || iso.startsWith('-')) return undefined;
  const time = iso.slice(11, 23).replace(/\.000$/, '');
  if (kind === 'date') return iso.slice(0, 10);
  if (kind === 'time') return time;
  return `${iso.slice(0, 10)} ${time}`;
}
