/**
 * NUL characters in a config. JSON allows "\u0000" in a string, but no bucket,
 * key, path or SQL can hold one: S3 and DuckDB would cut the string there, or
 * fail with a message that names no field. Each is reported by its field path
 * only, never with its value, which may be a secret.
 */
export function nulCharacterProblems(raw: unknown): string[] {
  const problems: string[] = [];
  walk(raw, '', problems);
  return problems;
}

const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `streams[0].globs[1]`, as the other config errors write paths; odd names are quoted. */
function child(path: string, name: string | number): string {
  if (typeof name === 'number') return `${path}[${name}]`;
  const segment = PLAIN_NAME.test(name) ? name : JSON.stringify(name);
  return path === '' ? segment : PLAIN_NAME.test(name) ? `${path}.${segment}` : `${path}[${segment}]`;
}

function walk(value: unknown, path: string, problems: string[]): void {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) problems.push(`${path || 'config'} contains a NUL character (\\u0000); remove it`);
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => walk(item, child(path, index), problems));
  } else if (value !== null && typeof value === 'object') {
    for (const [name, item] of Object.entries(value)) {
      if (name.includes('\u0000')) problems.push(`a field name in ${path || 'the config'} contains a NUL character (\\u0000); remove it`);
      else walk(item, child(path, name), problems);
    }
  }
}
