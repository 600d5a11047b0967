import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Event } from '@twarga/contract';
import type { FastifyBaseLogger } from 'fastify';
import { systemClock } from '../../lib/time.js';
import { LiveBus } from '../../operations/live-bus.js';
import { createTestDatabase, testDatabaseKinds, type TestDatabase } from '../../test-support/databases.js';
import { EventLog, RECORD_MANY_CHUNK } from './event-log.js';
import { EventsRepository, type NewEvent } from './events.repository.js';

const quiet = { warn() {}, info() {}, error() {}, debug() {}, child: () => quiet } as unknown as FastifyBaseLogger;

const failed = (port: number, vmId = 1): NewEvent => ({
  type: 'security',
  severity: 'warning',
  action: 'ssh.login_failed',
  message: `Failed SSH login as 'root' on VM ${vmId}`,
  userId: 4,
  vmId,
  sourceIp: '203.0.113.9',
  details: { user: 'root', client_port: port },
});

for (const kind of testDatabaseKinds()) {
  describe(`EventLog.recordMany: batches of events in one INSERT each (${kind})`, () => {
    let db: TestDatabase;
    let repo: EventsRepository;
    let log: EventLog;
    const published: Event[] = [];
    before(async () => {
      db = await createTestDatabase(kind);
      repo = new EventsRepository(db.handle.db);
      log = new EventLog(repo, systemClock, quiet, new LiveBus());
      log.subscribe((e) => published.push(e));
    });
    after(() => db.cleanup());

    test('more than one chunk: every event stored once, in order, and published as stored', async () => {
      published.length = 0;
      const n = RECORD_MANY_CHUNK + 234;
      await log.recordMany(Array.from({ length: n }, (_, i) => failed(10_000 + i)));
      const rows = (await repo.list({ action: 'ssh.login_failed', limit: 10_000 })).reverse();
      assert.equal(rows.length, n);
      assert.deepEqual(rows.map((r) => r.details.client_port), Array.from({ length: n }, (_, i) => 10_000 + i), 'ids follow the order given');
      assert.equal(published.length, n);
      // What was published is what the database holds (ids included).
      assert.deepEqual(published.map((e) => [e.id, e.details.client_port, e.vm_id, e.user_id, e.count]), rows.map((r) => [r.id, r.details.client_port, r.vm_id, r.user_id, 1]));
    });

    test('identical security events in one batch fold into one row; other types never fold', async () => {
      published.length = 0;
      const system: NewEvent = { type: 'system', action: 'syslog.dropped', message: 'dropped 3', vmId: 2 };
      await log.recordMany([failed(1, 2), failed(1, 2), failed(1, 2), failed(2, 2), system, system]);
      const mine = (await repo.list({ limit: 10_000 })).filter((r) => r.vm_id === 2);
      const byPort = (p: number) => mine.filter((r) => r.action === 'ssh.login_failed' && r.details.client_port === p);
      assert.deepEqual(byPort(1).map((r) => r.count), [3]);
      assert.deepEqual(byPort(2).map((r) => r.count), [1]);
      assert.equal(mine.filter((r) => r.action === 'syslog.dropped').length, 2);
      assert.equal(published.length, 4);
    });

    test('record() keeps folding repeats as before', async () => {
      await log.record(failed(5, 3));
      await log.record(failed(5, 3));
      const rows = (await repo.list({ limit: 10_000 })).filter((r) => r.vm_id === 3);
      assert.deepEqual(rows.map((r) => r.count), [2]);
    });
  });
}
