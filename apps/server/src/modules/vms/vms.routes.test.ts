import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { testDatabaseKinds } from '../../test-support/databases.js';
import type { StreamEvent } from '@twarga/contract';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test';

/** The rules above the hypervisor, with a fake driver; real QEMU runs in tests/integration. */
for (const kind of testDatabaseKinds()) {
  describe(`VM API rules (${kind})`, () => {
    let h: Harness;
    let driver: FakeDriver;
    let alice: { id: number; token: string };
    let bob: { id: number; token: string };
    before(async () => {
      driver = new FakeDriver();
      h = await createHarness(kind, { maxVmsPerUser: 3, sshPortRange: '25100-25199' }, driver);
      alice = await h.user('alice');
      bob = await h.user('bob');
      await h.request({ method: 'POST', url: '/api/account/keys', token: alice.token, body: { name: 'k', public_key: KEY } });
    });
    after(() => h.close());
    beforeEach(() => {
      driver.delayMs = 0;
    });

    const create = (body: Record<string, unknown>, token = alice.token) => h.request({ method: 'POST', url: '/api/vms', token, body });
    const act = (id: number, action: string, token = alice.token) => h.request({ method: 'POST', url: `/api/vms/${id}/action`, token, body: { action } });
    const vmsDir = () => path.join(h.config.dataDir, 'vms');
    const settle = () => h.services.ops.idle();

    test('bad names, specs, images and user data are clear 400s and create nothing', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ name: '; touch /tmp/x' }, 'name'],
        [{ name: '../x' }, 'name'],
        [{ name: 'ünïcødé' }, 'name'],
        [{ name: 'a'.repeat(300) }, 'name'],
        [{ name: 'UPPER' }, 'name'],
        [{ name: '-lead' }, 'name'],
        [{ name: 'ok', ram: 100000 }, 'ram'],
        [{ name: 'ok', cpu: 64 }, 'cpu'],
        [{ name: 'ok', disk: 100000 }, 'disk'],
        [{ name: 'ok', ram: 1 }, 'ram'],
        [{ name: 'ok', size: 'huge' }, 'size'],
        [{ name: 'ok', size: 's-1vcpu-256mb', ram: 512 }, 'size'],
        [{ name: 'ok', image: 'windows' }, 'image'],
        [{ name: 'ok', os_type: 'centos/stream8' }, 'os_type'],
        [{ name: 'ok', os_type: 'ubuntu' }, 'os_type'],
        [{ name: 'ok', ssh_keys: [999] }, 'ssh_keys'],
        [{ name: 'ok', user_data: 'x'.repeat(64 * 1024 + 1) }, 'user_data'],
        [{ name: 'ok', user_data: '€'.repeat(30_000) }, 'user_data'],
        [{ name: 'ok', evil: true }, 'evil'],
      ];
      for (const [body, field] of cases) {
        const res = await create(body);
        assert.equal(res.statusCode, 400, `${JSON.stringify(body).slice(0, 60)} → ${res.statusCode} ${res.body.slice(0, 200)}`);
        assert.equal(res.json().code, 'validation_failed');
        assert.ok(res.json().details?.some((d: { field: string }) => d.field === field), `${field} in ${res.body.slice(0, 300)}`);
      }
      const centos = await create({ name: 'ok', os_type: 'centos' });
      assert.match(centos.json().message, /no image for "centos"/);
      assert.deepEqual((await h.request({ method: 'GET', url: '/api/vms', token: alice.token })).json(), []);
      assert.deepEqual(driver.calls, [], 'the driver was never called');
      assert.ok(!existsSync(vmsDir()) || readdirSync(vmsDir()).length === 0, 'nothing on disk');
    });

    test("someone else's VM is a 404 everywhere; the owner sees it", async () => {
      const vm = (await create({ name: 'private', image: 'tiny', ssh_keys: [] })).json();
      await settle();
      for (const url of [`/api/vms/${vm.id}`, `/api/vms/${vm.id}/status`, `/api/vms/${vm.id}/actions`, `/api/actions/${vm.action.id}`]) {
        assert.equal((await h.request({ method: 'GET', url, token: bob.token })).statusCode, 404, url);
      }
      assert.equal((await act(vm.id, 'destroy', bob.token)).statusCode, 404);
      assert.deepEqual((await h.request({ method: 'GET', url: '/api/vms', token: bob.token })).json(), []);
      assert.equal((await h.request({ method: 'GET', url: `/api/vms/${vm.id}`, token: alice.token })).json().status, 'running');
      const admin = await h.adminToken();
      assert.ok((await h.request({ method: 'GET', url: '/api/vms', token: admin })).json().some((v: { id: number }) => v.id === vm.id), 'admins see all');
      await act(vm.id, 'destroy');
      await settle();
    });

    test('one action at a time: the second is a 409 while the first runs', async () => {
      const vm = (await create({ name: 'busy' })).json();
      await settle();
      driver.delayMs = 300;
      assert.equal((await act(vm.id, 'stop')).statusCode, 202);
      // Destroy is allowed from stopping: only the lock can refuse it here.
      const second = await act(vm.id, 'destroy');
      assert.equal(second.statusCode, 409);
      assert.equal(second.json().code, 'conflict');
      assert.equal(second.json().message, 'Another action is in progress on this VM; wait for it to finish');
      await settle();
      assert.equal((await h.request({ method: 'GET', url: `/api/vms/${vm.id}`, token: alice.token })).json().status, 'stopped');
      const wrong = await act(vm.id, 'reboot');
      assert.equal(wrong.statusCode, 409, 'cannot reboot a stopped VM');
      // Stop is allowed from error: a stop sent while a start (from error) runs meets the lock.
      await h.services.ops.setStatus(vm.id, 'error');
      driver.delayMs = 300;
      assert.equal((await act(vm.id, 'start')).statusCode, 202);
      const stop = await act(vm.id, 'stop');
      assert.equal(stop.statusCode, 409);
      assert.equal(stop.json().code, 'conflict');
      assert.match(stop.json().message, /another action is in progress/i);
      await settle();
      driver.delayMs = 0;
      assert.equal((await h.request({ method: 'GET', url: `/api/vms/${vm.id}`, token: alice.token })).json().status, 'running', 'the first action was not disturbed');
      await act(vm.id, 'destroy');
      await settle();
      assert.equal((await act(vm.id, 'start')).statusCode, 409, 'destroyed is final');
    });

    test('duplicate names are a 409; quotas are 403 quota_exceeded, also for launches at the same moment', async () => {
      const first = (await create({ name: 'dup' })).json();
      assert.equal((await create({ name: 'dup' })).statusCode, 409);
      // Four at once against two free places in the quota: two get them, never more.
      const burst = await Promise.all(['q2', 'q3', 'q4', 'q5'].map((name) => create({ name })));
      assert.deepEqual(burst.map((r) => r.statusCode).sort(), [201, 201, 403, 403]);
      const over = burst.find((r) => r.statusCode === 403)!;
      assert.equal(over.json().code, 'quota_exceeded');
      await settle();
      for (const v of (await h.request({ method: 'GET', url: '/api/vms', token: alice.token })).json()) await act(v.id, 'destroy');
      await settle();
      const again = await create({ name: 'dup' });
      assert.equal(again.statusCode, 201, 'a destroyed VM frees its name');
      assert.notEqual(again.json().id, first.id, 'a new VM, not the old one back');
      await settle();
      assert.equal((await h.request({ method: 'GET', url: `/api/vms/${first.id}`, token: alice.token })).json().status, 'destroyed');
    });

    test('no credits for an hour: 402; a failed creation costs nothing and ends in error', async () => {
      const carol = await h.user('carol');
      const admin = await h.adminToken();
      await h.request({ method: 'POST', url: `/api/admin/users/${carol.id}/credits`, token: admin, body: { amount: -1000, reason: 'test' } });
      const poor = await create({ name: 'poor' }, carol.token);
      assert.equal(poor.statusCode, 402);
      assert.equal(poor.json().code, 'insufficient_credits');
      await h.request({ method: 'POST', url: `/api/admin/users/${carol.id}/credits`, token: admin, body: { amount: 10, reason: 'test' } });
      driver.failNext = { op: 'start', message: 'qemu: could not boot' };
      const vm = (await create({ name: 'doomed' }, carol.token)).json();
      await settle();
      const after = (await h.request({ method: 'GET', url: `/api/vms/${vm.id}`, token: carol.token })).json();
      assert.equal(after.status, 'error');
      assert.match(after.error, /could not boot/);
      const action = (await h.request({ method: 'GET', url: `/api/actions/${vm.action.id}`, token: carol.token })).json();
      assert.equal(action.status, 'errored');
      assert.equal((await h.request({ method: 'GET', url: '/api/auth/me', token: carol.token })).json().credits, 10, 'not charged');
      const failed = await h.services.events.list({ action: 'vm.create_failed' });
      assert.ok(failed.some((e) => e.vm_id === vm.id));
    });

    test('every action has a log of its steps, pushed live to its owner only; a failure ends it with the reason', async () => {
      const pushed: { owner: number; event: StreamEvent }[] = [];
      const unsubscribe = h.services.bus.subscribe(({ ownerId, event }) => pushed.push({ owner: ownerId, event }));
      try {
        const vm = (await create({ name: 'logged', size: 's-1vcpu-512mb' })).json();
        await settle();
        const log = (id: number, token = alice.token) => h.request({ method: 'GET', url: `/api/actions/${id}/log`, token });
        const created = (await log(vm.action.id)).json();
        assert.deepEqual(created.lines.map((l: { line: string }) => l.line.replace(/\d{5}/, 'PORT')), [
          'Creating the instance on host local (qemu): 512 MB RAM, 1 vCPU, 2 GB disk, image tiny',
          'Starting',
          'Running; SSH on 127.0.0.1:PORT',
        ]);
        const live = pushed.filter((p) => p.event.kind === 'action_log' && p.event.action_id === vm.action.id);
        assert.deepEqual(live.map((p) => p.owner), [alice.id, alice.id, alice.id], 'pushed to the owner, in order');
        assert.deepEqual(live.map((p) => (p.event.kind === 'action_log' ? p.event.line : undefined)), created.lines);
        assert.equal((await log(vm.action.id, bob.token)).statusCode, 404, "another user's action log");

        driver.failNext = { op: 'stop', message: 'guest did not answer' };
        const stop = (await act(vm.id, 'stop')).json();
        await settle();
        assert.deepEqual((await log(stop.id)).json().lines.map((l: { line: string }) => l.line), ['Asking the guest to shut down (powered off after 60 s)', 'Failed: guest did not answer']);
        await act(vm.id, 'destroy');
        await settle();
      } finally {
        unsubscribe();
      }
    });

    test("a running VM's usage is for its owner and admins; a stopped one has none (409)", async () => {
      const vm = (await create({ name: 'measured' })).json();
      await settle();
      const stats = (token = alice.token) => h.request({ method: 'GET', url: `/api/vms/${vm.id}/stats`, token });
      const mine = await stats();
      assert.equal(mine.statusCode, 200, mine.body);
      assert.deepEqual({ ...(mine.json() as object), sampled_at: undefined }, {
        vm_id: vm.id, sampled_at: undefined, cpu_seconds: 1.5, memory_rss_bytes: 64 * 1024 * 1024,
        disk_read_bytes: 1000, disk_write_bytes: 2000, network_rx_bytes: 300, network_tx_bytes: 400,
      });
      assert.equal((await stats(bob.token)).statusCode, 404);
      assert.equal((await stats(await h.adminToken())).statusCode, 200);
      await act(vm.id, 'stop');
      await settle();
      const stopped = await stats();
      assert.equal(stopped.statusCode, 409);
      assert.equal(stopped.json().code, 'vm_not_running');
      await act(vm.id, 'destroy');
      await settle();
    });
  });
}
