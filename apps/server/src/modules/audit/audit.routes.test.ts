import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { sql } from 'kysely';
import type { AuditEntry } from '@twarga/contract';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { createHarness, type Harness } from '../../test-support/harness.js';
import { AUDIT_CSV_COLUMNS } from './audit.service.js';

for (const kind of testDatabaseKinds()) {
  describe(`audit log of admin actions (${kind})`, () => {
    let h: Harness;
    let admin: string;
    let adminId: number;
    let bob: { id: number; token: string };
    before(async () => {
      h = await createHarness(kind);
      admin = await h.adminToken();
      adminId = (await h.request({ method: 'GET', url: '/api/auth/me', token: admin })).json().id;
      bob = await h.user('bob');
    });
    after(() => h.close());

    const page = async (query = '') => {
      const res = await h.request({ method: 'GET', url: `/api/admin/audit${query}`, token: admin });
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as { entries: AuditEntry[]; next_cursor: number | null };
    };
    const newest = async () => (await page('?limit=1')).entries[0];
    const credit = (id: number, body: unknown, token = admin) => h.request({ method: 'POST', url: `/api/admin/users/${id}/credits`, token, body });

    test('an admin action leaves one entry: actor, action, target, request, outcome, source address and request id', async () => {
      const before = (await newest())?.id ?? 0;
      const res = await credit(bob.id, { amount: 250, reason: 'monthly allocation' });
      assert.equal(res.statusCode, 200, res.body);
      const { entries } = await page();
      const mine = entries.filter((e) => e.id > before);
      assert.equal(mine.length, 1, JSON.stringify(mine));
      const e = mine[0]!;
      assert.equal(e.actor_id, adminId);
      assert.equal(e.actor_username, 'admin');
      assert.equal(e.method, 'POST');
      assert.equal(e.path, `/api/admin/users/${bob.id}/credits`);
      assert.ok(e.action.length > 0);
      assert.equal(e.target_type, 'user');
      assert.equal(e.target_id, String(bob.id));
      assert.deepEqual((e.details as { request: unknown }).request, { amount: 250, reason: 'monthly allocation' });
      assert.equal(e.outcome, 'succeeded');
      assert.equal(e.status_code, 200);
      assert.equal(e.source_ip, '127.0.0.1');
      assert.equal(e.request_id, res.headers['x-request-id']);
      assert.ok(Math.abs(Date.parse(e.created_at) - h.clock.now().getTime()) < 60_000);
    });

    test('failed attempts are entries too: a validation error (400), a missing user (404), a refused debit (409)', async () => {
      const before = (await newest())!.id;
      assert.equal((await credit(bob.id, { amount: 'lots' })).statusCode, 400);
      assert.equal((await credit(999_999, { amount: 5, reason: 'nobody' })).statusCode, 404);
      assert.equal((await credit(bob.id, { amount: -1_000_000, reason: 'too much' })).statusCode, 409);
      const mine = (await page()).entries.filter((e) => e.id > before).reverse();
      assert.deepEqual(mine.map((e) => [e.outcome, e.status_code, e.path]), [
        ['failed', 400, `/api/admin/users/${bob.id}/credits`],
        ['failed', 404, '/api/admin/users/999999/credits'],
        ['failed', 409, `/api/admin/users/${bob.id}/credits`],
      ]);
      assert.equal((mine[1]!.details as { error: { code: string } }).error.code, 'not_found');
      assert.equal(mine[1]!.target_id, '999999');
    });

    test('reads, a plain user\'s refused attempt and requests to user routes leave no entry', async () => {
      const before = (await newest())!.id;
      await h.request({ method: 'GET', url: '/api/admin/users', token: admin });
      assert.equal((await credit(bob.id, { amount: 5, reason: 'self-service' }, bob.token)).statusCode, 403);
      assert.equal((await h.request({ method: 'POST', url: '/api/account/tokens', token: admin, body: { name: 'mine', scope: 'read' } })).statusCode, 201);
      assert.equal((await page()).entries.filter((e) => e.id > before).length, 0);
    });

    test('a route that notes its action records the code, the target by name, and the state before and after', async () => {
      const host = (await h.request({ method: 'GET', url: '/api/admin/hosts', token: admin })).json()[0] as { id: number; name: string; draining: boolean };
      assert.equal(host.draining, false);
      const res = await h.request({ method: 'PATCH', url: `/api/admin/hosts/${host.id}`, token: admin, body: { draining: true } });
      assert.equal(res.statusCode, 200, res.body);
      const [e] = (await page('?action=host.updated')).entries;
      assert.deepEqual([e!.target_type, e!.target_id, e!.target_label], ['host', String(host.id), host.name]);
      assert.equal((e!.before as { draining: boolean }).draining, false);
      assert.equal((e!.after as { draining: boolean }).draining, true);
      assert.equal((await h.request({ method: 'PATCH', url: `/api/admin/hosts/${host.id}`, token: admin, body: { draining: false } })).statusCode, 200);
    });

    test("a user route marked for audit: an admin lifting a user's block is an entry, the user lifting their own is not", async () => {
      const vmId = await h.vm(bob, 'bob-vm');
      const block = async (address: string) => (await h.request({ method: 'POST', url: '/api/soc/blocks', token: bob.token, body: { address, scope: 'vm', vm_id: vmId } })).json().id as number;
      const before = (await newest())!.id;
      const mine = await block('198.51.100.21');
      assert.equal((await h.request({ method: 'DELETE', url: `/api/soc/blocks/${mine}`, token: bob.token })).statusCode, 204);
      assert.equal((await page()).entries.filter((e) => e.id > before).length, 0, 'a user acting on their own objects is not an admin action');
      const theirs = await block('198.51.100.22');
      assert.equal((await h.request({ method: 'DELETE', url: `/api/soc/blocks/${theirs}`, token: admin })).statusCode, 204);
      const entries = (await page()).entries.filter((e) => e.id > before);
      assert.deepEqual(entries.map((e) => [e.action, e.target_type, e.target_id, e.actor_username]), [['soc.block_lifted', 'block', String(theirs), 'admin']]);
    });

    test('secrets never reach the log: password, secret and token values are redacted at any depth', async () => {
      const before = (await newest())!.id;
      const res = await h.request({
        method: 'POST', url: '/api/admin/hosts', token: admin,
        body: { name: 'leaky', driver: 'libvirt', uri: 'qemu+ssh://root@203.0.113.9/system', password: 'hunter2-pw', nested: { webhook_secret: 'whsec-123', items: [{ api_token: 'tok-456' }] } },
      });
      assert.equal(res.statusCode, 400, res.body);
      const [e] = (await page()).entries.filter((x) => x.id > before);
      const text = JSON.stringify(e);
      for (const secret of ['hunter2-pw', 'whsec-123', 'tok-456']) assert.ok(!text.includes(secret), `"${secret}" in ${text}`);
      const request = (e!.details as { request: Record<string, unknown> }).request;
      assert.equal(request.password, '[redacted]');
      assert.deepEqual(request.nested, { webhook_secret: '[redacted]', items: [{ api_token: '[redacted]' }] });
      assert.equal(request.name, 'leaky', 'the rest stays');
      const csv = await h.request({ method: 'GET', url: '/api/admin/audit/export?format=csv', token: admin });
      for (const secret of ['hunter2-pw', 'whsec-123', 'tok-456']) assert.ok(!csv.body.includes(secret));
    });

    test('filters (actor, action, target, outcome, time, text) and the cursor walk every entry once, newest first', async () => {
      const carol = await h.user('carol');
      for (let i = 0; i < 5; i++) assert.equal((await credit(carol.id, { amount: 10 + i, reason: `carol top-up ${i}` })).statusCode, 200);
      assert.equal((await credit(carol.id, { amount: -999_999, reason: 'carol overdraw' })).statusCode, 409);
      const forCarol = (await page(`?target_type=user&target_id=${carol.id}`)).entries;
      assert.equal(forCarol.length, 6);
      assert.ok(forCarol.every((e) => e.target_id === String(carol.id)));
      assert.deepEqual((await page(`?target_id=${carol.id}&outcome=failed`)).entries.map((e) => e.status_code), [409]);
      assert.equal((await page(`?target_id=${carol.id}&outcome=succeeded`)).entries.length, 5);
      assert.equal((await page(`?actor_id=${adminId}&target_id=${carol.id}`)).entries.length, 6);
      assert.equal((await page(`?actor_id=${bob.id}`)).entries.length, 0);
      const action = forCarol[0]!.action;
      assert.ok((await page(`?action=${encodeURIComponent(action)}`)).entries.every((e) => e.action === action));
      assert.equal((await page(`?q=${encodeURIComponent(`/users/${carol.id}/`)}`)).entries.length, 6, 'q matches the path');
      assert.equal((await page('?q=%25')).entries.length, 0, 'a % in q is a literal character, not a wildcard');
      const future = new Date(h.clock.now().getTime() + 3600_000).toISOString();
      assert.equal((await page(`?since=${encodeURIComponent(future)}`)).entries.length, 0);
      assert.equal((await page(`?until=${encodeURIComponent(future)}&target_id=${carol.id}`)).entries.length, 6);
      assert.equal((await h.request({ method: 'GET', url: '/api/admin/audit?outcome=maybe', token: admin })).statusCode, 400);

      // The cursor: pages of 2 over carol's 6 entries, each once, newest first, then null.
      const seen: number[] = [];
      let cursor: number | null | undefined;
      do {
        const p = await page(`?target_id=${carol.id}&limit=2${cursor ? `&before_id=${cursor}` : ''}`);
        assert.ok(p.entries.length <= 2);
        seen.push(...p.entries.map((e) => e.id));
        cursor = p.next_cursor;
      } while (cursor);
      assert.deepEqual(seen, forCarol.map((e) => e.id));
      assert.deepEqual([...seen].sort((a, b) => b - a), seen, 'newest first');
    });

    test('the export: CSV with a header and quoting (commas, quotes, line breaks), JSON oldest first, as an attachment', async () => {
      const dave = await h.user('dave');
      const reason = 'says "hi", then\nleaves';
      assert.equal((await credit(dave.id, { amount: 7, reason })).statusCode, 200);
      assert.equal((await credit(dave.id, { amount: 8, reason: 'second' })).statusCode, 200);
      const csv = await h.request({ method: 'GET', url: `/api/admin/audit/export?format=csv&target_id=${dave.id}`, token: admin });
      assert.equal(csv.statusCode, 200);
      assert.match(String(csv.headers['content-type']), /^text\/csv/);
      assert.match(String(csv.headers['content-disposition']), /^attachment; filename="twarga-audit-\d{8}T\d{6}Z\.csv"$/);
      assert.equal(csv.body.split('\n')[0], AUDIT_CSV_COLUMNS.join(','));
      const rows = parse(csv.body, { columns: true }) as Record<string, string>[];
      assert.equal(rows.length, 2);
      assert.ok(Number(rows[0]!.id) < Number(rows[1]!.id), 'oldest first');
      assert.deepEqual(JSON.parse(rows[0]!.details!).request, { amount: 7, reason }, 'quotes, comma and line break survive the round trip');
      assert.equal(rows[0]!.outcome, 'succeeded');
      assert.equal(rows[0]!.actor_username, 'admin');
      const json = await h.request({ method: 'GET', url: `/api/admin/audit/export?format=json&target_id=${dave.id}`, token: admin });
      assert.match(String(json.headers['content-disposition']), /\.json"$/);
      const entries = json.json() as AuditEntry[];
      assert.deepEqual(entries.map((e) => e.id), rows.map((r) => Number(r.id)));
      assert.equal(entries[1]!.status_code, 200);
      assert.equal((await h.request({ method: 'GET', url: '/api/admin/audit/export?format=xml', token: admin })).statusCode, 400);
      assert.equal((await h.request({ method: 'GET', url: '/api/admin/audit/export', token: bob.token })).statusCode, 403);
      assert.equal((await h.request({ method: 'GET', url: '/api/admin/audit', token: bob.token })).statusCode, 403);
    });

    test('when the audit entry cannot be written, the done action still answers (and is not repeated)', async () => {
      const erin = await h.user('erin');
      await sql`alter table audit_log rename to audit_log_away`.execute(h.db.handle.db);
      try {
        const res = await credit(erin.id, { amount: 300, reason: 'while the audit log is away' });
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.json().new_balance, 1300);
      } finally {
        await sql`alter table audit_log_away rename to audit_log`.execute(h.db.handle.db);
      }
      const me = (await h.request({ method: 'GET', url: '/api/auth/me', token: erin.token })).json();
      assert.equal(me.credits, 1300, 'credited once');
    });
  });
}
