/** Excel tells dates from numbers only by format codes: the classification and the serial arithmetic. */
import { describe, expect, it } from 'vitest';
import { serialToIso, temporalKind } from '../../src/formats/excel/number-formats.js';

describe('Excel number formats', () => {
  it.each([
    [14, undefined, 'date'],
    [22, undefined, 'timestamp'],
    [20, undefined, 'time'],
    [9, undefined, undefined], // 0%
    [46, undefined, undefined], // [h]:mm:ss, a duration
    [164, 'yyyy-mm-dd', 'date'],
    [164, 'd-mmm-yy', 'date'],
    [164, 'mmm yyyy', 'date'],
    [164, '[$-409]dd/mm/yyyy\\ hh:mm AM/PM', 'timestamp'],
    [164, 'hh:mm:ss.000', 'time'],
    [164, '[h]:mm', undefined],
    [164, '0.00E+00', undefined],
    [164, '"day "0', undefined],
    [164, '#,##0.00 "USD";[Red]-#,##0.00', undefined],
    [164, 'General', undefined],
    [164, '@', undefined],
  ])('format %i %s is %s', (id, code, kind) => {
    expect(temporalKind(id, code)).toBe(kind);
  });

  it('converts serials in both date systems, including around the 1900 leap-year bug', () => {
    expect(serialToIso(45293, 'date', false)).toBe('2024-01-02');
    expect(serialToIso(45293 - 1462, 'date', true)).toBe('2024-01-02');
    expect(serialToIso(1, 'date', false)).toBe('1900-01-01');
    expect(serialToIso(59, 'date', false)).toBe('1900-02-28');
    expect(serialToIso(61, 'date', false)).toBe('1900-03-01');
    expect(serialToIso(45293.5, 'timestamp', false)).toBe('2024-01-02 12:00:00');
    expect(serialToIso(45293 + 1 / 86400 / 2 + 0.25, 'timestamp', false)).toBe('2024-01-02 06:00:00.500');
    expect(serialToIso(0.75, 'time', false)).toBe('18:00:00');
    expect(serialToIso(-1, 'date', false)).toBeUndefined();
  });
});
