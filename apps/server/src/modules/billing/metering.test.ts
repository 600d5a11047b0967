import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';
import { startedHours } from './metering.js';

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

    test('a VM destroyed into an hour no pass charged yet still pays that hour, once', async () => {
      const before = await credits();
      const vm = (await h.request({ method: 'POST', url: '/api/vms', token: user.token, body: { name: 'brief', size: 's-1vcpu-512mb' } })).json();
      await h.services.ops.idle();
      const price = vm.price_hourly as number;
      // Its second hour begins; it is destroyed 2 minutes into it, before the minutely pass ran.
      h.clock.advanceMinutes(62);
      await h.request({ method: 'POST', url: `/api/vms/${vm.id}/action`, token: user.token, body: { action: 'destroy' } });
      await h.services.ops.idle();
      await h.services.metering.pass();
      await h.services.metering.pass();
      assert.equal(await credits(), before - 2 * price, 'two started hours, the second charged after the destroy');
      h.clock.advanceMinutes(70);
      await h.services.metering.pass();
      assert.equal(await credits(), before - 2 * price, 'and nothing after');
    });

describe('started hours', () => {
  const H = 3_600_000;
  test('live: the hour beginning now counts; destroyed: only hours it lived into', () => {
    assert.equal(startedHours(0, undefined, 0), 1);
    assert.equal(startedHours(0, undefined, H - 1), 1);
    assert.equal(startedHours(0, undefined, 2 * H + 5), 3);
    assert.equal(startedHours(H, undefined, 0), 0);
    assert.equal(startedHours(0, 0, 10 * H), 0, 'destroyed exactly when its paid time ended');
    assert.equal(startedHours(0, 1, 10 * H), 1);
    assert.equal(startedHours(0, H + 1, 10 * H), 2);
    assert.equal(startedHours(5 * H, 2 * H, 10 * H), 0, 'destroyed within a paid hour');
  });
});
  });
}
