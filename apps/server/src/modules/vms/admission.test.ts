import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import os from 'node:os';
import { freeBytes, GiB, MiB } from '../../lib/disk-space.js';
import { UserChanges } from '../../lib/user-changes.js';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';
import { LedgerService } from '../billing/ledger.service.js';

const SIZE = 's-1vcpu-512mb'; // 2 credits per hour, 2 GB disk
const PRICE = 2;
const N = 3;

/** Admission of launches: credits reserved at once, per-user disk quota, room on the host. */
for (const kind of testDatabaseKinds()) {
  describe(`VM admission (${kind})`, () => {
    let h: Harness;
    let driver: FakeDriver;
    let admin: string;
    before(async () => {
      driver = new FakeDriver();
      h = await createHarness(kind, { maxVmsPerUser: 20, maxRamPerUserMb: 64 * 1024, maxVcpusPerUser: 64, maxDiskGbPerUser: 12, sshPortRange: '25400-25499' }, driver);
      admin = await h.adminToken();
    });
    after(() => h.close());

    const create = (token: string, body: Record<string, unknown>) => h.request({ method: 'POST', url: '/api/vms', token, body });
    const me = async (token: string) => (await h.request({ method: 'GET', url: '/api/auth/me', token })).json();
    const ledger = async (token: string) => (await h.request({ method: 'GET', url: '/api/account/ledger', token })).json() as { amount: number; balance_after: number; reason: string }[];
    /** A user whose balance pays exactly `credits`. */
    const userWith = async (name: string, credits: number) => {
      const u = await h.user(name);
      const { credits: now } = await me(u.token);
      await h.request({ method: 'POST', url: `/api/admin/users/${u.id}/credits`, token: admin, body: { amount: credits - now, reason: 'test balance' } });
      return u;
    };

    test(`credits for exactly ${N} first hours: of ${N + 3} launches at once, exactly ${N} are admitted and the balance never goes negative`, async () => {
      driver.delayMs = 30; // provisioning overlaps the burst, as with a real hypervisor
      try {
        const u = await userWith('burst', N * PRICE);
        const answers = await Promise.all(Array.from({ length: N + 3 }, (_, i) => create(u.token, { name: `burst-${i}`, size: SIZE })));
        const admitted = answers.filter((r) => r.statusCode === 201);
        const refused = answers.filter((r) => r.statusCode !== 201);
        assert.equal(admitted.length, N, answers.map((r) => `${r.statusCode} ${r.body.slice(0, 120)}`).join('\n'));
        for (const r of refused) {
          assert.equal(r.statusCode, 402);
          assert.equal(r.json().code, 'insufficient_credits');
        }
        assert.equal((await me(u.token)).credits, 0, 'the first hours are paid at admission');
        await h.services.ops.idle();
        assert.equal((await me(u.token)).credits, 0, 'and not charged again when the VMs run');
        const rows = await ledger(u.token);
        assert.ok(rows.every((e) => e.balance_after >= 0), `never negative: ${JSON.stringify(rows)}`);
        assert.equal(rows.filter((e) => /first hour/.test(e.reason)).length, N);
        const vms = (await h.request({ method: 'GET', url: '/api/vms', token: u.token })).json();
        assert.equal(vms.length, N, 'refused launches left no VM behind');
        assert.ok(vms.every((vm: { status: string }) => vm.status === 'running'));
      } finally {
        driver.delayMs = 0;
      }
    });

    test('a launch that fails before the VM ever runs gets its first hour back, once', async () => {
      const u = await userWith('unlucky', 10);
      driver.failNext = { op: 'create', message: 'no room on the hypervisor' };
      driver.delayMs = 200; // the create is still under way when the balance is read
      const res = await create(u.token, { name: 'doomed', size: SIZE });
      assert.equal(res.statusCode, 201);
      assert.equal((await me(u.token)).credits, 10 - PRICE, 'reserved at admission');
      await h.services.ops.idle();
      driver.delayMs = 0;
      assert.equal((await h.request({ method: 'GET', url: `/api/vms/${res.json().id}`, token: u.token })).json().status, 'error');
      assert.equal((await me(u.token)).credits, 10, 'refunded');
      // Whoever else asks (the reconciler after a crash, say) refunds nothing more.
      const service = new LedgerService(h.db.handle.db, new UserChanges());
      assert.equal(await service.refundFirstHour({ id: res.json().id, user_id: u.id, name: 'doomed' }, new Date().toISOString()), 0);
      assert.equal((await me(u.token)).credits, 10);
      assert.deepEqual((await ledger(u.token)).slice(0, 2).map((e) => e.amount), [PRICE, -PRICE]);
    });

    test('the per-user disk quota counts every live VM; a destroyed one frees its share', async () => {
      const u = await userWith('disks', 100);
      const big = await create(u.token, { name: 'big', size: 's-1vcpu-1gb' }); // 10 GB
      assert.equal(big.statusCode, 201, big.body);
      assert.equal((await create(u.token, { name: 'fits', size: SIZE })).statusCode, 201, '10 + 2 = 12 GB: the quota exactly');
      const over = await create(u.token, { name: 'over', ram: 256, cpu: 1, disk: 1 });
      assert.equal(over.statusCode, 403, over.body);
      assert.equal(over.json().code, 'quota_exceeded');
      assert.match(over.json().message, /12 GB of disk in total \(12 GB in use\)/);
      await h.services.ops.idle();
      await h.request({ method: 'POST', url: `/api/vms/${big.json().id}/action`, token: u.token, body: { action: 'destroy' } });
      await h.services.ops.idle();
      assert.equal((await create(u.token, { name: 'over', ram: 256, cpu: 1, disk: 1 })).statusCode, 201);
      await h.services.ops.idle();
    });
  });
}

describe('VM admission: room on the QEMU host', () => {
  let h: Harness;
  let token: string;
  before(async () => {
    // Keep free all but 15 GB of what the test data dir's filesystem has now.
    const free = await freeBytes(os.tmpdir());
    const minFreeDiskMb = Math.floor((free - 15 * GiB) / MiB);
    assert.ok(minFreeDiskMb > 0, 'the test needs more than 15 GB free in the temp dir');
    h = await createHarness('sqlite', { minFreeDiskMb, maxDiskGbPerUser: 200, sshPortRange: '25500-25599' }, new FakeDriver());
    token = (await h.user('roomy')).token;
  });
  after(() => h.close());

  const create = (body: Record<string, unknown>) => h.request({ method: 'POST', url: '/api/vms', token, body });

  test('a thin disk counts at its full size: the second 10 GB disk does not fit in 15 GB, a 2 GB one does', async () => {
    assert.equal((await create({ name: 'first', ram: 256, cpu: 1, disk: 10 })).statusCode, 201);
    await h.services.ops.idle();
    // The first disk holds almost nothing yet, but its guest may fill all 10 GB.
    const second = await create({ name: 'second', ram: 256, cpu: 1, disk: 10 });
    assert.equal(second.statusCode, 507, second.body);
    assert.equal(second.json().code, 'insufficient_storage');
    assert.match(second.json().message, /no room for a 10 GB disk/);
    assert.doesNotMatch(second.json().message, /\/tmp|twarga-test/, 'no server paths for users');
    const audit = await h.services.events.list({ action: 'vm.create_refused_storage' });
    assert.equal(audit.length, 1, 'admins see why');
    assert.equal((await create({ name: 'small', ram: 256, cpu: 1, disk: 2 })).statusCode, 201);
    await h.services.ops.idle();
  });
});
