import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Event, EventCode, EventType, Severity } from '@twarga/contract';
import type { Db } from '../../db/database.js';

export interface NewEvent {
  type: EventType;
  severity?: Severity;
  /** The event's code: only codes listed in the contract's EventCodes (a typo is a type error). */
  action: EventCode;
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
  action?: EventCode;
  limit?: number;
}

/** The stored form of an event's fields: what two identical events have in common. */
function columnsOf(e: NewEvent) {
  return {
    type: e.type,
    severity: e.severity ?? 'info',
    action: e.action,
    message: e.message,
    user_id: e.userId ?? null,
    username: e.username ?? null,
    vm_id: e.vmId ?? null,
    source_ip: e.sourceIp ?? null,
    details: JSON.stringify(e.details ?? {}),
  };
}

/**
 * Security events only (the ones that fold): a hash of every stored field that makes two events
 * identical (migration 016), so finding "the identical event of the last minute" is one probe of
 * the (fold_key, timestamp) index. 128 bits: a collision between two different events of the
 * same minute is not a practical concern.
 */
function foldKeyOf(c: ReturnType<typeof columnsOf>): string | null {
  if (c.type !== 'security') return null;
  const fields = [c.type, c.severity, c.action, c.message, c.user_id, c.username, c.vm_id, c.source_ip, c.details];
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex').slice(0, 32);
}

/** The columns written for a new event. */
function rowOf(e: NewEvent) {
  const c = columnsOf(e);
  return { ...c, fold_key: foldKeyOf(c) };
}

/** What a read returns: every column but fold_key (internal to folding). */
const READ_COLUMNS = ['id', 'type', 'severity', 'action', 'message', 'timestamp', 'user_id', 'username', 'vm_id', 'source_ip', 'details', 'count', 'last_seen'] as const;

/** The API's form of an event just written: its fields plus what the database assigned. */
function storedEvent(e: NewEvent, row: { id: number; timestamp: string; count: number; last_seen: string }): Event {
  const c = columnsOf(e);
  // details as stored (JSON): what a later read returns, not the caller's object.
  return { ...c, ...row, code: c.action, details: JSON.parse(c.details) as Record<string, unknown> };
}

export class EventsRepository {
  constructor(private readonly db: Db) {}

  /**
   * A new row; `count` and `lastSeen` when it stands for several occurrences already.
   * Returns the stored event (built from what was written, no second read).
   */
  async insert(e: NewEvent, timestamp: string, count = 1, lastSeen = timestamp): Promise<Event> {
    const row = await this.db
      .insertInto('events')
      .values({ ...rowOf(e), timestamp, count, last_seen: lastSeen })
      .returning('id')
      .executeTakeFirstOrThrow();
    return storedEvent(e, { id: row.id, timestamp, count, last_seen: lastSeen });
  }

  /**
   * Many new rows in one multi-row INSERT (the syslog ingest's batches). Returns the stored events
   * in the order given. Ids come in VALUES order within one statement on both databases, so the
   * returned ids, sorted, line up with the rows.
   */
  async insertMany(rows: { event: NewEvent; timestamp: string; count: number; lastSeen: string }[]): Promise<Event[]> {
    if (rows.length === 0) return [];
    const ids = await this.db
      .insertInto('events')
      .values(rows.map((r) => ({ ...rowOf(r.event), timestamp: r.timestamp, count: r.count, last_seen: r.lastSeen })))
      .returning('id')
      .execute();
    const sorted = ids.map((r) => Number(r.id)).sort((x, y) => x - y);
    return rows.map((r, i) => storedEvent(r.event, { id: sorted[i]!, timestamp: r.timestamp, count: r.count, last_seen: r.lastSeen }));
  }

  /**
   * Folds `times` repeats into the newest identical event (every field alike: same fold_key)
   * that started at or after `since`: count + times, last_seen = lastSeen. Returns the event as
   * now stored, or undefined when there is none. One statement, so the find and the increment
   * cannot be split by another writer; the find is one probe of idx_events_fold, however many
   * other events of the same action the minute holds.
   */
  async addRepeats(e: NewEvent, times: number, since: string, lastSeen: string): Promise<Event | undefined> {
    const key = foldKeyOf(columnsOf(e));
    if (key === null) return undefined;
    const row = await this.db
      .updateTable('events')
      .set({ count: sql<number>`count + ${times}`, last_seen: lastSeen })
      .where('id', '=', () => this.foldLookup(key, since))
      .returning(['id', 'timestamp', 'count', 'last_seen'])
      .executeTakeFirst();
    return row && storedEvent(e, { id: row.id, timestamp: row.timestamp, count: Number(row.count), last_seen: row.last_seen ?? lastSeen });
  }

  /** The newest row with this fold key that started at or after `since` (an index probe: idx_events_fold). */
  foldLookup(key: string, since: string) {
    return this.db.selectFrom('events').select('id').where('fold_key', '=', key).where('timestamp', '>=', since).orderBy('id', 'desc').limit(1);
  }

  /** The fold key a new event gets (null: not a security event, never folded). */
  foldKey(e: NewEvent): string | null {
    return foldKeyOf(columnsOf(e));
  }

  async list(q: EventQuery = {}): Promise<Event[]> {
    let query = this.db.selectFrom('events').select(READ_COLUMNS).orderBy('id', 'desc').limit(q.limit ?? 100);
    if (q.userId !== undefined) query = query.where('user_id', '=', q.userId);
    if (q.type) query = query.where('type', '=', q.type);
    if (q.action) query = query.where('action', '=', q.action);
    const rows = await query.execute();
    return rows.map((r) => ({
      ...r,
      code: r.action,
      type: r.type as EventType,
      severity: r.severity as Severity,
      details: JSON.parse(r.details) as Record<string, unknown>,
      last_seen: r.last_seen ?? r.timestamp,
    }));
  }
}
