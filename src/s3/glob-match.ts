/**
 * Matches object keys against a glob the way DuckDB reads one: `*` is any run
 * of bytes but `/`, `?` one such byte (DuckDB compares UTF-8 bytes), `[...]` a
 * class (`[!...]` negated, `a-z` ranges, a `]` right after `[` or `[!` is
 * itself in the class; `^` is an ordinary character; a class that never closes
 * matches nothing), and a `**` segment any number of segments.
 *
 * Written out rather than compiled to a regular expression: a pattern such as
 * `*a*a*a*a*a*a*a*b` makes a backtracking regex take minutes on a long key,
 * with the process deaf to signals meanwhile. Here a segment costs at most
 * (pattern length x key length) steps, and segments are matched once each.
 */
export function globMatcher(pattern: string): (key: string) => boolean {
  const patternSegments = bytewise(pattern).split('/');
  return (key) => {
    const keySegments = bytewise(key).split('/');
    // matched[p][k]: pattern segments from p match key segments from k (filled from the end).
    const rows = patternSegments.length + 1;
    const columns = keySegments.length + 1;
    const matched = new Uint8Array(rows * columns);
    matched[patternSegments.length * columns + keySegments.length] = 1;
    for (let p = patternSegments.length - 1; p >= 0; p--) {
      for (let k = keySegments.length; k >= 0; k--) {
        const segment = patternSegments[p]!;
        let result = false;
        if (segment === '**') {
          // Zero segments, or one more and still `**`.
          result = matched[(p + 1) * columns + k] === 1 || (k < keySegments.length && matched[p * columns + k + 1] === 1);
        } else if (k < keySegments.length) {
          result = matched[(p + 1) * columns + k + 1] === 1 && segmentMatches(segment, keySegments[k]!);
        }
        matched[p * columns + k] = result ? 1 : 0;
      }
    }
    return matched[0] === 1;
  };
}

/** One segment against one glob segment (no `/` in either). */
function segmentMatches(pattern: string, text: string): boolean {
  // Greedy with backtracking to the last star only: linear in practice, pattern x text at worst.
  let p = 0;
  let t = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] === '*') {
      while (p < pattern.length && pattern[p] === '*') p++;
      starP = p;
      starT = t;
      continue;
    }
    const step = p < pattern.length ? matchOne(pattern, p, text[t]!) : undefined;
    if (step !== undefined) {
      p = step;
      t++;
    } else if (starP >= 0) {
      p = starP;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Where the pattern goes on when its element at `p` matches `char`, or undefined. */
function matchOne(pattern: string, p: number, char: string): number | undefined {
  const element = pattern[p]!;
  if (element === '?') return p + 1;
  if (element !== '[') return element === char ? p + 1 : undefined;
  let index = p + 1;
  const negated = pattern[index] === '!';
  if (negated) index++;
  // The first character of a class is taken as it is, even a `]`.
  const close = pattern.indexOf(']', index + 1);
  if (close < 0) return undefined;
  const body = pattern.slice(index, close);
  let inClass = false;
  for (let at = 0; at < body.length; at++) {
    if (body[at + 1] === '-' && at + 2 < body.length) {
      if (char >= body[at]! && char <= body[at + 2]!) inClass = true;
      at += 2;
    } else if (body[at] === char) inClass = true;
  }
  return inClass !== negated ? close + 1 : undefined;
}

/** The UTF-8 bytes of `text`, one character each: DuckDB matches globs byte by byte. */
function bytewise(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}
