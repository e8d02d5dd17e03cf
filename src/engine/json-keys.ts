import { sqlString } from './sql.js';
import { widenTypes, type DuckType } from './types.js';

/**
 * JSON Lines keys that differ only in case ("Name" and "name"). DuckDB's
 * identifiers are case-insensitive: read_json names the second key "name_1"
 * (a key no line has) and leaves it empty, and refuses both names as columns.
 * So such keys are found in the lines themselves, and each is read from the
 * line's raw object by an exact JSON pointer, never by column name.
 */

/** Groups of names equal but for case; empty when every name is distinct ignoring case. */
export function caseCollisions(names: string[]): string[][] {
  const groups = new Map<string, string[]>();
  for (const name of names) {
    const key = name.toLowerCase();
    groups.set(key, [...(groups.get(key) ?? []), name]);
  }
  return [...groups.values()].filter((group) => new Set(group).size > 1);
}

/** The table expression giving each line of a JSON Lines file as one raw JSON value, column "json". */
export function jsonObjectsReaderSql(path: string): string {
  return `read_ndjson_objects(${sqlString(path)})`;
}

/** The value of one top-level key, exactly (case included), from the objects reader's "json" column. */
export function jsonKeySql(key: string): string {
  // A JSON pointer names the key as it is; '~' and '/' are its only escapes.
  return `json_extract("json", ${sqlString(`/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`)})`;
}

/** The top-level keys of the objects in a JSON Lines file, in the order they first appear. */
export function jsonKeysSql(path: string): string {
  return `SELECT "k" FROM (SELECT unnest("ks") AS "k", unnest(range(len("ks"))) AS "pos", "line" FROM (SELECT json_keys("json") AS "ks", row_number() OVER () AS "line" FROM ${jsonObjectsReaderSql(path)} WHERE json_type("json") = 'OBJECT')) GROUP BY "k" ORDER BY min(["line", "pos"])`;
}

/** True when DuckDB may have renamed a key for a case collision: a column "x_N" next to one named like "x". */
export function mayHaveRenamedKeys(columns: string[]): boolean {
  const lower = new Set(columns.map((name) => name.toLowerCase()));
  return columns.some((name) => {
    const renamed = /^(.*)_\d+$/.exec(name);
    return renamed !== null && lower.has(renamed[1]!.toLowerCase());
  });
}

/**
 * The file's columns with DuckDB's invented names (x_1) replaced by the real keys of each
 * group of keys differing only in case. Which of DuckDB's columns came from which key is not
 * said, so every key of a group gets a type holding all of the group's values.
 */
export function withRealKeys<T extends { name: string; type: DuckType }>(columns: T[], keys: string[]): { name: string; type: DuckType }[] {
  const groups = caseCollisions(keys);
  if (groups.length === 0) return columns;
  const realKeys = new Set(keys);
  const groupOf = (name: string): string[] | undefined => {
    const stem = realKeys.has(name) ? name : (/^(.*)_\d+$/.exec(name)?.[1] ?? name);
    return groups.find((group) => group[0]!.toLowerCase() === stem.toLowerCase());
  };
  const result: { name: string; type: DuckType }[] = [];
  const placed = new Set<string[]>();
  for (const column of columns) {
    const group = groupOf(column.name);
    if (group === undefined) {
      result.push({ name: column.name, type: column.type });
      continue;
    }
    if (placed.has(group)) continue;
    placed.add(group);
    const members = columns.filter((other) => groupOf(other.name) === group);
    const type = members.map((member) => member.type).reduce((a, b) => widenTypes(a, b));
    for (const key of group) result.push({ name: key, type });
  }
  return result;
}
