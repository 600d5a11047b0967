import type { Event, EventType, Severity } from '@twarga/contract';
import type { Db } from '../../db/database.js';

export interface NewEvent {
  type: EventType;
  severity?: Severity;
  action: string;
  message: string;
  userId?: number | null;
  username?: string | null;
  vmId?: number | null;
  sourceIp?: string | null;
  details?: Record<string, unknown>;
}

export interface EventQuery {
  userId?: number;
  type?: EventType;
  action?: string;
  limit?: number;
}

export class EventsRepository {
  constructor(private readonly db: Db) {}

  async insert(e: NewEvent, timestamp: string): Promise<number> {
    const row = await this.db
      .insertInto('events')
      .values({
        type: e.type,
        severity: e.severity ?? 'info',
        action: e.action,
        message: e.message,
        timestamp,
        user_id: e.userId ?? null,
        username: e.username ?? null,
        vm_id: e.vmId ?? null,
        source_ip: e.sourceIp ?? null,
        details: JSON.stringify(e.details ?? {}),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async list(q: EventQuery = {}): Promise<Event[]> {
    let query = this.db.selectFrom('events').selectAll().orderBy('id', 'desc').limit(q.limit ?? 100);
    if (q.userId !== undefined) query = query.where('user_id', '=', q.userId);
    if (q.type) query = query.where('type', '=', q.type);
    if (q.action) query = query.where('action', '=', q.action);
    const rows = await query.execute();
    return rows.map((r) => ({
      ...r,
      type: r.type as EventType,
      severity: r.severity as Severity,
      details: JSON.parse(r.details) as Record<string, unknown>,
    }));
  }
}
