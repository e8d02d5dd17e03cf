/** A SQL string literal. DuckDB strings have no backslash escapes: doubling quotes is the whole rule. */
export function sqlString(value: string): string {
  if (value.includes('\u0000')) throw new Error('a SQL string cannot contain a NUL character');
  return `'${value.replace(/'/g, "''")}'`;
}

/** A quoted SQL identifier. */
export function sqlIdentifier(name: string): string {
  if (name.includes('\u0000')) throw new Error('a SQL identifier cannot contain a NUL character');
  return `"${name.replace(/"/g, '""')}"`;
}

export function sqlStringList(values: string[]): string {
  return `[${values.map(sqlString).join(', ')}]`;
}

/** One path as a string, several (a batch of files) as a list. */
export function pathsSql(path: string | readonly string[]): string {
  return typeof path === 'string' ? sqlString(path) : sqlStringList([...path]);
}
