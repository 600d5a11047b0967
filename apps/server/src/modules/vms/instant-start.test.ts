import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { createHarness, type Harness } from '../../test-support/harness.js';
import { InstantDriver, helpers, type User } from '../../test-support/vm-actions-kit.js';

/** Instant VMs as the VM actions see them: warm-up at start, the instant path, the cold fallback. */
for (const kind of testDatabaseKinds()) {
  describe(`instant VMs: warm snapshots and the cold fallback (${kind})`, () => {
    let h: Harness;
    let driver: InstantDriver;
    let alice: User;
    const t = helpers(() => h);
    before(async () => {
      driver = new InstantDriver();
      h = await createHarness(kind, { sshPortRange: '25750-25799', instantVms: true, warmSizes: 's-1vcpu-256mb,s-1vcpu-512mb' }, driver);
      alice = await h.user('alice');
      await t.credit(alice, 1000);
    });
    after(() => h.close());

    test('at start, a warm snapshot is prepared for the tiny image in every TWARGA_WARM_SIZES size', () => {
      assert.deepEqual(driver.warmed.map((s) => [s.boot.kind, s.memoryMb, s.vcpus, s.diskGb]), [['kernel', 256, 1, 1], ['kernel', 512, 1, 2]]);
    });

    test('no warm snapshot: the log says why and the VM boots cold (boot_path cold), and the warm snapshot is prepared', async () => {
      driver.warmed.length = 0;
      const vm = await t.create(alice, { name: 'cold', size: 's-1vcpu-1gb' });
      assert.equal((await t.getVm(vm.id, alice.token)).status, 'running');
      const lines = await t.log(vm.action.id, alice.token);
      assert.deepEqual(lines.slice(1, 3), ['Cold boot: no warm snapshot of tiny at 1024 MB / 1 vCPU yet', 'Starting']);
      assert.equal((await t.row(vm.id)).boot_path, 'cold');
      assert.deepEqual(driver.calls.filter((c) => c.endsWith(`vm-${vm.id}`) && !c.startsWith('writeInfo')), [`startInstant vm-${vm.id}`, `create vm-${vm.id}`, `start vm-${vm.id}`]);
      const fallback = (await h.services.events.list({ action: 'vm.instant_fallback' })).find((e) => e.vm_id === vm.id);
      assert.match(fallback!.message, /no warm snapshot/);
      assert.deepEqual(driver.warmed.map((s) => [s.id, s.memoryMb]), [[`vm-${vm.id}`, 1024]]);
    });

    test('a warm snapshot ready: the VM starts from it (boot_path instant), no create or boot', async () => {
      driver.instant = { started: true, restoreMs: 412 };
      try {
        const vm = await t.create(alice, { name: 'instant', size: 's-1vcpu-256mb' });
        assert.equal((await t.getVm(vm.id, alice.token)).status, 'running');
        const lines = await t.log(vm.action.id, alice.token);
        assert.equal(lines[1], 'Instant start from a warm snapshot (412 ms)');
        assert.match(lines[2]!, /^Running; SSH on/);
        assert.equal((await t.row(vm.id)).boot_path, 'instant');
        // Nothing touches the instance before its instant start (a record would make its directory).
        const calls = driver.calls.filter((c) => c.endsWith(`vm-${vm.id}`));
        assert.equal(calls[0], `startInstant vm-${vm.id}`);
        assert.deepEqual(calls.filter((c) => !c.startsWith('writeInfo')), [`startInstant vm-${vm.id}`], 'no create, no boot');
      } finally {
        driver.instant = { started: false, reason: 'no warm snapshot of tiny at 1024 MB / 1 vCPU yet' };
      }
    });

    test('a VM made from a snapshot never starts instantly (its disk is the snapshot)', async () => {
      driver.instant = { started: true, restoreMs: 1 };
      try {
        const src = await t.create(alice, { name: 'src', size: 's-1vcpu-256mb' });
        await t.act(src.id, { action: 'snapshot', name: 's1' }, alice.token);
        await t.settle();
        const snapshot = (await h.request({ method: 'GET', url: `/api/vms/${src.id}/snapshots`, token: alice.token })).json().snapshots[0];
        const vm = await t.create(alice, { name: 'from-snap', snapshot_id: snapshot.id });
        assert.deepEqual(driver.calls.filter((c) => c.endsWith(`vm-${vm.id}`) && !c.startsWith('writeInfo')), [`create vm-${vm.id}`, `start vm-${vm.id}`]);
        assert.equal((await t.row(vm.id)).boot_path, 'cold');
      } finally {
        driver.instant = { started: false, reason: 'no warm snapshot of tiny at 1024 MB / 1 vCPU yet' };
      }
    });
  });

  describe(`instant VMs switched off (${kind})`, () => {
    let h: Harness;
    let driver: InstantDriver;
    let alice: User;
    const t = helpers(() => h);
    before(async () => {
      driver = new InstantDriver();
      h = await createHarness(kind, { sshPortRange: '25800-25849', instantVms: false }, driver);
      alice = await h.user('alice');
      await t.credit(alice, 1000);
    });
    after(() => h.close());

    test('TWARGA_INSTANT_VMS=off: no warm-up, every creation boots cold without trying', async () => {
      const vm = await t.create(alice, { name: 'plain', size: 's-1vcpu-256mb' });
      assert.deepEqual(driver.warmed, []);
      assert.deepEqual(driver.calls.filter((c) => c.endsWith(`vm-${vm.id}`) && !c.startsWith('writeInfo')), [`create vm-${vm.id}`, `start vm-${vm.id}`]);
      assert.equal((await t.row(vm.id)).boot_path, 'cold');
    });
  });
}
