import { sql } from 'kysely';
import type { FastifyBaseLogger } from 'fastify';
import type { DatabaseKind, Db } from '../db/database.js';

/**
 * Whether this server process runs the cluster's periodic jobs (metering, the collector, the
 * health watch, retention). One process does: on PostgreSQL the one holding an advisory lock on
 * a connection it keeps for that; the server releases the lock when that process dies, and a
 * standby takes it at its next tick. On SQLite there is one process: it always leads.
 */
export interface Leadership {
  /** True when this process leads now (tries to become the leader when it does not). */
  lead(): Promise<boolean>;
  /** What the last lead() found, without asking the database (listeners deciding per message). */
  readonly leading: boolean;
  close(): Promise<void>;
}

export const soleLeadership: Leadership = { lead: async () => true, leading: true, close: async () => {} };

export function leadershipFor(db: Db, kind: DatabaseKind, log: FastifyBaseLogger): Leadership {
  return kind === 'postgres' ? new AdvisoryLeadership(db, log) : soleLeadership;
}

const KEY = 'twarga:cluster-jobs';

/** A pooled connection reserved for as long as it works: the advisory lock lives in its session. */
interface Session {
  conn: Db;
  release(): void;
}

class AdvisoryLeadership implements Leadership {
  private session?: Session;
  private leader = false;
  private closed = false;
  private pending?: Promise<boolean>;

  constructor(
    private readonly db: Db,
    private readonly log: FastifyBaseLogger,
  ) {}

  get leading(): boolean {
    return this.leader;
  }

  lead(): Promise<boolean> {
    // Jobs tick on their own timers: one attempt at a time answers all of them.
    this.pending ??= this.attempt().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async attempt(): Promise<boolean> {
    if (this.closed) return false;
    try {
      const session = (this.session ??= await this.open());
      if (this.leader) {
        // Still ours while the session lives: a broken session lost the lock with it.
        await sql`SELECT 1`.execute(session.conn);
        return true;
      }
      const { rows } = await sql<{ ok: boolean }>`SELECT pg_try_advisory_lock(hashtext(${KEY})) AS ok`.execute(session.conn);
      this.leader = rows[0]?.ok === true;
      if (this.leader) this.log.info('this server process now runs the cluster\'s periodic jobs (leader)');
      return this.leader;
    } catch (err) {
      if (this.leader) this.log.warn({ err }, 'lost the leader session: periodic jobs stop here until the lock is won again');
      this.drop();
      return false;
    }
  }

  private open(): Promise<Session> {
    return new Promise((resolve, reject) => {
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      this.db
        .connection()
        .execute(async (conn) => {
          resolve({ conn, release });
          await held;
        })
        .catch(reject);
    });
  }

  private drop(): void {
    this.leader = false;
    this.session?.release();
    this.session = undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.pending?.catch(() => false);
    if (this.session && this.leader) await sql`SELECT pg_advisory_unlock(hashtext(${KEY}))`.execute(this.session.conn).catch(() => {});
    this.drop();
  }
}
