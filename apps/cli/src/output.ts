import Table from 'cli-table3';

/** One table column: a header and how to read the cell from a row. */
export interface Column<T> {
  header: string;
  get: (row: T) => unknown;
}

/** A cell as text: '-' for null/undefined/'', numbers and booleans as they are. */
export function cell(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-';
  if (Array.isArray(value)) return value.length ? value.map(cell).join(',') : '-';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** A borderless table (like kubectl/doctl) so it reads well and greps well. */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const table = new Table({
    head: columns.map((c) => c.header.toUpperCase()),
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
      bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
      left: '', 'left-mid': '', mid: '', 'mid-mid': '',
      right: '', 'right-mid': '', middle: '  ',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  for (const row of rows) table.push(columns.map((c) => cell(c.get(row))));
  return table.toString().split('\n').map((l) => l.trimEnd()).join('\n');
}

/** "key: value" lines for one object (vm show, whoami). */
export function renderFields(fields: readonly [string, unknown][]): string {
  const width = Math.max(...fields.map(([k]) => k.length));
  return fields.map(([k, v]) => `${(k + ':').padEnd(width + 1)} ${cell(v)}`).join('\n');
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '-';
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  if (d) return `${d}d${h}h`;
  if (h) return `${h}h${m}m`;
  if (m) return `${m}m${s}s`;
  return `${s}s`;
}

/** Where a command writes: JSON for scripts (--json), tables for people. */
export class Output {
  constructor(
    readonly json: boolean,
    private readonly out: NodeJS.WritableStream = process.stdout,
  ) {}

  /** Prints `data` as JSON, or `human()` when not in JSON mode. */
  result(data: unknown, human: () => string): void {
    this.out.write(this.json ? JSON.stringify(data, null, 2) + '\n' : human() + '\n');
  }

  table<T>(rows: readonly T[], columns: readonly Column<T>[]): void {
    this.result(rows, () => (rows.length ? renderTable(rows, columns) : '(none)'));
  }

  /** A line for people only (never in --json mode, so scripts get one JSON document). */
  info(line: string): void {
    if (!this.json) this.out.write(line + '\n');
  }
}
