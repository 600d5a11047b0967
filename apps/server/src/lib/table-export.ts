import { Readable, pipeline } from 'node:stream';
import { stringify } from 'csv-stringify';

export type ExportFormat = 'csv' | 'json';

/** A dated attachment name, e.g. twarga-ledger-20261130T174500Z.csv. */
export function exportFileName(prefix: string, format: ExportFormat, now: Date): string {
  return `${prefix}-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}.${format}`;
}

export const exportContentType = (format: ExportFormat) => (format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8');

/**
 * Rows as a download stream, pulled page by page as the client reads (a slow client holds one
 * page, not the table). CSV: a header row, RFC 4180 quoting (csv-stringify), and cells starting
 * with = + - @ (or a tab or CR) prefixed with a quote so a spreadsheet never runs a row's text
 * as a formula. JSON: one array of the rows as they are.
 * A failure mid-way ends the stream with an error (a broken download, never a short file).
 */
export function exportTable<T>(format: ExportFormat, columns: readonly string[], pages: AsyncIterable<T[]>, cells: (row: T) => unknown[], onError: (err: Error) => void): Readable {
  if (format === 'json') {
    return Readable.from(
      (async function* json() {
        let first = true;
        yield '[';
        for await (const page of pages) {
          if (page.length === 0) continue;
          yield (first ? '' : ',') + page.map((r) => JSON.stringify(r)).join(',');
          first = false;
        }
        yield ']\n';
      })(),
    );
  }
  const out = stringify({ header: true, columns: [...columns], escape_formulas: true, cast: { number: (n) => String(n) } });
  const rows = Readable.from(
    (async function* csvRows() {
      for await (const page of pages) for (const r of page) yield cells(r);
    })(),
  );
  pipeline(rows, out, (err) => err && onError(err));
  return out;
}
