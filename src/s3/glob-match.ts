/**
 * Matches object keys against a glob the way DuckDB reads one: `*` is any run
 * of characters but `/`, `?` one such character, `[...]` a class (`[!...]` or
 * `[^...]` negated, `a-z` ranges), and a `**` segment any number of segments.
 *
 * Written out rather than compiled to a regular expression: a pattern such as
 * `*a*a*a*a*a*a*a*b` makes a backtracking regex take minutes on a long key,
 * with the process deaf to signals meanwhile. Here a segment costs at most
 * (pattern length x key length) steps, and segments are matched once each.
 */
export function globMatcher(pattern: string): (key: string) => boolean {
  const patternSegments = pattern.split('/');
  return (key) => {
    const keySegments = key.split('/');
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
  if (element === '[') {
    const close = pattern.indexOf(']', p + 2);
    if (close > p) {
      let body = pattern.slice(p + 1, close);
      const negated = body.startsWith('!') || body.startsWith('^');
      if (negated) body = body.slice(1);
      let inClass = false;
      for (let index = 0; index < body.length; index++) {
        if (body[index + 1] === '-' && index + 2 < body.length) {
          if (char >= body[index]! && char <= body[index + 2]!) inClass = true;
          index += 2;
        } else if (body[index] === char) inClass = true;
      }
      return inClass !== negated ? close + 1 : undefined;
    }
  }
  return element === char ? p + 1 : undefined;
}
