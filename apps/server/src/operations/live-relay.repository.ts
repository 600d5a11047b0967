import type { Db } from '../db/database.js';

/** How long a stored oversized message waits for the other processes to read it. */
const KEEP_MS = 60_000;

/** The SQL of the live relay: notifications, and the oversized messages kept in live_relay. */
export class LiveRelayRepository {
  constructor(private readonly db: Db) {}

  async notify(channel: string, payload: string): Promise<void> {
    await this.db.selectNoFrom((eb) => eb.fn('pg_notify', [eb.val(channel), eb.val(payload)]).as('sent')).execute();
  }

  /** Stores an oversized payload (and drops those older than a minute: every reader had its chance). */
  async store(payload: string, now: Date): Promise<number> {
    await this.db.deleteFrom('live_relay').where('created_at', '<', new Date(now.getTime() - KEEP_MS).toISOString()).execute();
    const row = await this.db.insertInto('live_relay').values({ payload, created_at: now.toISOString() }).returning('id').executeTakeFirstOrThrow();
    return row.id;
  }

  async find(id: number): Promise<string | undefined> {
    return (await this.db.selectFrom('live_relay').select('payload').where('id', '=', id).executeTakeFirst())?.payload;
  }
}
