import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createHarness, type Harness } from '../../test-support/harness.js';
import { testDatabaseKinds } from '../../test-support/databases.js';

for (const kind of testDatabaseKinds()) {
  describe(`repeated security events fold into one row (${kind})`, () => {
    let h: Harness;
    let token: string;
    before(async () => {
      h = await createHarness(kind);
      token = (await h.user('prober')).token;
    });
    after(() => h.close());

    /** A plain user's call to an admin route: a 403 and an access.denied security event. */
    const deniedCall = (url: string, remoteAddress = '127.0.0.1') =>
      h.app.inject({ method: 'GET', url, remoteAddress, headers: { authorization: `Bearer ${token}` } });
    const denials = async () => (await h.services.events.list({ action: 'access.denied', limit: 1000 })).filter((e) => e.username === 'prober');

    test('the first 403 is written at once; 300 identical ones, concurrent, are one row with count 300', async () => {
      assert.equal((await deniedCall('/api/admin/users')).statusCode, 403);
      const [first] = await denials();
      assert.equal(first?.count, 1);
      assert.equal(first.last_seen, first.timestamp);

      const answers = await Promise.all(Array.from({ length: 299 }, () => deniedCall('/api/admin/users')));
      assert.ok(answers.every((r) => r.statusCode === 403));
      const rows = await denials();
      assert.equal(rows.length, 1, JSON.stringify(rows.map((r) => [r.id, r.count])));
      assert.equal(rows[0]!.id, first.id, 'counted on the first row');
      assert.equal(rows[0]!.count, 300);
      assert.equal(rows[0]!.source_ip, '127.0.0.1');
      assert.deepEqual(rows[0]!.details, { method: 'GET', path: '/api/admin/users', reason: 'admin_only' });
      assert.ok(rows[0]!.last_seen >= rows[0]!.timestamp);
    });

    test('another source address or another path is a row of its own', async () => {
      for (let i = 0; i < 5; i++) assert.equal((await deniedCall('/api/admin/users', '192.0.2.7')).statusCode, 403);
      assert.equal((await deniedCall('/api/admin/hosts')).statusCode, 403);
      const rows = await denials();
      const of = (ip: string, path: string) => rows.filter((r) => r.source_ip === ip && (r.details as { path: string }).path === path);
      assert.deepEqual(of('127.0.0.1', '/api/admin/users').map((r) => r.count), [300]);
      assert.deepEqual(of('192.0.2.7', '/api/admin/users').map((r) => r.count), [5]);
      assert.deepEqual(of('127.0.0.1', '/api/admin/hosts').map((r) => r.count), [1]);
      assert.equal(rows.length, 3);
    });

    test('after the one-minute window the same event starts a new row', async () => {
      h.clock.advanceMinutes(2);
      await deniedCall('/api/admin/users');
      await deniedCall('/api/admin/users');
      const rows = (await denials()).filter((r) => r.source_ip === '127.0.0.1' && (r.details as { path: string }).path === '/api/admin/users');
      assert.deepEqual(rows.map((r) => r.count), [2, 300], 'newest first');
      assert.ok(rows[0]!.timestamp > rows[1]!.last_seen);
    });

    test('other events are never folded: each is a row', async () => {
      for (let i = 0; i < 3; i++) await h.services.events.record({ type: 'auth', action: 'logout', message: 'same logout, three times', sourceIp: '127.0.0.1' });
      const rows = (await h.services.events.list({ action: 'logout' })).filter((r) => r.message === 'same logout, three times');
      assert.deepEqual(rows.map((r) => r.count), [1, 1, 1]);
    });
  });
}
