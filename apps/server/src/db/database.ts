import path from 'node:path';
import { mkdirSync } from 'node:fs';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect, sql, type SqliteDatabase } from 'kysely';
import { isDiskFull } from '../lib/disk-space.js';
import type { Database } from './schema.js';
import { migrate } from './migrator.js';

export type DatabaseKind = 'sqlite' | 'postgres';
export type Db = Kysely<Database>;

export interface DatabaseHandle {
  db: Db;
  kind: DatabaseKind;
  /** Where the data lives, without credentials (for logs). */
  location: string;
  ping(): Promise<boolean>;
  /** A real committed write (the one-row health_heartbeat): undefined when it works, else why not. */
  probeWrite(): Promise<WriteProbeFailure | undefined>;
  close(): Promise<void>;
}

/** Why the database cannot write, in words that hold no internals (for GET /health). */
export interface WriteProbeFailure {
  reason: 'disk_full' | 'read_only' | 'busy' | 'error';
  /** The driver's error code (SQLITE_FULL, 53100…), for logs. */
  code?: string;
}

const PG_TIMESTAMPTZ_OID = 1184;
const PG_INT8_OID = 20;

/** Opens the database named by the URL (unset: SQLite file in the data dir) and migrates it. */
export async function openDatabase(options: { url?: string; dataDir: string }): Promise<DatabaseHandle> {
  const handle = options.url ? openPostgres(options.url) : openSqlite(options.dataDir);
  try {
    await migrate(handle.db as Kysely<unknown>, handle.kind);
  } catch (err) {
    await handle.close();
    throw err;
  }
  return handle;
}

function openSqlite(dataDir: string): DatabaseHandle {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, 'twarga.db');
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  return {
    db,
    kind: 'sqlite',
    location: file,
    ping: () => pingWith(db),
    probeWrite: () => probeWriteWith(db),
    close: () => db.destroy(),
  };
}

function openPostgres(url: string): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: 5000,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
        // Same shapes as SQLite: ISO timestamps and plain numbers.
        if (oid === PG_TIMESTAMPTZ_OID) return (v: string) => new Date(v).toISOString();
        if (oid === PG_INT8_OID) return (v: string) => Number(v);
        return pg.types.getTypeParser(oid, format);
      }) as typeof pg.types.getTypeParser,
    },
  });
  // An idle connection that PostgreSQL ends (restart, admin termination) errors on the pool;
  // unhandled, that would crash the server. pg drops it and connects anew on the next query.
  pool.on('error', (err) => process.emitWarning(`PostgreSQL dropped an idle connection: ${err.message}`));
  // The same for a connection checked out but between queries (the cluster leader's reserved
  // session): its next query fails instead, and pg discards it when it is released.
  pool.on('connect', (client) => client.on('error', (err) => process.emitWarning(`PostgreSQL dropped a connection in use: ${err.message}`)));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const u = new URL(url);
  return {
    db,
    kind: 'postgres',
    location: `postgres://${u.host}${u.pathname}`,
    ping: () => pingWith(db),
    probeWrite: () => probeWriteWith(db),
    close: () => db.destroy(),
  };
}

/**
 * Kysely prepares every query anew; preparing costs as much as running a small query.
 * Statements are cached by SQL text (a bounded set: our queries are built from a fixed set of
 * shapes). Safe because Kysely runs one query at a time on this single connection.
 */
function withStatementCache(sqlite: SQLite.Database, max = 500): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare: (sqlText: string) => {
      // SQLite ends a transaction by itself on some errors (SQLITE_FULL, SQLITE_IOERR, NOMEM…).
      // Kysely then sends ROLLBACK, which fails with "cannot rollback - no transaction is active"
      // and that error replaces the real cause. Nothing is left to undo, so that ROLLBACK is a no-op.
      if (!sqlite.inTransaction && /^\s*rollback\s*;?\s*$/i.test(sqlText)) return NO_OP_STATEMENT;
      let stmt = cache.get(sqlText);
      if (!stmt) {
        if (cache.size >= max) cache.clear();
        stmt = sqlite.prepare(sqlText);
        cache.set(sqlText, stmt);
      }
      return stmt as unknown as ReturnType<SqliteDatabase['prepare']>;
    },
  };
}

const NO_OP_STATEMENT = {
  reader: false,
  run: () => ({ changes: 0, lastInsertRowid: 0 }),
  all: () => [],
  iterate: () => [][Symbol.iterator](),
} as unknown as ReturnType<SqliteDatabase['prepare']>;

/** Connection-level SQLSTATEs: the server is not reachable or is going away (class 08, shutdown, too many sessions). */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|53300)$/;
/** Socket errors on the way to the database server. */
const UNAVAILABLE_SOCKET = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
/** pg and pg-pool name these failures only in their messages (no code): a cut connection, a connect timeout. */
const UNAVAILABLE_MESSAGE = /^(Connection terminated|timeout exceeded when trying to connect|Client (has encountered a connection error|was closed) and is not queryable)/;

/**
 * True when an error means the database server cannot be reached right now (stopped, restarting,
 * unreachable, out of sessions), as opposed to a bad query: the caller may retry the same request.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_SOCKET.has(code))) return true;
    if (UNAVAILABLE_MESSAGE.test(e.message)) return true;
  }
  return false;
}

async function probeWriteWith(db: Db): Promise<WriteProbeFailure | undefined> {
  try {
    // In a transaction, committed: a write that never reaches the disk would prove nothing.
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('health_heartbeat').set({ checked_at: new Date().toISOString() }).where('id', '=', 1).execute();
    });
    return undefined;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const text = typeof code === 'string' ? code : undefined;
    if (isDiskFull(err)) return { reason: 'disk_full', code: text };
    if (text === 'SQLITE_READONLY' || text === '25006') return { reason: 'read_only', code: text };
    if (text === 'SQLITE_BUSY' || text === '55P03') return { reason: 'busy', code: text };
    return { reason: 'error', code: text };
  }
}

async function pingWith(db: Db): Promise<boolean> {
  try {
    await sql`SELECT 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}
