import { formatDuckType, widenTypes } from '../../engine/types.js';
import type { DeclaredColumn } from '../converter.js';
import type { CellValue, Row } from './sheet-rows.js';

/**
 * Column names from the header row, named as DuckDB names a CSV header, so an Excel stream and a
 * CSV export of the same sheet have the same columns: an empty name becomes `column<i>` (i from 0),
 * and a name already taken (ignoring case) gets `_1`, `_2`... Cells past the header's last name
 * get `column<i>` too.
 */
export class ColumnNames {
  private readonly names: string[] = [];
  private readonly taken = new Set<string>();
  private readonly repeats = new Map<string, number>();
  /** Columns the header row spans; names given later to cells past it do not widen it. */
  readonly headerWidth: number;

  constructor(header: Row) {
    for (let index = 0; index < header.length; index += 1) this.names.push(this.unique(headerText(header[index]) ?? `column${index}`));
    this.headerWidth = this.names.length;
  }

  name(index: number): string {
    for (let next = this.names.length; next <= index; next += 1) this.names.push(this.unique(`column${next}`));
    return this.names[index]!;
  }

  private unique(name: string): string {
    let candidate = name;
    const key = name.toLowerCase();
    while (this.taken.has(candidate.toLowerCase())) {
      const count = (this.repeats.get(key) ?? 0) + 1;
      this.repeats.set(key, count);
      candidate = `${name}_${count}`;
    }
    this.taken.add(candidate.toLowerCase());
    return candidate;
  }
}

function headerText(cell: CellValue | undefined): string | undefined {
  if (cell === null || cell === undefined) return undefined;
  return String(cell.value);
}

/** The DuckDB type a column's sampled values make, widened as DuckDB's CSV sniffer would. */
type ColumnType = 'BOOLEAN' | 'BIGINT' | 'DOUBLE' | 'DATE' | 'TIMESTAMP' | 'TIME' | 'VARCHAR';

const CELL_TYPES: Record<NonNullable<CellValue>['kind'], ColumnType> = {
  boolean: 'BOOLEAN',
  number: 'DOUBLE',
  text: 'VARCHAR',
  date: 'DATE',
  timestamp: 'TIMESTAMP',
  time: 'TIME',
};

function cellType(cell: NonNullable<CellValue>): ColumnType {
  // Whole numbers are integers while a double holds them exactly (an xlsx number is a double).
  if (cell.kind === 'number' && Number.isSafeInteger(cell.value)) return 'BIGINT';
  return CELL_TYPES[cell.kind];
}

/** Two types as the engine widens the types of files that disagree (BIGINT and DOUBLE: DOUBLE; DATE and TIMESTAMP: TIMESTAMP; else VARCHAR). */
function widen(current: ColumnType | undefined, next: ColumnType): ColumnType {
  if (current === undefined || current === next) return next;
  return formatDuckType(widenTypes({ kind: 'primitive', name: current }, { kind: 'primitive', name: next })) as ColumnType;
}

/** Types of the columns over the rows written, in column order; a column with no value is VARCHAR (as in CSV). */
export class ColumnTypes {
  private readonly types = new Map<string, ColumnType | undefined>();

  add(name: string, cell: CellValue | undefined): void {
    const current = this.types.get(name);
    if (cell === null || cell === undefined) {
      if (!this.types.has(name)) this.types.set(name, undefined);
      return;
    }
    this.types.set(name, widen(current, cellType(cell)));
  }

  declared(): DeclaredColumn[] {
    return [...this.types].map(([name, type]) => ({ name, type: type ?? 'VARCHAR' }));
  }
}
