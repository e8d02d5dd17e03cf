import type { AvroRecord, AvroShape, Decimal, LongLogical } from './avro-schema.js';

/**
 * A decoded Avro value (avsc, wrapped unions, longs as BigInt) as JSON text, written so that the
 * JSON Lines read path casts it exactly to the column's declared type:
 * - long: its digits, whatever its size (never through a double);
 * - float/double: the shortest text that reads back as the same value; NaN and the infinities,
 *   which JSON lacks, as the strings "NaN", "Infinity", "-Infinity" (the number column then
 *   holds null, and the record's meta.changes says why);
 * - bytes and fixed: base64; decimal: its exact digits; duration: ISO 8601 ("P1M2DT0.003S");
 * - date "2024-01-15"; time "10:30:00.123456"; timestamps ISO 8601 ("...Z" unless local-);
 * - enum: its symbol; map: an object; record: an object; union: the value of its branch.
 */
export function rowJson(record: AvroRecord, value: unknown): string {
  return recordJson(record, value);
}

function valueJson(shape: AvroShape, value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (shape.kind) {
    case 'null':
      return 'null';
    case 'boolean':
      return value === true ? 'true' : 'false';
    case 'int':
      if (shape.logical === 'date') return quoted(dateText(BigInt(value as number)));
      if (shape.logical === 'time-millis') return quoted(timeText(BigInt(value as number) * 1000n));
      return String(value);
    case 'long':
      return shape.logical === undefined ? String(value) : quoted(longLogicalText(shape.logical, BigInt(value as bigint)));
    case 'float':
      return floatJson(value as number, true);
    case 'double':
      return floatJson(value as number, false);
    case 'string':
    case 'enum':
    case 'uuid':
      return JSON.stringify(value);
    case 'bytes':
    case 'fixed': {
      const bytes = value as Buffer;
      if (shape.decimal !== undefined) return decimalText(bytes, shape.decimal);
      if (shape.kind === 'fixed' && shape.duration === true) return quoted(durationText(bytes));
      return quoted(bytes.toString('base64'));
    }
    case 'array':
      return `[${(value as unknown[]).map((item) => valueJson(shape.items, item)).join(',')}]`;
    case 'map':
      return `{${Object.entries(value as Record<string, unknown>).map(([key, item]) => `${JSON.stringify(key)}:${valueJson(shape.values, item)}`).join(',')}}`;
    case 'union': {
      // avsc wraps a non-null union value as { branchName: value }.
      const [name, inner] = Object.entries(value as Record<string, unknown>)[0] ?? [];
      const branch = shape.branches.find((candidate) => candidate.name === name);
      if (branch === undefined) throw new Error(`union value of unknown branch ${String(name)}`);
      return valueJson(branch.shape, inner);
    }
    case 'record':
      return recordJson(shape, value);
  }
}

function recordJson(record: AvroRecord, value: unknown): string {
  const fields = value as Record<string, unknown>;
  return `{${record.fields.map((field) => `${JSON.stringify(field.name)}:${valueJson(field.shape, fields[field.name])}`).join(',')}}`;
}

const quoted = (text: string) => `"${text}"`;

function floatJson(value: number, single: boolean): string {
  if (Number.isNaN(value)) return '"NaN"';
  if (!Number.isFinite(value)) return value > 0 ? '"Infinity"' : '"-Infinity"';
  if (!single) return String(value);
  // A float32 widened to a double prints 0.1f as 0.10000000149011612: print the shortest text
  // that is the same float32 (as DuckDB prints a FLOAT).
  for (let digits = 1; digits < 9; digits++) {
    const text = Number(value.toPrecision(digits));
    if (Math.fround(text) === value) return String(text);
  }
  return String(value);
}

/** Days since 1970-01-01 as YYYY-MM-DD (proleptic Gregorian, as Avro and DuckDB count). */
function dateText(days: bigint): string {
  return isoDate(new Date(Number(days) * 86_400_000));
}

function isoDate(date: Date): string {
  const year = date.getUTCFullYear();
  const yearText = year < 0 ? `-${String(-year).padStart(4, '0')}` : String(year).padStart(4, '0');
  return `${yearText}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}`;
}

const pad = (value: number | bigint, width: number) => String(value).padStart(width, '0');

/** Microseconds since midnight as HH:MM:SS[.ffffff]. */
function timeText(micros: bigint): string {
  const seconds = micros / 1_000_000n;
  const fraction = micros % 1_000_000n;
  return `${pad(seconds / 3600n, 2)}:${pad((seconds / 60n) % 60n, 2)}:${pad(seconds % 60n, 2)}${fractionText(fraction, 6)}`;
}

/** A fraction of a second without trailing zeros (as DuckDB prints one): .123, .000456. */
const fractionText = (fraction: bigint, digits: number) => (fraction === 0n ? '' : `.${pad(fraction, digits).replace(/0+$/, '')}`);

const LONG_UNITS: Record<Exclude<LongLogical, 'time-micros'>, bigint> = {
  'timestamp-millis': 1_000n,
  'timestamp-micros': 1n,
  'timestamp-nanos': 1n,
  'local-timestamp-millis': 1_000n,
  'local-timestamp-micros': 1n,
  'local-timestamp-nanos': 1n,
};

function longLogicalText(logical: LongLogical, value: bigint): string {
  if (logical === 'time-micros') return timeText(value);
  const nanos = logical.endsWith('-nanos');
  // Nanoseconds keep all nine digits: the read path nulls (and reports) what a microsecond cannot hold.
  const perSecond = nanos ? 1_000_000_000n : 1_000_000n;
  const ticks = value * LONG_UNITS[logical];
  const seconds = floorDiv(ticks, perSecond);
  const fraction = ticks - seconds * perSecond;
  const days = floorDiv(seconds, 86_400n);
  const ofDay = seconds - days * 86_400n;
  const text = `${dateText(days)}T${timeText(ofDay * 1_000_000n)}${fractionText(fraction, nanos ? 9 : 6)}`;
  return logical.startsWith('local-') ? text : `${text}Z`;
}

const floorDiv = (a: bigint, b: bigint) => (a >= 0n ? a / b : -((-a + b - 1n) / b));

/** A decimal's unscaled value (big-endian two's complement) as exact digits. */
function decimalText(bytes: Buffer, decimal: Decimal): string {
  if (bytes.length === 0) return '0';
  let unscaled = BigInt(`0x${bytes.toString('hex')}`);
  if ((bytes[0]! & 0x80) !== 0) unscaled -= 1n << BigInt(bytes.length * 8);
  const negative = unscaled < 0n;
  const digits = String(negative ? -unscaled : unscaled).padStart(decimal.scale + 1, '0');
  const whole = digits.slice(0, digits.length - decimal.scale);
  const text = decimal.scale === 0 ? whole : `${whole}.${digits.slice(digits.length - decimal.scale)}`;
  return negative ? `-${text}` : text;
}

/** Avro's duration: three little-endian unsigned ints (months, days, milliseconds). */
function durationText(bytes: Buffer): string {
  const months = bytes.readUInt32LE(0);
  const days = bytes.readUInt32LE(4);
  const millis = bytes.readUInt32LE(8);
  const seconds = `${Math.trunc(millis / 1000)}${millis % 1000 === 0 ? '' : `.${pad(millis % 1000, 3)}`}`;
  return `P${months}M${days}DT${seconds}S`;
}
