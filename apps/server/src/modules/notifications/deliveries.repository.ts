import type { NotificationDelivery } from '@twarga/contract';
import type { Db } from '../../db/database.js';

const COLUMNS = ['id', 'channel_id', 'topic', 'subject', 'alert_id', 'status', 'attempts', 'response_code', 'error', 'created_at', 'finished_at'] as const;

/** A delivery with what it carries: enough to send it again after a restart. */
export interface DeliveryJob {
  id: number;
  channel_id: number;
  user_id: number;
  topic: string;
  subject: string;
  body: string;
  data: Record<string, unknown>;
  alert_id: number | null;
  attempts: number;
  status: NotificationDelivery['status'];
  created_at: string;
}

/** A new delivery: the job's content, before any attempt. */
export type DeliveryInsert = Omit<DeliveryJob, 'id' | 'attempts' | 'status' | 'created_at'> & { now: string };

/** The outcome of one attempt. `status` stays pending while a retry is due. */
export interface AttemptRecord {
  status: 'pending' | 'delivered' | 'failed';
  response_code: number | null;
  error: string | null;
  finished_at: string | null;
}

export class DeliveriesRepository {
  constructor(private readonly db: Db) {}

  async insertMany(rows: DeliveryInsert[]): Promise<number[]> {
    if (rows.length === 0) return [];
    const inserted = await this.db
      .insertInto('notification_deliveries')
      .values(rows.map((r) => ({ channel_id: r.channel_id, user_id: r.user_id, topic: r.topic, subject: r.subject, body: r.body, data: JSON.stringify(r.data), alert_id: r.alert_id, status: 'pending' as const, attempts: 0, created_at: r.now })))
      .returning('id')
      .execute();
    return inserted.map((r) => r.id);
  }

  get(id: number): Promise<NotificationDelivery | undefined> {
    return this.db.selectFrom('notification_deliveries').select(COLUMNS).where('id', '=', id).executeTakeFirst();
  }

  async job(id: number): Promise<DeliveryJob | undefined> {
    const r = await this.db
      .selectFrom('notification_deliveries')
      .select(['id', 'channel_id', 'user_id', 'topic', 'subject', 'body', 'data', 'alert_id', 'attempts', 'status', 'created_at'])
      .where('id', '=', id)
      .executeTakeFirst();
    return r && { ...r, data: parseData(r.data) };
  }

  /** Ids of deliveries not finished (for resuming after a restart), oldest first. */
  async pendingIds(): Promise<number[]> {
    const rows = await this.db.selectFrom('notification_deliveries').select('id').where('status', '=', 'pending').orderBy('id').execute();
    return rows.map((r) => r.id);
  }

  /** Counts the attempt and records its outcome in one statement. */
  async recordAttempt(id: number, outcome: AttemptRecord): Promise<void> {
    await this.db
      .updateTable('notification_deliveries')
      .set((eb) => ({ attempts: eb('attempts', '+', 1), status: outcome.status, response_code: outcome.response_code, error: outcome.error?.slice(0, 500) ?? null, finished_at: outcome.finished_at }))
      .where('id', '=', id)
      .execute();
  }

  listForUser(userId: number, opts: { channelId?: number; limit: number }): Promise<NotificationDelivery[]> {
    let q = this.db.selectFrom('notification_deliveries').select(COLUMNS).where('user_id', '=', userId);
    if (opts.channelId !== undefined) q = q.where('channel_id', '=', opts.channelId);
    return q.orderBy('id', 'desc').limit(opts.limit).execute();
  }

  /** Drops finished deliveries older than `before` (the log is kept for a while, not forever). */
  async pruneFinished(before: string): Promise<number> {
    const res = await this.db.deleteFrom('notification_deliveries').where('status', '!=', 'pending').where('created_at', '<', before).executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}

function parseData(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
