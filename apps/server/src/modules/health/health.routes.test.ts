import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';

type Check = { name: string; status: string; detail: string };

/** GET /health checks what users need: the database reads and writes, the data dir has room. (Disk full: http/disk-full.test.ts.) */
for (const kind of testDatabaseKinds()) {
  describe(`GET /health (${kind})`, () => {
    let h: Harness;
    before(async () => {
      h = await createHarness(kind, {}, new FakeDriver());
    });
    after(() => h.close());

    const health = () => h.request({ method: 'GET', url: '/health' });
    const check = (body: { checks: Check[] }, name: string) => body.checks.find((c) => c.name === name)!;

    test('healthy: every check says ok, and the write probe really commits', async () => {
      const before = (await h.db.handle.db.selectFrom('health_heartbeat').select('checked_at').executeTakeFirstOrThrow()).checked_at;
      await new Promise((r) => setTimeout(r, 5));
      const res = await health();
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      assert.equal(body.status, 'healthy');
      assert.equal(body.database, 'ok');
      assert.deepEqual(body.checks.map((c: Check) => [c.name, c.status]), [['database_read', 'ok'], ['database_write', 'ok'], ['disk_space', 'ok']]);
      const afterProbe = (await h.db.handle.db.selectFrom('health_heartbeat').select('checked_at').executeTakeFirstOrThrow()).checked_at;
      assert.ok(Date.parse(afterProbe) > Date.parse(before), 'the heartbeat row was written');
    });

    test('a database that cannot write is failed (503) although it still reads', async () => {
      const release = await blockWrites(h, kind);
      try {
        const res = await health();
        assert.equal(res.statusCode, 503, res.body);
        const body = res.json();
        assert.equal(body.status, 'failed');
        assert.equal(body.database, 'error');
        assert.equal(check(body, 'database_read').status, 'ok');
        assert.equal(check(body, 'database_write').status, 'failed');
        assert.match(check(body, 'database_write').detail, kind === 'sqlite' ? /locked/ : /read-only/);
      } finally {
        await release();
      }
      const back = await health();
      assert.equal(back.statusCode, 200, back.body);
      assert.equal(back.json().status, 'healthy');
    });
  });
}

describe('GET /health with little free space', () => {
  let h: Harness;
  before(async () => {
    // A minimum no test machine has free: the data dir's filesystem is "low".
    h = await createHarness('sqlite', { minFreeDiskMb: 1_000_000_000 }, new FakeDriver());
  });
  after(() => h.close());

  test('free space below TWARGA_MIN_FREE_DISK_MB is degraded: still 200, with the figures', async () => {
    const res = await h.request({ method: 'GET', url: '/health' });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.status, 'degraded');
    assert.equal(body.database, 'ok');
    const disk = body.checks.find((c: Check) => c.name === 'disk_space');
    assert.equal(disk.status, 'degraded');
    assert.match(disk.detail, /^\d+ MB free in the data directory, below the 1000000000 MB minimum$/);
  });
});

/**
 * Makes the test database refuse writes while reads go on. SQLite: another connection holds the
 * write lock (the probe gives up after busy_timeout). PostgreSQL: the database is made read-only
 * and its sessions are ended, so the pool reconnects read-only.
 */
async function blockWrites(h: Harness, kind: string): Promise<() => Promise<void>> {
  if (kind === 'sqlite') {
    const other = new SQLite(path.join(h.db.dataDir, 'twarga.db'));
    other.exec('BEGIN IMMEDIATE');
    return async () => {
      other.exec('ROLLBACK');
      other.close();
    };
  }
  const dbName = (await h.db.handle.db.selectNoFrom((eb) => eb.fn<string>('current_database', []).as('db')).executeTakeFirstOrThrow()).db;
  assert.match(dbName, /^twarga_test_/, 'only ever the test database');
  // pg_terminate_backend only signals: wait until the sessions are gone, so the pool has seen them
  // close and the next query runs on a fresh connection with the new setting.
  const switchReadOnly = async (on: boolean) => {
    const c = new pg.Client({ connectionString: process.env.TWARGA_TEST_PG_URL });
    await c.connect();
    try {
      await c.query(`ALTER DATABASE ${dbName} SET default_transaction_read_only = ${on ? 'on' : 'off'}`);
      const others = `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`;
      const pids = (await c.query<{ pid: number }>(others, [dbName])).rows.map((r) => r.pid);
      await c.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [pids]);
      const alive = 'SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1::int[])';
      for (let i = 0; i < 100 && (await c.query<{ n: number }>(alive, [pids])).rows[0]!.n > 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await c.end();
    }
    await new Promise((r) => setImmediate(r));
  };
  await switchReadOnly(true);
  return () => switchReadOnly(false);
}
