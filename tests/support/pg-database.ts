import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** A database of its own on the tests' PostgreSQL (TWARGA_TEST_PG_URL), for server processes to share; drop() removes it. */
export async function createThrowawayDatabase(prefix: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = process.env.TWARGA_TEST_PG_URL;
  if (!base) throw new Error('TWARGA_TEST_PG_URL is not set');
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = async (statement: string) => {
    const c = new pg.Client({ connectionString: base });
    await c.connect();
    try {
      await c.query(statement);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
