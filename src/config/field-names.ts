/**
 * Which known field an unknown config key was probably meant to be. A key is
 * taken for a misspelling when it is the same name written another way
 * (primaryKey, Primary-Key), a few typing slips away (glob, delimeter,
 * primery_key), or the same words with one more or one fewer (path_prefix,
 * aws_access_key, aws_secret_key). Anything else is an unrelated key.
 */
export function closestFieldName(unknown: string, known: string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    if (!looksMeant(unknown, name)) continue;
    const distance = editDistance(unknown.toLowerCase(), name.toLowerCase());
    if (best === undefined || distance < best.distance) best = { name, distance };
  }
  return best?.name;
}

function looksMeant(unknown: string, known: string): boolean {
  const a = squash(unknown);
  const b = squash(known);
  if (a === '' || b === '') return false;
  if (a === b) return true;
  if (editDistance(a, b) <= allowedSlips(Math.min(a.length, b.length))) return true;
  return sameWordsGivenOrTaken(words(unknown), words(known));
}

/** Short names allow fewer slips, or everything would look like everything. */
function allowedSlips(length: number): number {
  if (length < 3) return 0;
  if (length <= 4) return 1;
  if (length <= 8) return 2;
  return 3;
}

/**
 * One list of words holds all of the other's, and the shared words carry meaning
 * (two or more words, or one word of 4+ letters): path_prefix ~ path, but not type ~ file_type.
 */
function sameWordsGivenOrTaken(a: string[], b: string[]): boolean {
  const [fewer, more] = a.length <= b.length ? [a, b] : [b, a];
  if (fewer.length === more.length || !fewer.every((word) => more.includes(word))) return false;
  return fewer.length >= 2 || (fewer[0] ?? '').length >= 4;
}

/** primary_key, primaryKey, Primary-Key -> primarykey */
function squash(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** primary_key, primaryKey, Primary-Key -> [primary, key] */
function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word !== '');
}

/** Edits (insert, delete, substitute, swap two neighbours) to turn a into b. */
export function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let distance = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) distance = Math.min(distance, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = distance;
    }
  }
  return rows[a.length]![b.length]!;
}
