import assert from 'node:assert/strict';
import { after, before, describe, mock, test } from 'node:test';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';

/**
 * A destroy answered with 202 is on record before the answer: if the server dies before its
 * background work starts (the chaos test's kill 6 ms after the request once hit this), the
 * reconciler finds the VM `destroying` and finishes it, instead of a VM that keeps running.
 */
for (const kind of testDatabaseKinds()) {
  describe(`a destroy is written down before it is answered (${kind})`, () => {
    let h: Harness;
    before(async () => {
      h = await createHarness(kind, { sshPortRange: '27300-27349' }, new FakeDriver());
    });
    after(() => h.close());

    test('right after the 202 the VM is destroying, though the background work has not begun', async () => {
      const alice = await h.user('alice');
      const vm = await h.vm(alice, 'web');
      // The background work never starts: what a kill right after the answer leaves behind.
      let resume!: () => void;
      const stalled = mock.method(h.services.ops, 'destroy', () => new Promise<void>((r) => (resume = r)));
      try {
        const res = await h.request({ method: 'POST', url: `/api/vms/${vm}/action`, token: alice.token, body: { action: 'destroy' } });
        assert.equal(res.statusCode, 202, res.body);
        const row = await h.db.handle.db.selectFrom('vms').select('status').where('id', '=', vm).executeTakeFirstOrThrow();
        assert.equal(row.status, 'destroying');
      } finally {
        stalled.mock.restore();
        resume?.();
        await h.services.ops.idle();
      }
    });
  });
}
