import { formatDuckType, isInteger, isPrimitive, isText, type DuckType } from './types.js';

/**
 * Casts that never round or truncate: the SQL giving a value as the catalog's
 * type, or NULL when the value cannot be that type without losing something
 * (the caller reports such a null in the record's meta.changes). DuckDB's own
 * TRY_CAST is lenient in ways that change values: '1.5', 2.7 and '1e3' become
 * integers 2, 3 and 1000, '0x1F', '0b101' and '1_000' are read as numbers,
 * '2024-01-16 23:59:59' (or '2024-01-15 junk') becomes a DATE without its
 * time, and a '+05:00' offset cast to TIMESTAMP is dropped.
 *
 * The rules, all cheap SQL in the same SELECT:
 * - integer from text: plain decimal integer syntax only, with an optional
 *   sign, surrounding spaces and a zero fraction ('7', ' -7 ', '7.0');
 *   from FLOAT/DOUBLE/DECIMAL: values with no fraction, in range;
 * - number from text: what TRY_CAST accepts, except digit separators ('1_000');
 * - date from text or a timestamp: only values at midnight UTC, with no offset
 *   other than UTC's;
 * - timestamps: timestamps without time zone are taken as UTC (as a naive
 *   value read into a zoned column is), so a value with an offset is converted
 *   to UTC, never stripped of it; a fraction finer than microseconds that is
 *   not zero cannot be kept, so the value is null;
 * - time from text: a time of day alone (HH:MM[:SS[.ffffff]]).
 */
export function exactCast(expression: string, from: DuckType, to: DuckType): string {
  const target = formatDuckType(to);
  const tryCast = (value: string, type = target) => `TRY_CAST(${value} AS ${type})`;
  if (isText(from)) return exactCastFromText(expression, to, tryCast);
  if (isInteger(to) && (isPrimitive(from, FLOATS) || from.kind === 'decimal')) {
    return `CASE WHEN ${expression} = trunc(${expression}) THEN ${tryCast(expression)} END`;
  }
  if (isPrimitive(from, ['TIMESTAMP_NS']) && isPrimitive(to, ['DATE', ...ZONED_OR_NOT])) {
    // Nanoseconds that are not a whole microsecond would be cut off.
    return `CASE WHEN epoch_ns(${expression}) % 1000 = 0 THEN ${exactCast(tryCast(expression, 'TIMESTAMP'), TIMESTAMP, to)} END`;
  }
  if (isPrimitive(to, ['DATE']) && isPrimitive(from, [...TIMESTAMPS, 'TIMESTAMP WITH TIME ZONE'])) {
    return `CASE WHEN ${tryCast(expression)} = ${expression} THEN ${tryCast(expression)} END`;
  }
  // A time of day from a timestamp would lose its date.
  if (isPrimitive(to, ['TIME', 'TIME WITH TIME ZONE']) && !isPrimitive(from, ['TIME', 'TIME WITH TIME ZONE'])) return `CAST(NULL AS ${target})`;
  return tryCast(expression);
}

const FLOATS = ['FLOAT', 'DOUBLE'];
const TIMESTAMPS = ['TIMESTAMP', 'TIMESTAMP_S', 'TIMESTAMP_MS', 'TIMESTAMP_NS'];
const ZONED_OR_NOT = ['TIMESTAMP', 'TIMESTAMP WITH TIME ZONE'];
const TIMESTAMP: DuckType = { kind: 'primitive', name: 'TIMESTAMP' };

/** Integer syntax DuckDB reads without changing the value: no exponent, base prefix, separator or non-zero fraction. */
const PLAIN_INTEGER = String.raw`\s*[+-]?[0-9]+(\.0*)?\s*`;
/** A fraction with a non-zero digit past the sixth: more precision than a microsecond timestamp holds. */
const SUB_MICROSECOND = String.raw`\.[0-9]{6}[0-9]*[1-9]`;
/** The shortest text that can carry a seventh fractional digit: '2024-01-15 10:30:00.1234567'. */
const SUB_MICROSECOND_MIN_LENGTH = 27;
const PLAIN_DATE = String.raw`\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\s*`;
const TIME_OF_DAY = String.raw`\s*[0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{0,6}0*)?)?\s*`;

function exactCastFromText(text: string, to: DuckType, tryCast: (value: string, type?: string) => string): string {
  if (isInteger(to)) return `CASE WHEN regexp_full_match(${text}, '${PLAIN_INTEGER}') THEN ${tryCast(text)} END`;
  if (isPrimitive(to, FLOATS)) return `CASE WHEN strpos(${text}, '_') = 0 THEN ${tryCast(text)} END`;
  if (isPrimitive(to, ['DATE'])) {
    // DuckDB's DATE cast ignores what follows the date ('2024-01-1x' is 2024-01-01): a plain date is
    // checked for its shape; anything else must read, in full (offset included), as midnight UTC.
    return `CASE WHEN regexp_full_match(${text}, '${PLAIN_DATE}') THEN ${tryCast(text)} WHEN ${zonedCast(text)} = ${tryCast(text)} THEN ${tryCast(text)} END`;
  }
  const finerThanMicroseconds = `(length(${text}) >= ${SUB_MICROSECOND_MIN_LENGTH} AND regexp_matches(${text}, '${SUB_MICROSECOND}'))`;
  if (isPrimitive(to, ['TIMESTAMP'])) {
    // Fast path: text too short for a seventh fractional digit and without a numeric offset (no '+',
    // no '-' past the date) reads as it is. Anything else is read as zoned (an offset or zone name is
    // applied; none means UTC) and given as UTC wall-clock time.
    const plain = `length(${text}) < ${SUB_MICROSECOND_MIN_LENGTH} AND strpos(${text}, '+') = 0 AND strpos(substr(${text}, 11), '-') = 0`;
    return `coalesce(CASE WHEN ${plain} THEN ${tryCast(text)} END, CASE WHEN NOT ${finerThanMicroseconds} THEN CAST(${zonedCast(text)} AS TIMESTAMP) END)`;
  }
  if (isPrimitive(to, ['TIMESTAMP WITH TIME ZONE'])) return `CASE WHEN NOT ${finerThanMicroseconds} THEN ${zonedCast(text)} END`;
  if (isPrimitive(to, ['TIME'])) return `CASE WHEN regexp_full_match(${text}, '${TIME_OF_DAY}') THEN ${tryCast(text)} END`;
  return tryCast(text);
}

/** The zoned cast refuses a date followed by spaces ('2024-01-15 '), which the other casts accept: trimmed when it fails. */
const zonedCast = (text: string): string => `coalesce(TRY_CAST(${text} AS TIMESTAMP WITH TIME ZONE), TRY_CAST(rtrim(${text}) AS TIMESTAMP WITH TIME ZONE))`;

/** A JSON number literal (RFC 8259), with spaces around it: the text is emitted as it is. */
const JSON_NUMBER = String.raw` *-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? *`;

/**
 * A number column's value read from text (CSV, or a JSON Lines scalar's text),
 * as JSON with the digits the file has: a DOUBLE would round an integer past
 * 2^53 or a long decimal. A JSON number literal is cast to JSON as it is;
 * other text ('+5', '.5', '1.', '007') takes the exact cast to DOUBLE. DuckDB's
 * JSON writer keeps integers of any length and numbers past a double's range
 * raw, but re-reads any other number as a double: a value that a double
 * cannot hold exactly (more than 17 significant digits, an underflow) is null
 * instead, as are NaN, infinities and text that is not a number. Only texts
 * longer than 15 characters or with an exponent are checked for that.
 */
export function numberAsWritten(text: string): string {
  const double = `TRY_CAST(${text} AS DOUBLE)`;
  const literal = `regexp_full_match(${text}, '${JSON_NUMBER}')`;
  // Long or exponent texts only (a CASE, so other rows skip the comparison): the significant digits
  // differ from those of the nearest double, which DuckDB prints in its shortest form (when that
  // form is the text itself, as most exporters write doubles, the digits are not compared).
  const mayRound = `(length(${text}) > 15 OR contains(${text}, 'e') OR contains(${text}, 'E'))`;
  const shortest = `CAST(${double} AS VARCHAR)`;
  const rounded = `CASE WHEN NOT ${mayRound} OR ${shortest} = trim(${text}) THEN false ELSE isfinite(${double}) AND ${significantDigits(text)} <> ${significantDigits(shortest)} END`;
  const cast = exactCastFromText(text, DOUBLE, (value, type = 'DOUBLE') => `TRY_CAST(${value} AS ${type})`);
  // A literal integer is never rounded (the writer keeps it whole or raw).
  const isInteger = `NOT (contains(${text}, '.') OR contains(${text}, 'e') OR contains(${text}, 'E'))`;
  return `CASE WHEN ${literal} THEN CASE WHEN ${isInteger} OR NOT (${rounded}) THEN CAST(trim(${text}) AS JSON) END WHEN NOT (${rounded}) THEN CAST(CASE WHEN isfinite(${cast}) THEN ${cast} END AS JSON) END`;
}

/** A number's digits without sign, point, exponent, leading or trailing zeros: '-0.0120e5' gives '12'. */
const significantDigits = (text: string): string => `trim(regexp_replace(regexp_replace(${text}, '[eE].*$', ''), '[^0-9]', '', 'g'), '0')`;

const DOUBLE: DuckType = { kind: 'primitive', name: 'DOUBLE' };

