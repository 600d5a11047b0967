import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { createHarness, type Harness } from '../../test-support/harness.js';
import { UserChanges } from '../../lib/user-changes.js';
import { LedgerService } from '../billing/ledger.service.js';

for (const kind of testDatabaseKinds()) {
  describe(`admin user management (${kind})`, () => {
    let h: Harness;
    let admin: string;
    let bob: { id: number; token: string };
    before(async () => {
      h = await createHarness(kind);
      admin = await h.adminToken();
      bob = await h.user('bob');
    });
    after(() => h.close());

    const credits = (id: number, body: Record<string, unknown>) => h.request({ method: 'POST', url: `/api/admin/users/${id}/credits`, token: admin, body });

    test('admins see every user with role, status, credits and VM count', async () => {
      const users = (await h.request({ method: 'GET', url: '/api/admin/users', token: admin })).json();
      const row = users.find((u: { username: string }) => u.username === 'bob');
      assert.deepEqual({ ...row, created_at: undefined, last_login_at: typeof row!.last_login_at }, { id: bob.id, username: 'bob', email: 'bob@example.com', is_admin: false, is_active: true, credits: 1000, vm_count: 0, created_at: undefined, last_login_at: 'string', deleted_at: null, billing_state: 'ok' });
      assert.equal(users.find((u: { username: string }) => u.username === 'admin').is_admin, true);
    });

    test('a credit adjustment goes through the ledger with the admin as actor, and is audited', async () => {
      const res = await credits(bob.id, { amount: 250, reason: 'Monthly allocation' });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { user_id: bob.id, new_balance: 1250, adjustment: 250 });
      const ledger = (await h.request({ method: 'GET', url: '/api/account/ledger', token: bob.token })).json();
      assert.equal(ledger[0].amount, 250);
      assert.equal(ledger[0].reason, 'Monthly allocation');
      const me = (await h.request({ method: 'GET', url: '/api/auth/me', token: admin })).json();
      assert.equal(ledger[0].actor_id, me.id);
      const total = ledger.reduce((s: number, e: { amount: number }) => s + e.amount, 0);
      assert.equal(total, (await h.request({ method: 'GET', url: '/api/auth/me', token: bob.token })).json().credits, 'balance = sum of ledger');
      const audit = await h.services.events.list({ action: 'credits.adjusted' });
      assert.ok(audit.some((e) => e.type === 'admin' && e.username === 'admin'));
    });

    test('an adjustment that would make the balance negative is refused and changes nothing', async () => {
      const res = await credits(bob.id, { amount: -5000, reason: 'oops' });
      assert.equal(res.statusCode, 409);
      assert.equal((await h.request({ method: 'GET', url: '/api/auth/me', token: bob.token })).json().credits, 1250);
      const ledger = (await h.request({ method: 'GET', url: '/api/account/ledger', token: bob.token })).json();
      assert.ok(!ledger.some((e: { reason: string }) => e.reason === 'oops'), 'no half-written ledger row');
    });

    test('a negative balance can be topped up in part, and a debit cannot deepen it', async () => {
      const dave = await h.user('dave');
      // Hourly metering may take a balance below zero (allowNegative), as for a VM left running.
      const ledger = new LedgerService(h.db.handle.db, new UserChanges());
      await ledger.apply({ userId: dave.id, amount: -1002, reason: 'VM hours', actorId: null, now: new Date().toISOString() }, { allowNegative: true });

      const partial = await credits(dave.id, { amount: 1, reason: 'partial top-up' });
      assert.equal(partial.statusCode, 200, partial.body);
      assert.deepEqual(partial.json(), { user_id: dave.id, new_balance: -1, adjustment: 1 });
      assert.equal((await credits(dave.id, { amount: -1, reason: 'deeper' })).statusCode, 409, 'a debit below zero is still refused');
      assert.equal((await credits(dave.id, { amount: 5, reason: 'the rest' })).json().new_balance, 4);
      const rows = (await h.request({ method: 'GET', url: '/api/account/ledger', token: dave.token })).json();
      assert.deepEqual(rows.slice(0, 3).map((e: { amount: number; balance_after: number }) => [e.amount, e.balance_after]), [[5, 4], [1, -1], [-1002, -2]]);
    });

    test('bad adjustments and unknown users are clear 4xx', async () => {
      assert.equal((await credits(bob.id, { amount: 0, reason: 'zero' })).statusCode, 400);
      assert.equal((await credits(bob.id, { amount: 10 })).statusCode, 400);
      assert.equal((await credits(99999, { amount: 10, reason: 'ghost' })).statusCode, 404);
      assert.equal((await h.request({ method: 'PATCH', url: '/api/admin/users/99999', token: admin, body: { is_active: false } })).statusCode, 404);
      assert.equal((await h.request({ method: 'PATCH', url: `/api/admin/users/${bob.id}`, token: admin, body: {} })).statusCode, 400);
    });

    test('an admin cannot disable or demote themselves', async () => {
      const me = (await h.request({ method: 'GET', url: '/api/auth/me', token: admin })).json();
      for (const body of [{ is_admin: false }, { is_active: false }]) {
        const res = await h.request({ method: 'PATCH', url: `/api/admin/users/${me.id}`, token: admin, body });
        assert.equal(res.statusCode, 400, JSON.stringify(body));
        assert.equal(res.json().code, 'validation_failed');
        assert.equal(res.json().details[0].field, Object.keys(body)[0]);
      }
      // Nothing changed: still an active admin, still able to use the admin routes.
      const after = (await h.request({ method: 'GET', url: '/api/auth/me', token: admin })).json();
      assert.equal(after.is_admin, true);
      assert.equal(after.is_active, true);
      assert.equal((await h.request({ method: 'GET', url: '/api/admin/users', token: admin })).statusCode, 200);
    });

    test('each admin action notes its target and the state before and after in the audit log', async () => {
      const erin = await h.user('erin');
      const newest = async (action: string) => {
        const row = await h.db.handle.db.selectFrom('audit_log').selectAll().where('action', '=', action).orderBy('id', 'desc').executeTakeFirst();
        assert.ok(row, `an audit entry ${action}`);
        return { ...row, before: row.before && JSON.parse(row.before), after: row.after && JSON.parse(row.after) };
      };
      assert.equal((await credits(erin.id, { amount: 40, reason: 'audit me' })).statusCode, 200);
      const credit = await newest('user.credits_adjusted');
      assert.deepEqual([credit.target_type, credit.target_id, credit.target_label, credit.before, credit.after, credit.outcome], ['user', String(erin.id), 'erin', { balance: 1000 }, { balance: 1040 }, 'succeeded']);

      await h.request({ method: 'PATCH', url: `/api/admin/users/${erin.id}`, token: admin, body: { is_active: false } });
      const patch = await newest('user.updated');
      assert.deepEqual([patch.before, patch.after], [{ is_active: true, is_admin: false }, { is_active: false, is_admin: false }]);

      await h.request({ method: 'PATCH', url: `/api/admin/users/${erin.id}/quota`, token: admin, body: { max_vms: 7 } });
      const quota = await newest('user.quota_changed');
      assert.equal(quota.before.max_vms, null);
      assert.equal(quota.after.max_vms, 7);

      await h.request({ method: 'POST', url: '/api/admin/users/bulk', token: admin, body: { ids: [erin.id, bob.id], action: 'credit', amount: 3, reason: 'bulk audit' } });
      const bulk = await newest('users.bulk_credit');
      const bobNow = (await h.request({ method: 'GET', url: '/api/auth/me', token: bob.token })).json().credits;
      assert.deepEqual(bulk.before, [{ id: bob.id, is_active: true, balance: bobNow - 3 }, { id: erin.id, is_active: false, balance: 1040 }]);
      assert.deepEqual(bulk.after, [{ id: bob.id, is_active: true, balance: bobNow }, { id: erin.id, is_active: false, balance: 1043 }]);

      // A refused action is noted too, with its target.
      const me = (await h.request({ method: 'GET', url: '/api/auth/me', token: admin })).json();
      assert.equal((await h.request({ method: 'DELETE', url: `/api/admin/users/${me.id}`, token: admin })).statusCode, 409);
      const refused = await newest('user.deleted');
      assert.deepEqual([refused.target_id, refused.outcome, refused.status_code], [String(me.id), 'failed', 409]);
    });

    test('promoting a user gives them the admin routes', async () => {
      const carol = await h.user('carol');
      assert.equal((await h.request({ method: 'GET', url: '/api/admin/users', token: carol.token })).statusCode, 403);
      await h.request({ method: 'PATCH', url: `/api/admin/users/${carol.id}`, token: admin, body: { is_admin: true } });
      assert.equal((await h.request({ method: 'GET', url: '/api/admin/users', token: carol.token })).statusCode, 200);
    });
  });
}
