import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';

for (const kind of testDatabaseKinds()) {
  describe(`hourly metering (${kind})`, () => {
    let h: Harness;
    let user: { id: number; token: string };
    before(async () => {
      h = await createHarness(kind, { sshPortRange: '25300-25399' }, new FakeDriver());
      user = await h.user('payer');
    });
    after(() => h.close());

    const credits = async () => (await h.request({ method: 'GET', url: '/api/auth/me', token: user.token })).json().credits as number;

    test('every started hour is charged once, stopped VMs too, destroyed ones no more', async () => {
      const vm = (await h.request({ method: 'POST', url: '/api/vms', token: user.token, body: { name: 'meter', size: 's-1vcpu-512mb' } })).json();
      await h.services.ops.idle();
      const price = vm.price_hourly as number;
      assert.equal(await credits(), 1000 - price, 'first hour at creation');

      await h.services.metering.pass();
      assert.equal(await credits(), 1000 - price, 'nothing more within the first hour');

      h.clock.advanceMinutes(61);
      await h.services.metering.pass();
      await h.services.metering.pass();
      assert.equal(await credits(), 1000 - 2 * price, 'the second hour, charged once');

      await h.request({ method: 'POST', url: `/api/vms/${vm.id}/action`, token: user.token, body: { action: 'stop' } });
      await h.services.ops.idle();
      h.clock.advanceMinutes(150);
      await h.services.metering.pass();
      // t+211 min: the hours starting at t+120 and t+180 have begun.
      assert.equal(await credits(), 1000 - 4 * price, 'two more started hours while stopped, in one pass');
      const ledger = (await h.request({ method: 'GET', url: '/api/account/ledger', token: user.token })).json();
      assert.equal(ledger[0].amount, -2 * price);
      assert.match(ledger[0].reason, /2 hours/);

      await h.request({ method: 'POST', url: `/api/vms/${vm.id}/action`, token: user.token, body: { action: 'destroy' } });
      await h.services.ops.idle();
      h.clock.advanceMinutes(300);
      await h.services.metering.pass();
      assert.equal(await credits(), 1000 - 4 * price, 'a destroyed VM costs nothing more');
    });
  });
}
