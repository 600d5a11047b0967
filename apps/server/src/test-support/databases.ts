import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openDatabase, type DatabaseHandle } from '../db/database.js';

export type DbKind = 'sqlite' | 'postgres';

/**
 * The databases medium tests run against: SQLite always, PostgreSQL when TWARGA_TEST_PG_URL
 * names a server. In CI a missing PostgreSQL is an error, never a silent skip.
 */
export function testDatabaseKinds(): DbKind[] {
  if (process.env.TWARGA_TEST_PG_URL) return ['sqlite', 'postgres'];
  if (process.env.CI) throw new Error('CI must run the PostgreSQL tests: TWARGA_TEST_PG_URL is not set');
  return ['sqlite'];
}

export interface TestDatabase {
  handle: DatabaseHandle;
  dataDir: string;
  /** PostgreSQL: the database's URL (a second server process opens it too); SQLite: undefined. */
  url?: string;
  cleanup(): Promise<void>;
}

/** A fresh, migrated database: a SQLite file in a temp dir, or a new PostgreSQL database. */
export async function createTestDatabase(kind: DbKind): Promise<TestDatabase> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-test-'));
  if (kind === 'sqlite') {
    const handle = await openDatabase({ dataDir });
    return {
      handle,
      dataDir,
      cleanup: async () => {
        await handle.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const adminUrl = process.env.TWARGA_TEST_PG_URL!;
  const name = `twarga_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const handle = await openDatabase({ url: url.toString(), dataDir });
  return {
    handle,
    dataDir,
    url: url.toString(),
    cleanup: async () => {
      await handle.close();
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
