import type { NotificationChannel } from '@twarga/contract';
import type { Db } from '../../db/database.js';
import type { NotificationChannelsTable } from '../../db/schema.js';

type Row = Omit<NotificationChannelsTable, 'id'> & { id: number };

/** A channel as stored, with its sealed secret (never sent to a client as-is). */
export interface ChannelRecord extends NotificationChannel {
  secret_enc: string | null;
}

const COLUMNS = ['id', 'user_id', 'kind', 'name', 'email', 'url', 'format', 'secret_enc', 'enabled', 'created_at', 'updated_at'] as const;

const toRecord = (r: Row): ChannelRecord => ({
  id: r.id,
  user_id: r.user_id,
  kind: r.kind,
  name: r.name,
  email: r.email,
  url: r.url,
  format: r.format,
  enabled: Boolean(r.enabled),
  created_at: r.created_at,
  secret_enc: r.secret_enc,
});

export interface ChannelInsert {
  user_id: number;
  kind: 'email' | 'webhook';
  name: string;
  email: string | null;
  url: string | null;
  format: 'json' | 'slack' | null;
  secret_enc: string | null;
  enabled: boolean;
  now: string;
}

export interface ChannelPatch {
  name?: string;
  email?: string;
  url?: string;
  format?: 'json' | 'slack';
  enabled?: boolean;
  secret_enc?: string;
}

export class ChannelsRepository {
  constructor(private readonly db: Db) {}

  async listForUser(userId: number): Promise<ChannelRecord[]> {
    const rows = await this.db.selectFrom('notification_channels').select(COLUMNS).where('user_id', '=', userId).orderBy('id').execute();
    return rows.map(toRecord);
  }

  async findForUser(userId: number, id: number): Promise<ChannelRecord | undefined> {
    const row = await this.db.selectFrom('notification_channels').select(COLUMNS).where('user_id', '=', userId).where('id', '=', id).executeTakeFirst();
    return row && toRecord(row);
  }

  async find(id: number): Promise<ChannelRecord | undefined> {
    const row = await this.db.selectFrom('notification_channels').select(COLUMNS).where('id', '=', id).executeTakeFirst();
    return row && toRecord(row);
  }

  /** Enabled channels of one user, or of every active administrator. */
  async enabledFor(userId: number | 'admins', only?: number[]): Promise<ChannelRecord[]> {
    let q = this.db.selectFrom('notification_channels as c').select(COLUMNS.map((c) => `c.${c}` as const)).where('c.enabled', '=', 1);
    if (userId === 'admins') {
      q = q.innerJoin('users as u', 'u.id', 'c.user_id').where('u.is_admin', '=', 1).where('u.is_active', '=', 1);
    } else q = q.where('c.user_id', '=', userId);
    if (only && only.length > 0) q = q.where('c.id', 'in', only);
    return (await q.orderBy('c.id').execute()).map(toRecord);
  }

  async countForUser(userId: number): Promise<number> {
    const row = await this.db
      .selectFrom('notification_channels')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async insert(c: ChannelInsert): Promise<ChannelRecord> {
    const row = await this.db
      .insertInto('notification_channels')
      .values({ user_id: c.user_id, kind: c.kind, name: c.name, email: c.email, url: c.url, format: c.format, secret_enc: c.secret_enc, enabled: c.enabled ? 1 : 0, created_at: c.now, updated_at: c.now })
      .returning(COLUMNS)
      .executeTakeFirstOrThrow();
    return toRecord(row);
  }

  async update(userId: number, id: number, patch: ChannelPatch, now: string): Promise<ChannelRecord | undefined> {
    const { enabled, ...rest } = patch;
    const row = await this.db
      .updateTable('notification_channels')
      .set({ ...rest, ...(enabled === undefined ? {} : { enabled: enabled ? 1 : 0 }), updated_at: now })
      .where('user_id', '=', userId)
      .where('id', '=', id)
      .returning(COLUMNS)
      .executeTakeFirst();
    return row && toRecord(row);
  }

  async delete(userId: number, id: number): Promise<ChannelRecord | undefined> {
    const row = await this.db.deleteFrom('notification_channels').where('user_id', '=', userId).where('id', '=', id).returning(COLUMNS).executeTakeFirst();
    return row && toRecord(row);
  }
}
