import { loadConfig } from '../config/load.js';
import { jsonObjectMembers } from '../engine/json-members.js';
import { formatDuckType } from '../engine/types.js';
import { asConnectorError } from '../protocol/errors.js';
import { OutputClosedError, writeAllSync } from '../protocol/fd-write.js';
import type { SecretRedactor } from '../protocol/redactor.js';
import { SourceContext } from '../streams/context.js';
import { previewRecordData } from '../streams/query-preview.js';
import { describeQuery, prepareQuery } from '../streams/query-stream.js';
import { cellText, renderTable } from './preview-table.js';
import { terminalSafeJson, visibleText } from './terminal-text.js';
import { formatBytes } from '../format-bytes.js';

/**
 * `source-s3 query`: a preview for people writing model queries. Prints the
 * first rows, the column types, and how many objects and bytes were fetched.
 * `--format json` prints each row's data object exactly as `read` emits it, one
 * per line (on a terminal, with bidi and C1 controls escaped); the table shows
 * the same values, made safe for a terminal. Not a
 * protocol command: errors are plain text on stderr, with exit code 1.
 */
export async function queryCommand(options: { config: string; sql: string; limit: number; format: 'table' | 'json' }, redactor: SecretRedactor): Promise<number> {
  const print = (text: string) => writeAllSync(1, Buffer.from(`${text}\n`));
  // Messages can quote values and names from the files: safe for a terminal too.
  const tell = (text: string) => process.stderr.write(`${visibleText(redactor.redact(text), { keepNewlines: true })}\n`);
  try {
    const { config, warnings } = await loadConfig(options.config, redactor);
    for (const warning of warnings) tell(`warning: ${warning}`);
    const context = await SourceContext.open(config, redactor);
    try {
      const prepared = await prepareQuery(context, undefined, options.sql, 'full');
      let columns;
      let rows;
      try {
        columns = await describeQuery(context, undefined, prepared);
        rows = await previewRecordData(context, prepared, columns, options.limit);
      } finally {
        await prepared.close();
      }
      const fetched = `fetched ${prepared.objects.length} object${prepared.objects.length === 1 ? '' : 's'}, ${formatBytes(prepared.bytesFetched, 'B')}`;
      const types = visibleText(columns.map((column) => `${column.name} ${formatDuckType(column.type)}`).join(', '));
      const counted = `${rows.length} row${rows.length === 1 ? '' : 's'}`;
      if (options.format === 'json') {
        // The same bytes as `read`; a person watching a terminal gets the same values with bidi and C1 controls escaped.
        const toTerminal = process.stdout.isTTY === true;
        for (const row of rows) print(toTerminal ? terminalSafeJson(row) : row);
        tell(`${counted}; columns: ${types}; ${fetched}`);
      } else {
        // Members come in column order (names may repeat): cells are matched by position.
        const cells = rows.map((row) => jsonObjectMembers(row).map((member) => cellText(member.raw)));
        print(renderTable(columns.map((column) => column.name), cells));
        print(`(${counted}${rows.length === options.limit ? `, limited to ${options.limit}` : ''})`);
        print(`columns: ${types}`);
        print(fetched);
      }
    } finally {
      await context.close();
    }
    return 0;
  } catch (error) {
    // Previewed into `| head`: the reader has what it wanted; main says it once.
    if (error instanceof OutputClosedError) throw error;
    tell(`source-s3 query: ${asConnectorError(error).message}`);
    return 1;
  }
}

