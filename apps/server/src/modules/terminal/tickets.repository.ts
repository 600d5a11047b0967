import type { Insertable, Selectable } from 'kysely';
import type { Db } from '../../db/database.js';
import type { TerminalTicketsTable } from '../../db/schema.js';

export type TicketRow = Selectable<TerminalTicketsTable>;

/** terminal_tickets: every server process issues and redeems through it. */
export class TicketsRepository {
  constructor(private readonly db: Db) {}

  async insert(row: Insertable<TerminalTicketsTable>): Promise<void> {
    await this.db.insertInto('terminal_tickets').values(row).execute();
  }

  /**
   * Marks the ticket used and returns it, in one statement: of two processes redeeming the same
   * ticket at once, exactly one gets the row. Undefined when it is unknown or already used.
   */
  claim(ticketHash: string, now: string): Promise<TicketRow | undefined> {
    return this.db
      .updateTable('terminal_tickets')
      .set({ used_at: now })
      .where('ticket_hash', '=', ticketHash)
      .where('used_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
  }

  async exists(ticketHash: string): Promise<boolean> {
    const row = await this.db.selectFrom('terminal_tickets').select('ticket_hash').where('ticket_hash', '=', ticketHash).executeTakeFirst();
    return row !== undefined;
  }

  async revoke(ticketHash: string, now: string): Promise<void> {
    await this.db
      .updateTable('terminal_tickets')
      .set({ revoked_at: now })
      .where('ticket_hash', '=', ticketHash)
      .where('revoked_at', 'is', null)
      .execute();
  }

  /** Unused, unrevoked, unexpired tickets of the user. */
  async countPending(userId: number, now: string): Promise<number> {
    const { n } = await this.db
      .selectFrom('terminal_tickets')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('user_id', '=', userId)
      .where('expires_at', '>', now)
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(n);
  }

  /** Deletes tickets that expired before the cutoff (an indexed range delete). */
  async deleteExpiredBefore(cutoff: string): Promise<void> {
    await this.db.deleteFrom('terminal_tickets').where('expires_at', '<', cutoff).execute();
  }
}
