import type { Readable } from 'node:stream';
import type { Event, SocExportFormat } from '@twarga/contract';
import { exportTable } from '../../../lib/table-export.js';

export const CSV_COLUMNS = ['id', 'timestamp', 'last_seen', 'count', 'type', 'severity', 'code', 'message', 'user_id', 'username', 'vm_id', 'source_ip', 'details'] as const;

const cells = (e: Event) => [e.id, e.timestamp, e.last_seen, e.count, e.type, e.severity, e.code, e.message, e.user_id, e.username, e.vm_id, e.source_ip, JSON.stringify(e.details)];

/** The events export as a stream (the shared table export: CSV with formulas defused, or JSON). */
export function exportStream(format: SocExportFormat, pages: AsyncGenerator<Event[]>, onError: (err: Error) => void): Readable {
  return exportTable(format, CSV_COLUMNS, pages, cells, onError);
}
