import { Readable, pipeline } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { Event, SocExportFormat } from '@twarga/contract';

export const CSV_COLUMNS = ['id', 'timestamp', 'last_seen', 'count', 'type', 'severity', 'code', 'message', 'user_id', 'username', 'vm_id', 'source_ip', 'details'] as const;

const cells = (e: Event) => [e.id, e.timestamp, e.last_seen, e.count, e.type, e.severity, e.code, e.message, e.user_id, e.username, e.vm_id, e.source_ip, JSON.stringify(e.details)];

/** A dated attachment name, e.g. twarga-events-20261130T174500Z.csv. */
export function exportFileName(format: SocExportFormat, now: Date): string {
  return `twarga-events-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}.${format}`;
}

/**
 * The export body as a stream, pulled page by page from `pages` as the client reads (back
 * pressure: a slow client holds one page, not the table). CSV: a header row, RFC 4180 quoting,
 * and cells starting with = + - @ (or a tab or CR) prefixed with a quote so a spreadsheet never
 * runs an attacker's message as a formula. JSON: one array.
 * A failure mid-way ends the response abruptly (the client sees a broken download, not a short file).
 */
export function exportStream(format: SocExportFormat, pages: AsyncGenerator<Event[]>, onError: (err: Error) => void): Readable {
  if (format === 'json') {
    return Readable.from(
      (async function* json() {
        let first = true;
        yield '[';
        for await (const page of pages) {
          yield (first ? '' : ',') + page.map((e) => JSON.stringify(e)).join(',');
          first = false;
        }
        yield ']\n';
      })(),
    );
  }
  const out = stringify({ header: true, columns: [...CSV_COLUMNS], escape_formulas: true, cast: { number: (n) => String(n) } });
  const rows = Readable.from(
    (async function* csvRows() {
      for await (const page of pages) for (const e of page) yield cells(e);
    })(),
  );
  pipeline(rows, out, (err) => err && onError(err));
  return out;
}
