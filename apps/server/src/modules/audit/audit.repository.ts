import { sql, type Insertable, type Selectable } from 'kysely';
import type { AuditEntry } from '@twarga/contract';
import type { Db } from '../../db/database.js';
import type { AuditLogTable } from '../../db/schema.js';

export type NewAuditRow = Insertable<AuditLogTable>;
type AuditRow = Selectable<AuditLogTable>;

/** The audit log's filters, already checked (ISO timestamps). */
export interface AuditFilter {
  actorId?: number;
  action?: string;
  targetType?: string;
  targetId?: string;
  outcome?: 'succeeded' | 'failed';
  /** Inclusive. */
  since?: string;
  /** Exclusive. */
  until?: string;
  /** Substring (case-insensitive) of the action, target label, path or actor's name. */
  q?: string;
}

const parse = (text: string | null): unknown => (text === null ? null : (JSON.parse(text) as unknown));

function toEntry(r: AuditRow): AuditEntry {
  return {
    id: Number(r.id),
    created_at: r.created_at,
    actor_id: r.actor_id === null ? null : Number(r.actor_id),
    actor_username: r.actor_username,
    action: r.action,
    method: r.method,
    path: r.path,
    target_type: r.target_type,
    target_id: r.target_id,
    target_label: r.target_label,
    before: parse(r.before),
    after: parse(r.after),
    details: parse(r.details) as Record<string, unknown> | null,
    outcome: r.outcome as AuditEntry['outcome'],
    status_code: Number(r.status_code),
    source_ip: r.source_ip,
    request_id: r.request_id,
  };
}

/** LIKE with the user's text taken literally: % _ and the escape character itself are escaped. */
const likePattern = (q: string) => `%${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** Every write and read of audit_log. Pages are keyset pages on id: new entries never shift a page. */
export class AuditRepository {
  constructor(private readonly db: Db) {}

  async insert(row: NewAuditRow): Promise<number> {
    const { id } = await this.db.insertInto('audit_log').values(row).returning('id').executeTakeFirstOrThrow();
    return Number(id);
  }

  private filtered(f: AuditFilter) {
    let q = this.db.selectFrom('audit_log').selectAll();
    if (f.actorId !== undefined) q = q.where('actor_id', '=', f.actorId);
    if (f.action !== undefined) q = q.where('action', '=', f.action);
    if (f.targetType !== undefined) q = q.where('target_type', '=', f.targetType);
    if (f.targetId !== undefined) q = q.where('target_id', '=', f.targetId);
    if (f.outcome !== undefined) q = q.where('outcome', '=', f.outcome);
    if (f.since !== undefined) q = q.where('created_at', '>=', f.since);
    if (f.until !== undefined) q = q.where('created_at', '<', f.until);
    if (f.q) {
      const pattern = likePattern(f.q);
      // ESCAPE spelled out: SQLite's LIKE has no escape character by default.
      const matches = (['action', 'target_label', 'path', 'actor_username'] as const).map(
        (col) => sql<boolean>`lower(coalesce(${sql.ref(col)}, '')) like ${pattern} escape '\\'`,
      );
      q = q.where(sql<boolean>`(${sql.join(matches, sql` or `)})`);
    }
    return q;
  }

  /** Newest first, older than beforeId; one more row than asked tells whether a next page exists. */
  async page(f: AuditFilter, beforeId: number | undefined, limit: number): Promise<{ entries: AuditEntry[]; nextCursor: number | null }> {
    let q = this.filtered(f);
    if (beforeId !== undefined) q = q.where('id', '<', beforeId);
    const rows = await q.orderBy('id', 'desc').limit(limit + 1).execute();
    const entries = rows.slice(0, limit).map(toEntry);
    return { entries, nextCursor: rows.length > limit ? entries[entries.length - 1]!.id : null };
  }

  /** Every matching entry, oldest first, a page at a time (for the export). */
  async *pages(f: AuditFilter, pageSize = 500): AsyncGenerator<AuditEntry[]> {
    let afterId = 0;
    for (;;) {
      const rows = await this.filtered(f).where('id', '>', afterId).orderBy('id', 'asc').limit(pageSize).execute();
      if (!rows.length) return;
      yield rows.map(toEntry);
      afterId = Number(rows[rows.length - 1]!.id);
      if (rows.length < pageSize) return;
    }
  }
}
