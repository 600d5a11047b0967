import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { InstanceStats } from '../../compute/driver.js';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';
import { hmacHex, Receiver, SmtpSink } from '../../test-support/notification-sinks.js';

/** The fake driver with a CPU counter the test moves (1 vCPU: +4.75 s of CPU per 5 s = 95 %). */
class CpuDriver extends FakeDriver {
  cpuNs = 0;
  override async stats(id: string): Promise<InstanceStats | undefined> {
    if (this.instances.get(id)?.state !== 'running') return undefined;
    return { cpuTimeNs: this.cpuNs, memoryRssBytes: 100 * 2 ** 20, disk: { readBytes: 0, writeBytes: 0 } };
  }
}

/**
 * The whole path a user relies on: the collector samples a VM (fake hypervisor counters, test
 * clock), the evaluator opens and resolves the alert once with hysteresis, and the notifications
 * reach a real SMTP server and a webhook receiver that checks the signature.
 */
for (const kind of testDatabaseKinds()) {
  describe(`alert → e-mail and signed webhook, from collector samples (${kind})`, () => {
    let h: Harness;
    const receiver = new Receiver();
    const smtp = new SmtpSink();
    const driver = new CpuDriver();
    before(async () => {
      await receiver.start();
      await smtp.start();
      h = await createHarness(kind, {
        sshPortRange: '26000-26049',
        smtpUrl: `smtp://mailer:s3cret@127.0.0.1:${smtp.port}`,
        webhookAllowHosts: '127.0.0.1',
        notificationRetrySeconds: '0.05',
        alertNotifyMinIntervalSeconds: 0,
      }, driver);
    });
    after(async () => {
      await h.close();
      await receiver.stop();
      await smtp.stop();
    });

    test('CPU 95 % for 5 minutes opens once; 78 % stays open (hysteresis); 50 % resolves once; each reaches both channels', async () => {
      const admin = await h.adminToken();
      const alice = await h.user('alice');
      await h.request({ method: 'POST', url: `/api/admin/users/${alice.id}/credits`, token: admin, body: { amount: 100_000, reason: 'test' } });
      const vm = (await h.request({ method: 'POST', url: '/api/vms', token: alice.token, body: { name: 'busy', image: 'tiny', size: 's-1vcpu-1gb' } })).json();
      await h.services.ops.idle();
      const mail = (await h.request({ method: 'POST', url: '/api/notifications/channels', token: alice.token, body: { kind: 'email', name: 'mail', email: 'alice@example.com' } })).json();
      const hook = (await h.request({ method: 'POST', url: '/api/notifications/channels', token: alice.token, body: { kind: 'webhook', name: 'hook', url: receiver.url('/ok') } })).json();
      assert.ok(hook.secret, 'the webhook secret is shown once');
      const created = await h.request({ method: 'POST', url: '/api/alerts/policies', token: alice.token, body: { entity: 'vm', metric: 'cpu_percent', compare: 'GreaterThan', value: 80, window: '5m', vm_ids: [vm.id], channel_ids: [mail.id, hook.id] } });
      assert.equal(created.statusCode, 201, created.body);
      const policyId = created.json().id;

      const run = async (seconds: number, percent: number) => {
        for (let t = 0; t < seconds; t += 5) {
          h.clock.advanceMinutes(5 / 60);
          driver.cpuNs += percent * 0.05 * 1e9;
          await h.services.collector.pass();
        }
        await h.services.alertEngine.idle();
        await h.services.notifications.idle();
      };
      const alerts = async () => (await h.request({ method: 'GET', url: `/api/metrics/alerts?vm_id=${vm.id}`, token: alice.token })).json() as { policy_id: number | null; state: string; value: number; last_value: number }[];
      const mine = async () => (await alerts()).filter((a) => a.policy_id === policyId);
      // The webhooks about this policy (the health watch may notify about the same VM too), each with a valid signature.
      const hooks = () =>
        receiver
          .hits('/ok')
          .map((g) => ({ g, body: JSON.parse(g.raw.toString()) }))
          .filter(({ body }) => body.data?.alert?.policy_id === policyId)
          .map(({ g, body }) => {
            assert.equal(g.headers['x-twarga-signature'], hmacHex(hook.secret, g.raw), 'the receiver verifies the signature');
            return body as { topic: string; alert_id: number };
          });
      const mails = () => smtp.mails.filter((m) => /CPU usage/.test(m.raw));

      await run(300, 95);
      let list = await mine();
      assert.deepEqual(list.map((a) => a.state), ['open']);
      assert.ok(list[0]!.value >= 94 && list[0]!.value <= 96, `opened by ${list[0]!.value}`);
      assert.deepEqual(hooks().map((b) => b.topic), ['alert.opened']);
      assert.equal(mails().length, 1);
      assert.deepEqual(mails()[0]!.to, ['alice@example.com']);
      assert.match(mails()[0]!.raw, /^X-Twarga-Topic: alert\.opened\r$/m);
      assert.match(mails()[0]!.raw, /Alert opened: VM "busy": CPU usage averaged 9\d(\.\d)? % over 5m, at or above 80 %/);

      await run(600, 78);
      list = await mine();
      assert.deepEqual(list.map((a) => a.state), ['open'], '78 % is within the hysteresis band of 80');
      assert.equal(hooks().length, 1);
      assert.equal(mails().length, 1);

      await run(300, 50);
      list = await mine();
      assert.deepEqual(list.map((a) => a.state), ['resolved']);
      assert.ok(list[0]!.last_value < 76, `resolved by ${list[0]!.last_value}`);
      assert.deepEqual(hooks().map((b) => b.topic), ['alert.opened', 'alert.resolved']);
      assert.equal(mails().length, 2);
      assert.match(mails()[1]!.raw, /^X-Twarga-Topic: alert\.resolved\r$/m);
      assert.match(mails()[1]!.raw, /Alert resolved: CPU usage averaged [\d.]+ % over 5m, below 76 %/);
      assert.equal(hooks()[1]!.alert_id, hooks()[0]!.alert_id, 'the same alert opened and resolved');
    });
  });
}
