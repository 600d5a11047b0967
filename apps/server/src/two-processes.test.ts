import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { buildApp } from './app.js';
import { loadOrCreateSecrets } from './config/secrets.js';
import { openDatabase, type DatabaseHandle } from './db/database.js';
import { FakeDriver } from './test-support/fake-driver.js';
import { createHarness, type Harness } from './test-support/harness.js';
import { quickEd25519 } from './test-support/ssh-keys.js';

type App = Awaited<ReturnType<typeof buildApp>>['app'];

/**
 * Two server processes on one PostgreSQL (issue 16's first step): a burst of launches and key
 * adds spread over both never takes more than the quota, because admissions are serialized in
 * the database (an advisory lock), not only in each process. PostgreSQL only: SQLite has one
 * server process per file.
 */
describe('admission across two server processes on one PostgreSQL', { skip: process.env.TWARGA_TEST_PG_URL ? false : 'needs TWARGA_TEST_PG_URL' }, () => {
  let h: Harness;
  let second: { app: App; database: DatabaseHandle };
  before(async () => {
    h = await createHarness('postgres', { maxVmsPerUser: 4, maxKeysPerUser: 3, maxAlertPoliciesPerUser: 3, maxChannelsPerUser: 2, sshPortRange: '25800-25899' });
    const database = await openDatabase({ url: h.db.url!, dataDir: h.db.dataDir });
    const built = await buildApp({ config: h.config, secrets: loadOrCreateSecrets(h.db.dataDir), database, clock: h.clock, logger: false, driver: new FakeDriver() });
    await built.app.ready();
    second = { app: built.app, database };
  });
  after(async () => {
    await second?.app.close();
    await second?.database.close();
    await h.close();
  });

  /** The same request, through either process. */
  const via = (app: App, token: string, method: 'GET' | 'POST', url: string, body?: object) =>
    app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(body ? { payload: body } : {}) });

  test('12 launches at once, half through each process, for a quota of 4 VMs: exactly 4 are admitted, the rest get 403 quota_exceeded', async () => {
    const alice = await h.user('alice');
    const launches = Array.from({ length: 12 }, (_, i) => via(i % 2 ? second.app : h.app, alice.token, 'POST', '/api/vms', { name: `burst-${i}`, image: 'tiny', size: 's-1vcpu-256mb' }));
    const answers = await Promise.all(launches);
    const admitted = answers.filter((r) => r.statusCode === 201);
    assert.equal(admitted.length, 4, answers.map((r) => `${r.statusCode} ${r.body.slice(0, 80)}`).join('\n'));
    for (const r of answers.filter((x) => x.statusCode !== 201)) {
      assert.equal(r.statusCode, 403, r.body);
      assert.equal(r.json().code, 'quota_exceeded');
    }
    assert.ok(admitted.some((r) => r.json().id) && new Set(answers.map((r) => r.statusCode)).size === 2);
    const listed = (await via(second.app, alice.token, 'GET', '/api/vms')).json() as unknown[];
    assert.equal(listed.length, 4, 'both processes see the same 4 VMs');
    await h.services.ops.idle();
  });

  test('24 key adds at once over both processes, for a quota of 3 keys: exactly 3 are stored', async () => {
    const bob = await h.user('bob');
    const adds = await Promise.all(Array.from({ length: 24 }, (_, i) => via(i % 2 ? second.app : h.app, bob.token, 'POST', '/api/account/keys', { name: `k${i}`, public_key: quickEd25519(`k${i}`) })));
    assert.equal(adds.filter((r) => r.statusCode === 201).length, 3, adds.map((r) => `${r.statusCode} ${r.body.slice(0, 80)}`).join('\n'));
    assert.equal(((await via(h.app, bob.token, 'GET', '/api/account/keys')).json() as unknown[]).length, 3);
  });

  test('alert policies and notification channels: bursts over both processes stop at the quota (three users, one burst each)', async () => {
    for (const name of ['carol', 'dave', 'erin']) {
      const u = await h.user(name);
      const burst = (url: string, body: (i: number) => object) => Promise.all(Array.from({ length: 40 }, (_, i) => via(i % 2 ? second.app : h.app, u.token, 'POST', url, body(i))));
      const policies = await burst('/api/alerts/policies', (i) => ({ entity: 'vm', metric: 'cpu_percent', compare: 'GreaterThan', value: 50 + i, window: '5m' }));
      assert.equal(policies.filter((r) => r.statusCode === 201).length, 3, `${name}: ${policies.map((r) => r.statusCode).join(' ')}`);
      const channels = await burst('/api/notifications/channels', (i) => ({ kind: 'email', name: `c${i}`, email: `c${i}@example.com` }));
      assert.equal(channels.filter((r) => r.statusCode === 201).length, 2, `${name}: ${channels.map((r) => r.statusCode).join(' ')}`);
    }
  });

  test("the admin's health lists both processes, healthy, exactly one leading; a process that stops cleanly leaves the list", async () => {
    const admin = await h.adminToken();
    type Component = { name: string; status: string; detail: string; facts: { id: string; leading: boolean; this_process: boolean } };
    const processes = async (app: App) => {
      const health = (await via(app, admin, 'GET', '/api/admin/health')).json() as { components: Component[] };
      return health.components.filter((c) => c.name.startsWith('process:'));
    };
    let seen: Component[] = [];
    for (const end = Date.now() + 10_000; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
      seen = await processes(second.app);
      if (seen.length === 2 && seen.filter((c) => c.facts.leading).length === 1) break;
    }
    assert.equal(seen.length, 2, JSON.stringify(seen));
    assert.deepEqual(seen.map((c) => c.status), ['healthy', 'healthy']);
    assert.equal(seen.filter((c) => c.facts.leading).length, 1, 'one leads');
    assert.equal(seen.filter((c) => c.facts.this_process).length, 1, 'the answering process marks itself');
    assert.match(seen.find((c) => c.facts.leading)!.detail, /leads the cluster's jobs/);
    // A third process joins and stops cleanly: it appears, then leaves the list.
    const database = await openDatabase({ url: h.db.url!, dataDir: h.db.dataDir });
    const third = await buildApp({ config: h.config, secrets: loadOrCreateSecrets(h.db.dataDir), database, clock: h.clock, logger: false, driver: new FakeDriver() });
    await third.app.ready();
    for (const end = Date.now() + 5_000; (await processes(h.app)).length < 3 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await processes(h.app)).length, 3, 'the third one is listed');
    await third.app.close();
    await database.close();
    assert.equal((await processes(h.app)).length, 2, 'it left the list when it stopped');
  });
});

/**
 * The cluster's periodic jobs (metering, collector, health watch) run in one process at a time;
 * when it goes, a standby takes them over at its next tick.
 */
describe('periodic jobs across two server processes on one PostgreSQL', { skip: process.env.TWARGA_TEST_PG_URL ? false : 'needs TWARGA_TEST_PG_URL' }, () => {
  test('one process leads the metering job, the other stands by; when the leader\'s database session dies, the standby runs it within a few ticks and the old leader stands by', async () => {
    const h = await createHarness('postgres');
    const database = await openDatabase({ url: h.db.url!, dataDir: h.db.dataDir });
    const other = await buildApp({ config: h.config, secrets: loadOrCreateSecrets(h.db.dataDir), database, clock: h.clock, logger: false, driver: new FakeDriver() });
    await other.app.ready();
    const jobs = [h.services.metering.job, other.services.metering.job];
    const until = async (what: string, ok: () => boolean, ms = 10_000) => {
      const end = Date.now() + ms;
      while (!ok()) {
        if (Date.now() > end) throw new Error(`timed out waiting for: ${what} (${JSON.stringify(jobs.map((j) => j.status()))})`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      for (const job of jobs) job.start(100);
      await until('one leader and one standby', () => jobs.filter((j) => j.status().lastRunAt).length === 1 && jobs.some((j) => j.status().standby));
      await new Promise((r) => setTimeout(r, 500));
      const [leader, standby] = jobs[0]!.status().lastRunAt ? [jobs[0]!, jobs[1]!] : [jobs[1]!, jobs[0]!];
      assert.equal(standby.status().lastRunAt, null, 'the standby never ran a pass while the other led');
      assert.equal(standby.status().standby, true);
      // The leader's database session dies (as when its process is killed): the lock goes with it.
      const holders = await sql<{ pid: number }>`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`.execute(h.db.handle.db);
      assert.equal(holders.rows.length, 1, 'one session holds the leader lock');
      const killed = Date.now();
      await sql`SELECT pg_terminate_backend(${holders.rows[0]!.pid})`.execute(h.db.handle.db);
      await until('the standby takes over', () => standby.status().lastRunAt !== null);
      assert.ok(Date.now() - killed < 5_000, `took over in ${Date.now() - killed} ms`);
      await until('the old leader stands by', () => leader.status().standby);
      const ranBefore = leader.status().lastRunAt;
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(leader.status().lastRunAt, ranBefore, 'the old leader runs no pass while the new one leads');
      assert.equal(standby.status().standby, false);
    } finally {
      for (const job of jobs) job.stop();
      await other.app.close().catch(() => {});
      await database.close();
      await h.close().catch(() => {});
    }
  });
});
