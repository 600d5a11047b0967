import type { AuditEntry, AuditExportQuery, AuditPage, AuditQuery } from '@twarga/contract';
import type { AuditFilter, AuditRepository } from './audit.repository.js';

export const AUDIT_CSV_COLUMNS = ['id', 'created_at', 'actor_id', 'actor_username', 'action', 'method', 'path', 'target_type', 'target_id', 'target_label', 'outcome', 'status_code', 'source_ip', 'request_id', 'before', 'after', 'details'] as const;

/** The cells of one CSV row, in AUDIT_CSV_COLUMNS order (JSON columns as JSON text). */
export const auditCsvRow = (e: AuditEntry): unknown[] => AUDIT_CSV_COLUMNS.map((c) => (e[c] !== null && typeof e[c] === 'object' ? JSON.stringify(e[c]) : e[c]));

/** Timestamps are compared as text on SQLite: every bound is normalised to UTC ISO first. */
const isoOrUndefined = (t: string | undefined) => (t === undefined ? undefined : new Date(t).toISOString());

function filterOf(q: Omit<AuditQuery, 'before_id' | 'limit'>): AuditFilter {
  return {
    actorId: q.actor_id,
    action: q.action,
    targetType: q.target_type,
    targetId: q.target_id,
    outcome: q.outcome,
    since: isoOrUndefined(q.since),
    until: isoOrUndefined(q.until),
    q: q.q?.trim() || undefined,
  };
}

/** Reading the audit log: pages newest first, the export oldest first. */
export class AuditService {
  constructor(private readonly repo: AuditRepository) {}

  async page(query: AuditQuery): Promise<AuditPage> {
    const { before_id, limit, ...filters } = query;
    const page = await this.repo.page(filterOf(filters), before_id, limit ?? 100);
    return { entries: page.entries, next_cursor: page.nextCursor };
  }

  /** Every matching entry, oldest first, a page at a time. */
  exportPages(query: Omit<AuditExportQuery, 'format'>): AsyncGenerator<AuditEntry[]> {
    return this.repo.pages(filterOf(query));
  }
}
