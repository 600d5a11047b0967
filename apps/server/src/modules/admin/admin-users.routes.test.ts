import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, PASSWORD, type Harness } from '../../test-support/harness.js';

/** The admin's user operations: search and paging, detail, quota overrides, deletion, bulk changes. */
for (const kind of testDatabaseKinds()) {
  describe(`admin users (${kind})`, () => {
    let h: Harness;
    let admin: string;
    let adminId: number;
    let driver: FakeDriver;
    before(async () => {
      driver = new FakeDriver();
      h = await createHarness(kind, { maxVmsPerUser: 2, sshPortRange: '27450-27499' }, driver);
      admin = await h.adminToken();
      adminId = (await h.request({ method: 'GET', url: '/api/auth/me', token: admin })).json().id;
    });
    after(() => h.close());

    const get = (url: string, token = admin) => h.request({ method: 'GET', url, token });
    const send = (method: 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown, token = admin) => h.request({ method, url, token, body });
    const me = async (token: string) => (await get('/api/auth/me', token)).json();
    const list = async (query: string) => {
      const res = await get(`/api/admin/users?${query}`);
      assert.equal(res.statusCode, 200, res.body);
      return { names: (res.json() as { username: string }[]).map((u) => u.username), total: Number(res.headers['x-total-count']), rows: res.json() };
    };
    const ledgerRows = async (id: number) => (await get(`/api/admin/users/${id}/ledger?limit=1000`)).json() as { amount: number; reason: string }[];

    test('search is a case-insensitive substring of username or e-mail, wildcards are literal, and the total comes in X-Total-Count', async () => {
      for (const name of ['searchamy', 'searchbert', 'searchcleo']) await h.user(name);
      assert.deepEqual((await list('q=SEARCHB')).names, ['searchbert']);
      assert.deepEqual((await list('q=Bert@EXAMPLE')).names, ['searchbert'], 'the e-mail matches too');
      const all = await list('q=search&sort=username&order=desc');
      assert.deepEqual(all.names, ['searchcleo', 'searchbert', 'searchamy']);
      assert.equal(all.total, 3);
      assert.deepEqual((await list('q=search%25')).names, [], '% is not a wildcard');
      assert.deepEqual((await list('q=search_my')).names, [], '_ is not a wildcard');
    });

    test('sort and paging: pages never overlap, and together they are the whole sorted list', async () => {
      const sorted = await list('q=search&sort=username&order=asc&limit=1000');
      const pages = [];
      for (let offset = 0; offset < 3; offset += 2) pages.push(...(await list(`q=search&sort=username&order=asc&limit=2&offset=${offset}`)).names);
      assert.deepEqual(pages, sorted.names);
      assert.equal((await list('q=search&limit=2&offset=2')).total, 3, 'the total ignores the page');
      // Credits: give one user more and sort by credits, highest first.
      const bert = sorted.rows.find((u: { username: string }) => u.username === 'searchbert');
      await send('POST', `/api/admin/users/${bert.id}/credits`, { amount: 5, reason: 'sort test' });
      assert.equal((await list('q=search&sort=credits&order=desc')).names[0], 'searchbert');
    });

    test('last login is shown, and accounts that never signed in sort last in both directions', async () => {
      const reg = await h.request({ method: 'POST', url: '/api/auth/register', body: { username: 'searchnever', email: 'searchnever@example.com', password: PASSWORD } });
      assert.equal(reg.statusCode, 201);
      for (const order of ['asc', 'desc']) {
        const { rows } = await list(`q=search&sort=last_login_at&order=${order}`);
        assert.equal(rows.at(-1).username, 'searchnever', order);
        assert.equal(rows.at(-1).last_login_at, null);
        assert.ok(rows.slice(0, -1).every((u: { last_login_at: string | null }) => typeof u.last_login_at === 'string'));
      }
    });

    test('status filters; bad query parameters are clear 400s', async () => {
      const off = await h.user('statusoff');
      await send('PATCH', `/api/admin/users/${off.id}`, { is_active: false });
      assert.deepEqual((await list('q=status&status=inactive')).names, ['statusoff']);
      assert.deepEqual((await list('q=status&status=active')).names, []);
      assert.deepEqual((await list('status=admin')).names, ['admin']);
      for (const bad of ['sort=password', 'status=gone', 'limit=0', 'limit=5000', 'offset=-1', 'extra=1']) {
        const res = await get(`/api/admin/users?${bad}`);
        assert.equal(res.statusCode, 400, bad);
        assert.equal(res.json().code, 'validation_failed');
        assert.ok(res.json().request_id);
      }
    });

    test("a user's detail: VMs, ledger, events, quota and billing; their ledger pages with a cursor", async () => {
      const dora = await h.user('dora');
      const vmId = await h.vm(dora, 'dora-1');
      const res = await get(`/api/admin/users/${dora.id}`);
      assert.equal(res.statusCode, 200, res.body);
      const d = res.json();
      assert.equal(d.user.username, 'dora');
      assert.equal(d.user.vm_count, 1);
      assert.deepEqual(d.vms.map((v: { id: number; owner_username: string; status: string }) => [v.id, v.owner_username, v.status]), [[vmId, 'dora', 'running']]);
      assert.ok(d.vms[0].host_name, 'the host by name');
      assert.ok(d.ledger.some((e: { reason: string }) => /first hour/.test(e.reason)));
      assert.ok(d.events.some((e: { action: string }) => e.action === 'vm.create_requested'));
      assert.ok(d.events.every((e: { user_id: number }) => e.user_id === dora.id));
      assert.deepEqual(d.quota.overrides, { max_vms: null, max_ram_mb: null, max_vcpus: null, max_disk_gb: null, max_snapshots: null });
      assert.equal(d.quota.usage.snapshots, 0);
      assert.equal(d.quota.effective.max_vms, 2);
      assert.equal(d.quota.usage.vms, 1);
      assert.equal(d.quota.usage.ram_mb, 1024);
      assert.equal(d.billing.balance, (await me(dora.token)).credits);
      assert.equal(d.billing.state, 'ok');
      assert.equal(d.billing.burn_rate_hourly, d.vms[0].price_hourly, "billing's burn rate: the one running VM");

      // Ledger paging: newest first, the cursor continues where the page ended.
      const full = await ledgerRows(dora.id);
      assert.ok(full.length >= 3, JSON.stringify(full));
      const first = await get(`/api/admin/users/${dora.id}/ledger?limit=2`);
      assert.equal(first.json().length, 2);
      const cursor = first.headers['x-next-cursor'];
      assert.ok(cursor);
      const second = (await get(`/api/admin/users/${dora.id}/ledger?limit=2&before_id=${cursor}`)).json();
      assert.deepEqual([...first.json(), ...second].map((e: { id: number }) => e.id), full.slice(0, 2 + second.length).map((e) => (e as unknown as { id: number }).id));

      const credits = (await get(`/api/admin/users/${dora.id}/ledger?kind=credit`)).json();
      assert.ok(credits.length > 0 && credits.every((e: { amount: number }) => e.amount > 0), 'the same filters as the user ledger');
      assert.equal((await get(`/api/admin/users/${dora.id}/ledger?kind=bogus`)).statusCode, 400);

      assert.equal((await get('/api/admin/users/99999')).statusCode, 404);
      assert.equal((await get('/api/admin/users/99999/ledger')).statusCode, 404);
      assert.equal((await get(`/api/admin/users/${dora.id}`, dora.token)).statusCode, 403, 'not for a plain user');
    });

    test('quota overrides let a user exceed the server limit or cap them below it; null clears', async () => {
      const quinn = await h.user('quinn');
      await h.vm(quinn, 'q-1');
      await h.vm(quinn, 'q-2');
      const third = () => h.request({ method: 'POST', url: '/api/vms', token: quinn.token, body: { name: `q-${Date.now()}`, image: 'tiny', size: 's-1vcpu-512mb' } });
      const refused = await third();
      assert.equal(refused.statusCode, 403, 'the server-wide limit is 2');
      assert.equal(refused.json().code, 'quota_exceeded');

      const raised = await send('PATCH', `/api/admin/users/${quinn.id}/quota`, { max_vms: 3 });
      assert.equal(raised.statusCode, 200, raised.body);
      assert.deepEqual(raised.json().overrides, { max_vms: 3, max_ram_mb: null, max_vcpus: null, max_disk_gb: null, max_snapshots: null });
      assert.equal(raised.json().effective.max_vms, 3);
      assert.equal(raised.json().usage.vms, 2);
      assert.equal((await third()).statusCode, 201, 'the override lets them exceed the server limit');
      await h.services.ops.idle();

      const capped = await send('PATCH', `/api/admin/users/${quinn.id}/quota`, { max_vms: null, max_vcpus: 1 });
      assert.equal(capped.json().effective.max_vms, 2, 'null clears back to the server limit');
      assert.equal(capped.json().effective.max_vcpus, 1);
      const other = await h.user('quota-other');
      await send('PATCH', `/api/admin/users/${other.id}/quota`, { max_vcpus: 0 });
      await send('POST', `/api/admin/users/${other.id}/credits`, { amount: 1000, reason: 'test' });
      const below = await h.request({ method: 'POST', url: '/api/vms', token: other.token, body: { name: 'capped', image: 'tiny' } });
      assert.equal(below.statusCode, 403, 'an override below the server limit caps them');
      assert.match(below.json().message, /at most 0 vCPUs/);

      const events = await h.services.events.list({ action: 'user.quota_changed' });
      assert.ok(events.some((e) => (e.details as { target_user_id: number }).target_user_id === quinn.id));
      for (const body of [{}, { max_vms: -1 }, { max_vms: 1.5 }, { max_vms: 'many' }, { cpu: 3 }, { max_snapshots: -1 }, { max_snapshots: 10_001 }]) {
        const res = await send('PATCH', `/api/admin/users/${quinn.id}/quota`, body);
        assert.equal(res.statusCode, 400, JSON.stringify(body));
        assert.equal(res.json().code, 'validation_failed');
      }
      assert.equal((await send('PATCH', '/api/admin/users/99999/quota', { max_vms: 1 })).statusCode, 404);
    });

    test('deleting a user destroys their VMs first, revokes their access, refuses their login and keeps their history', async () => {
      const zed = await h.user('zed');
      const vmId = await h.vm(zed, 'zed-1');
      const token = (await send('POST', '/api/account/tokens', { name: 'cli', scope: 'read-write' }, zed.token)).json().token;
      assert.equal((await get('/api/vms', token)).statusCode, 200);
      const res = await send('DELETE', `/api/admin/users/${zed.id}`);
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      assert.equal(body.user_id, zed.id);
      assert.deepEqual(body.destroying.map((d: { vm_id: number }) => d.vm_id), [vmId]);
      await h.services.ops.idle();

      assert.equal((await get('/api/vms', zed.token)).statusCode, 401, 'the session is gone');
      assert.equal((await get('/api/vms', token)).statusCode, 401, 'the API token is gone');
      const login = await h.request({ method: 'POST', url: '/api/auth/login', body: { username: 'zed', password: PASSWORD } });
      assert.equal(login.statusCode, 403, 'a deleted user cannot sign in');

      assert.ok(!(await list('q=zed')).names.includes('zed'), 'hidden by default');
      const deleted = await list('q=zed&status=deleted');
      assert.deepEqual(deleted.names, ['zed']);
      assert.equal(deleted.rows[0].is_active, false);
      assert.equal(deleted.rows[0].deleted_at, body.deleted_at);

      // History: the VM row (destroyed), the ledger and the events stay.
      const detail = (await get(`/api/admin/users/${zed.id}`)).json();
      assert.deepEqual(detail.vms.map((v: { id: number; status: string }) => [v.id, v.status]), [[vmId, 'destroyed']]);
      assert.ok(detail.ledger.some((e: { reason: string }) => /first hour/.test(e.reason)));
      assert.ok(detail.events.some((e: { action: string }) => e.action === 'vm.create_requested'));
      assert.ok((await h.services.events.list({ action: 'user.deleted' })).some((e) => (e.details as { target_user_id: number }).target_user_id === zed.id));

      // Closed for good: not deleted twice, not reactivated, not credited.
      assert.equal((await send('DELETE', `/api/admin/users/${zed.id}`)).statusCode, 409);
      assert.equal((await send('PATCH', `/api/admin/users/${zed.id}`, { is_active: true })).statusCode, 409);
      assert.equal((await send('POST', `/api/admin/users/${zed.id}/credits`, { amount: 5, reason: 'x' })).statusCode, 409);
      assert.equal((await send('POST', '/api/admin/users/bulk', { ids: [zed.id], action: 'activate' })).statusCode, 409);
    });

    test('a VM another action holds: 409, the account is deactivated but not deleted, and asking again finishes it', async () => {
      const yan = await h.user('yan');
      const vmId = await h.vm(yan, 'yan-1');
      driver.delayMs = 400; // the owner's stop is still under way when the admin deletes
      try {
        assert.equal((await send('POST', `/api/vms/${vmId}/action`, { action: 'stop' }, yan.token)).statusCode, 202);
        const busy = await send('DELETE', `/api/admin/users/${yan.id}`);
        assert.equal(busy.statusCode, 409, busy.body);
        assert.equal(busy.json().details[0].field, `vm:${vmId}`);
        const row = (await list('q=yan&status=all')).rows[0];
        assert.equal(row.deleted_at, null, 'not deleted');
        assert.equal(row.is_active, false, 'but it can do nothing meanwhile');
        assert.equal((await get('/api/vms', yan.token)).statusCode, 401);
      } finally {
        await h.services.ops.idle();
        driver.delayMs = 0;
      }
      const done = await send('DELETE', `/api/admin/users/${yan.id}`);
      assert.equal(done.statusCode, 200, done.body);
      assert.deepEqual(done.json().destroying.map((d: { vm_id: number }) => d.vm_id), [vmId]);
      await h.services.ops.idle();
      assert.equal((await get(`/api/admin/users/${yan.id}`)).json().vms[0].status, 'destroyed');
    });

    test('an admin cannot delete their own account; unknown users are 404', async () => {
      const res = await send('DELETE', `/api/admin/users/${adminId}`);
      assert.equal(res.statusCode, 409);
      assert.equal(res.json().code, 'conflict');
      assert.equal((await me(admin)).is_active, true);
      assert.equal((await send('DELETE', '/api/admin/users/99999')).statusCode, 404);
    });

    test('bulk credit, deactivate and activate change every user, in one request', async () => {
      const a = await h.user('bulka');
      const b = await h.user('bulkb');
      const credited = await send('POST', '/api/admin/users/bulk', { ids: [a.id, b.id], action: 'credit', amount: 70, reason: 'promo' });
      assert.equal(credited.statusCode, 200, credited.body);
      assert.equal(credited.json().action, 'credit');
      assert.deepEqual(credited.json().users.map((u: { id: number; credits: number }) => [u.id, u.credits]), [[a.id, 1070], [b.id, 1070]]);
      assert.equal((await ledgerRows(a.id))[0]!.reason, 'promo');

      const off = await send('POST', '/api/admin/users/bulk', { ids: [a.id, b.id], action: 'deactivate' });
      assert.equal(off.statusCode, 200, off.body);
      assert.ok(off.json().users.every((u: { is_active: boolean }) => !u.is_active));
      assert.equal((await get('/api/auth/me', a.token)).statusCode, 401, 'sessions end with the deactivation');
      const on = await send('POST', '/api/admin/users/bulk', { ids: [a.id, b.id], action: 'activate' });
      assert.ok(on.json().users.every((u: { is_active: boolean }) => u.is_active));
      assert.ok((await h.services.events.list({ action: 'users.bulk_updated' })).length >= 3);
    });

    test('bulk is all-or-nothing: one failing id and nothing changes', async () => {
      const c = await h.user('bulkc');
      const poor = await h.user('bulkpoor');
      await send('POST', `/api/admin/users/${poor.id}/credits`, { amount: -990, reason: 'almost empty' });
      const balances = async () => [(await me(c.token)).credits, (await me(poor.token)).credits];
      const before = await balances();
      const ledgerBefore = [(await ledgerRows(c.id)).length, (await ledgerRows(poor.id)).length];

      const cases: [Record<string, unknown>, number, string][] = [
        [{ ids: [c.id, 99999], action: 'credit', amount: 5, reason: 'x' }, 404, 'an unknown id'],
        [{ ids: [c.id, poor.id], action: 'credit', amount: -100, reason: 'fee' }, 409, 'a balance would go below zero (the second user)'],
        [{ ids: [c.id, adminId], action: 'deactivate' }, 400, 'your own id'],
        [{ ids: [c.id, 99999], action: 'deactivate' }, 404, 'an unknown id'],
        [{ ids: [c.id], action: 'credit', amount: 5 }, 400, 'credit without a reason'],
        [{ ids: [c.id], action: 'credit', reason: 'x' }, 400, 'credit without an amount'],
        [{ ids: [c.id], action: 'activate', amount: 5 }, 400, 'an amount for activate'],
        [{ ids: [], action: 'activate' }, 400, 'no ids'],
        [{ ids: [c.id, c.id], action: 'activate' }, 400, 'the same id twice'],
        [{ ids: [c.id], action: 'promote' }, 400, 'an unknown action'],
      ];
      for (const [body, status, why] of cases) {
        const res = await send('POST', '/api/admin/users/bulk', body);
        assert.equal(res.statusCode, status, `${why}: ${res.body}`);
        assert.ok(res.json().code && res.json().message && res.json().request_id, why);
      }
      assert.deepEqual(await balances(), before, 'no balance changed');
      assert.deepEqual([(await ledgerRows(c.id)).length, (await ledgerRows(poor.id)).length], ledgerBefore, 'no ledger row was written');
      assert.equal((await get('/api/auth/me', c.token)).statusCode, 200, 'nobody was deactivated');
      const missing = (await send('POST', '/api/admin/users/bulk', { ids: [c.id], action: 'credit', amount: 5 })).json();
      assert.deepEqual(missing.details, [{ field: 'reason', message: 'is required for credit' }]);
    });

    test('plain users get 403 on the new admin routes', async () => {
      const plain = await h.user('plainuser');
      const routes: ['GET' | 'POST' | 'PATCH' | 'DELETE', string, unknown?][] = [
        ['GET', `/api/admin/users/${plain.id}`],
        ['GET', `/api/admin/users/${plain.id}/ledger`],
        ['PATCH', `/api/admin/users/${plain.id}/quota`, { max_vms: 100 }],
        ['DELETE', `/api/admin/users/${plain.id}`],
        ['POST', '/api/admin/users/bulk', { ids: [plain.id], action: 'credit', amount: 100, reason: 'me' }],
      ];
      for (const [method, url, body] of routes) {
        const res = await h.request({ method, url, token: plain.token, body });
        assert.equal(res.statusCode, 403, `${method} ${url}`);
      }
      assert.equal((await me(plain.token)).credits, 1000);
    });
  });
}
