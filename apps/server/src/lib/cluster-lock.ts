import { Mutex } from 'async-mutex';
import { sql } from 'kysely';
import type { DatabaseKind, Db } from '../db/database.js';

/** Runs one critical section at a time (an admission: read what is in use, then insert). */
export interface ExclusiveLock {
  runExclusive<T>(fn: () => Promise<T>): Promise<T>;
}

/**
 * Named locks that hold across every server process sharing the database. On PostgreSQL a
 * session advisory lock on a connection reserved for the section (released by unlock, or by the
 * server if the process dies); within one process a mutex first, so waiting sections queue here
 * instead of each holding a pooled connection. SQLite has one server process per file: the
 * mutex is the whole lock.
 */
export class ClusterLocks {
  private readonly locks = new Map<string, ExclusiveLock>();

  constructor(
    private readonly db: Db,
    private readonly kind: DatabaseKind,
  ) {}

  named(name: string): ExclusiveLock {
    let lock = this.locks.get(name);
    if (!lock) {
      lock = this.kind === 'postgres' ? new AdvisoryLock(this.db, `twarga:${name}`) : new Mutex();
      this.locks.set(name, lock);
    }
    return lock;
  }
}

class AdvisoryLock implements ExclusiveLock {
  private readonly local = new Mutex();

  constructor(
    private readonly db: Db,
    private readonly key: string,
  ) {}

  runExclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.local.runExclusive(() =>
      this.db.connection().execute(async (conn) => {
        await sql`SELECT pg_advisory_lock(hashtext(${this.key}))`.execute(conn);
        try {
          return await fn();
        } finally {
          await sql`SELECT pg_advisory_unlock(hashtext(${this.key}))`.execute(conn);
        }
      }),
    );
  }
}
