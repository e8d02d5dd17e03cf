import { writeSync } from 'node:fs';
import { loadConfig } from '../config/load.js';
import { asConnectorError } from '../protocol/errors.js';
import type { SecretRedactor } from '../protocol/redactor.js';
import { SourceContext } from '../streams/context.js';
import { sqlIdentifier } from '../engine/sql.js';
import { describeQuery, prepareQuery, queryCall, withS3Urls } from '../streams/query-stream.js';

const MAX_CELL = 40;

/**
 * `source-s3 query`: a preview for people writing model queries. Prints the
 * first rows (a table, or JSON lines), the column types, and how many objects
 * and bytes were fetched. Not a protocol command: errors are plain text on
 * stderr, with exit code 1.
 */
export async function queryCommand(options: { config: string; sql: string; limit: number; format: 'table' | 'json' }, redactor: SecretRedactor): Promise<number> {
  const print = (text: string) => writeSync(1, `${text}\n`);
  try {
    const { config, warnings } = await loadConfig(options.config, redactor);
    for (const warning of warnings) process.stderr.write(`warning: ${redactor.redact(warning)}\n`);
    const context = await SourceContext.open(config, redactor);
    try {
      const prepared = await prepareQuery(context, undefined, options.sql, 'full');
      const columns = await describeQuery(context, undefined, prepared);
      const select = columns
        .map((column) => withS3Urls(column, prepared, config.bucket))
        .map((column) => `${column.source ?? sqlIdentifier(column.name)} AS ${sqlIdentifier(column.name)}`)
        .join(', ');
      const rows = await queryCall(context, undefined, () => context.engine.all(`SELECT ${select} FROM (${prepared.sql}) AS "preview" LIMIT ${options.limit}`));
      const fetched = `fetched ${prepared.objects.length} object${prepared.objects.length === 1 ? '' : 's'}, ${formatBytes(prepared.bytesFetched)}`;
      const types = columns.map((column) => `${column.name} ${column.type.kind === 'primitive' ? column.type.name : typeName(column.type)}`).join(', ');
      if (options.format === 'json') {
        for (const row of rows) print(JSON.stringify(row));
        process.stderr.write(`${rows.length} row${rows.length === 1 ? '' : 's'}; columns: ${types}; ${fetched}\n`);
      } else {
        print(renderTable(columns.map((column) => column.name), rows));
        print(`(${rows.length} row${rows.length === 1 ? '' : 's'}${rows.length === options.limit ? `, limited to ${options.limit}` : ''})`);
        print(`columns: ${types}`);
        print(fetched);
      }
    } finally {
      await context.close();
    }
    return 0;
  } catch (error) {
    process.stderr.write(`source-s3 query: ${redactor.redact(asConnectorError(error).message)}\n`);
    return 1;
  }
}

function typeName(type: { kind: string }): string {
  return type.kind.toUpperCase();
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1 << 20) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}

function cell(value: unknown): string {
  const text = value === null || value === undefined ? 'NULL' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > MAX_CELL ? `${flat.slice(0, MAX_CELL - 1)}…` : flat;
}

/** A plain-text table with a header and a rule. */
export function renderTable(names: string[], rows: Record<string, unknown>[]): string {
  const cells = rows.map((row) => names.map((name) => cell(row[name])));
  const widths = names.map((name, index) => Math.max(name.length, ...cells.map((row) => row[index]!.length)));
  const line = (values: string[]) => values.map((value, index) => value.padEnd(widths[index]!)).join(' | ').trimEnd();
  return [line(names), widths.map((width) => '-'.repeat(width)).join('-+-'), ...cells.map(line)].join('\n');
}
