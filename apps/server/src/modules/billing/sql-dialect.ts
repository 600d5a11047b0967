import { SqliteAdapter } from 'kysely';
import type { Db } from '../../db/database.js';

/** Whether this Kysely talks to SQLite (the bulk statements differ in casts and locking). */
export function isSqlite(db: Db): boolean {
  return db.getExecutor().adapter instanceof SqliteAdapter;
}

/** Splits a list into chunks of at most n (bounded statement sizes and parameter counts). */
export function chunks<T>(items: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out;
}
