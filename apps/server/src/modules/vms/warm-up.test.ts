import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AdminHealth } from '@twarga/contract';
import type { InstanceSpec, InstantStart, InstantStartOutcome } from '../../compute/driver.js';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';

/** A fake hypervisor with a warm pool whose snapshots the test makes ready or failed. */
class WarmDriver extends FakeDriver implements InstantStart {
  readonly prepared: InstanceSpec[] = [];
  readonly states = new Map<number, { state: 'ready' | 'building' | 'missing' | 'failed'; reason?: string }>();
  async startInstant(): Promise<InstantStartOutcome> {
    return { started: false, reason: 'not in this test' };
  }
  prepareWarm(spec: InstanceSpec): void {
    this.prepared.push(spec);
  }
  async warmState(spec: InstanceSpec) {
    return this.states.get(spec.memoryMb) ?? { state: 'missing' as const };
  }
}

for (const kind of testDatabaseKinds()) {
  describe(`instant VMs: warm snapshots at start and on the admin's health page (${kind})`, () => {
    let h: Harness;
    const driver = new WarmDriver();
    before(async () => {
      h = await createHarness(kind, { instantVms: true, warmSizes: 's-1vcpu-256mb,s-1vcpu-512mb' }, driver);
    });
    after(() => h.close());

    const instant = async () => {
      const res = await h.request({ method: 'GET', url: '/api/admin/health', token: await h.adminToken() });
      assert.equal(res.statusCode, 200, res.body);
      return (res.json() as AdminHealth).components.find((c) => c.name === 'instant_vms');
    };

    test('the start asks for one warm snapshot per instant-capable image and warm size, waiting for its identity', () => {
      assert.deepEqual(driver.prepared.map((s) => [s.memoryMb, s.vcpus]), [[256, 1], [512, 1]]);
      for (const spec of driver.prepared) assert.equal(spec.boot.kind, 'kernel');
    });

    test('health: degraded while a warm snapshot is missing or failed, with the reason; healthy once all are ready', async () => {
      driver.states.set(256, { state: 'ready' });
      driver.states.set(512, { state: 'failed', reason: 'the image booted normally instead of waiting in warm mode' });
      const degraded = await instant();
      assert.equal(degraded?.status, 'degraded');
      assert.match(degraded!.detail, /512mb failed \(the image booted normally/);
      driver.states.set(512, { state: 'ready' });
      const healthy = await instant();
      assert.equal(healthy?.status, 'healthy');
      assert.match(healthy!.detail, /2 warm snapshot\(s\) ready/);
    });
  });
}

describe('instant VMs off: no warm snapshots, no health component', () => {
  let h: Harness;
  const driver = new WarmDriver();
  before(async () => {
    h = await createHarness('sqlite', { instantVms: false }, driver);
  });
  after(() => h.close());

  test('nothing is prepared and the health page has no instant_vms component', async () => {
    assert.equal(driver.prepared.length, 0);
    const res = await h.request({ method: 'GET', url: '/api/admin/health', token: await h.adminToken() });
    assert.equal((res.json() as AdminHealth).components.some((c) => c.name === 'instant_vms'), false);
  });
});
