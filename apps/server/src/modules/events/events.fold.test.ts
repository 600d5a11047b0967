import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyBaseLogger } from 'fastify';
import { sql } from 'kysely';
import { TestClock } from '../../test-support/harness.js';
import { LiveBus } from '../../operations/live-bus.js';
import { createTestDatabase, testDatabaseKinds, type TestDatabase } from '../../test-support/databases.js';
import { EventLog } from './event-log.js';
import { EventsRepository, type NewEvent } from './events.repository.js';

const quiet = { warn() {}, info() {}, error() {}, debug() {}, child: () => quiet } as unknown as FastifyBaseLogger;

/**
 * Folding finds "the identical event of the last minute" through fold_key (migration 016): every
 * field that makes two events identical is in the key, and the lookup is one index probe however
 * many other events of the same action the minute holds.
 */
for (const kind of testDatabaseKinds()) {
  describe(`security events fold by fold_key (${kind})`, () => {
    let db: TestDatabase;
    let repo: EventsRepository;
    let log: EventLog;
    const clock = new TestClock();
    before(async () => {
      db = await createTestDatabase(kind);
      repo = new EventsRepository(db.handle.db);
      log = new EventLog(repo, clock, quiet, new LiveBus());
    });
    after(() => db.cleanup());

    const base: NewEvent = {
      type: 'security', severity: 'warning', action: 'access.denied', message: 'GET /api/admin/users refused',
      userId: 7, username: 'mallory', vmId: 3, sourceIp: '192.0.2.44', details: { path: '/api/admin/users', reason: 'admin_only' },
    };
    const rows = async () => (await repo.list({ action: 'access.denied', limit: 1000 })).filter((e) => e.message.startsWith('GET /api/admin/users'));

    test('identical events fold; an event differing in any one field is a row of its own', async () => {
      for (let i = 0; i < 3; i++) await log.record(base);
      const variants: NewEvent[] = [
        { ...base, severity: 'critical' },
        { ...base, message: 'GET /api/admin/users refused again' },
        { ...base, userId: 8 },
        { ...base, userId: null },
        { ...base, username: 'eve' },
        { ...base, vmId: 4 },
        { ...base, vmId: null },
        { ...base, sourceIp: '192.0.2.45' },
        { ...base, details: { path: '/api/admin/users', reason: 'other' } },
        { ...base, details: { path: '/api/admin/users' } },
      ];
      for (const v of variants) {
        await log.record(v);
        await log.record(v);
      }
      const all = await rows();
      assert.equal(all.length, 1 + variants.length, 'the base and each variant: one row each');
      const counts = all.map((e) => e.count).sort();
      assert.deepEqual(counts, [...Array(variants.length).fill(2), 3], 'each folded its own repeats only');
      assert.ok(all.every((e) => !('fold_key' in e)), 'fold_key is internal: reads do not return it');
    });

    test('among thousands of other same-action events of the minute, the identical one is found and folded', async () => {
      const others = Array.from({ length: 3000 }, (_, i): NewEvent => ({ ...base, message: `GET /api/admin/x${i} refused`, details: { path: `/api/admin/x${i}` } }));
      await log.recordMany(others);
      const target = others[1234]!;
      await log.record(target);
      const [row] = (await repo.list({ action: 'access.denied', limit: 5000 })).filter((e) => e.message === target.message);
      assert.equal(row?.count, 2, 'the repeat folded into the row recordMany wrote');
      clock.advanceMinutes(2);
      await log.record(target);
      const again = (await repo.list({ action: 'access.denied', limit: 5000 })).filter((e) => e.message === target.message);
      assert.deepEqual(again.map((e) => e.count), [1, 2], 'after the minute: a row of its own');
    });

    test('the lookup is an index probe on (fold_key, timestamp), not a scan of the minute', async () => {
      const q = repo.foldLookup(repo.foldKey(base)!, new Date(clock.now().getTime() - 60_000).toISOString()).compile();
      let plan: string;
      if (kind === 'sqlite') {
        // No ANALYZE statistics, thousands of same-action rows: the planner must still take the fold index.
        const res = await db.handle.db.executeQuery<{ detail: string }>({ ...q, sql: `EXPLAIN QUERY PLAN ${q.sql}` });
        plan = res.rows.map((r) => r.detail).join('\n');
      } else {
        await sql`ANALYZE events`.execute(db.handle.db);
        const res = await db.handle.db.executeQuery<{ 'QUERY PLAN': string }>({ ...q, sql: `EXPLAIN ${q.sql}` });
        plan = res.rows.map((r) => r['QUERY PLAN']).join('\n');
      }
      assert.match(plan, /idx_events_fold/, plan);
      assert.equal(repo.foldKey({ ...base, type: 'auth' }), null, 'other events are never folded: no key, not in the index');
    });
  });
}
