import assert from 'node:assert/strict';
import { after, before, describe, mock, test } from 'node:test';
import type { EventCode, HostMetrics, VmMetrics } from '@twarga/contract';
import type { BusMessage } from '../../operations/live-bus.js';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';
import { AlertsRepository } from './alerts.repository.js';
import type { AlertNotification } from './notifier.js';

const MB = 2 ** 20;
const src = (value: number | null, source: 'hypervisor' | 'guest-agent' = 'hypervisor') => (value === null ? { value: null, source: null } : { value, source });

/** A VM sample as the collector publishes it; memory is the guest's (balloon), null when the agent is silent. */
function vmSample(vmId: number, at: Date, v: { cpu?: number | null; memPercent?: number | null }): VmMetrics {
  const mem = v.memPercent ?? null;
  return {
    vm_id: vmId, sampled_at: at.toISOString(), cpu_usage: v.cpu ?? null, memory_usage: mem, disk_usage: null, uptime: 100, ip_address: null,
    cpu_percent: src(v.cpu ?? null), memory_rss_bytes: { value: 900 * MB, source: 'host' },
    guest_memory_used_bytes: src(mem === null ? null : mem * 10 * MB, 'guest-agent'), guest_memory_total_bytes: src(mem === null ? null : 1000 * MB, 'guest-agent'),
    fs_used_bytes: src(null), fs_total_bytes: src(null), disk_read_bytes_per_sec: src(0), disk_write_bytes_per_sec: src(0), disk_read_iops: src(null), disk_write_iops: src(null),
    net_rx_bytes_per_sec: src(null), net_tx_bytes_per_sec: src(null), ip: { value: null, source: null }, guest_agent: mem !== null,
  };
}

function hostSample(at: Date, memPercent: number): HostMetrics {
  return {
    sampled_at: at.toISOString(),
    cpu: { usage_percent: 10, count: 2, frequency: null, per_core_percent: [10, 10] },
    load: { load1: 0.1, load5: 0.1, load15: 0.1 },
    memory: { usage_percent: memPercent, used_mb: memPercent * 10, total_mb: 1000, available_mb: 1000 - memPercent * 10 },
    swap: { usage_percent: null, used_mb: 0, total_mb: 0 },
    disk: { path: '/data', usage_percent: 40, used_gb: 40, total_gb: 100, read_bytes_per_sec: 0, write_bytes_per_sec: 0, read_iops: null, write_iops: null },
    network: { bytes_sent: 0, bytes_recv: 0, speed_mbps: 0, rx_bytes_per_sec: 0, tx_bytes_per_sec: 0, interfaces: [] },
    uptime_seconds: 1000,
  };
}

interface Ctx {
  h: Harness;
  admin: string;
  alice: { id: number; token: string };
  vmId: number;
  sent: AlertNotification[];
  bus: BusMessage[];
}

/** A harness with one VM of alice's, the notifier replaced by a recorder, and alert stream messages kept. */
async function setup(kind: 'sqlite' | 'postgres', overrides: Parameters<typeof createHarness>[1], ports: string): Promise<Ctx> {
  const h = await createHarness(kind, { sshPortRange: ports, ...overrides }, new FakeDriver());
  const admin = await h.adminToken();
  const alice = await h.user('alice');
  await h.request({ method: 'POST', url: `/api/admin/users/${alice.id}/credits`, token: admin, body: { amount: 100_000, reason: 'test' } });
  const res = await h.request({ method: 'POST', url: '/api/vms', token: alice.token, body: { name: 'web', image: 'tiny', size: 's-1vcpu-1gb' } });
  assert.equal(res.statusCode, 201, res.body);
  await h.services.ops.idle();
  const sent: AlertNotification[] = [];
  mock.method(h.services.notifications, 'notify', async (n: AlertNotification) => void sent.push(n));
  const bus: BusMessage[] = [];
  h.services.bus.subscribe((m) => m.event.kind === 'alert' && bus.push(m));
  return { h, admin, alice, vmId: res.json().id, sent, bus };
}

/** Samples every 5 s of the test clock for `seconds`, each stamped with its own sampled_at; then waits for the evaluator. */
async function feed(c: Ctx, seconds: number, sample: (at: Date) => { ownerId: number; event: BusMessage['event'] }) {
  for (let t = 0; t < seconds; t += 5) {
    const { ownerId, event } = sample(c.h.clock.now());
    c.h.services.bus.publish(ownerId, event);
    c.h.clock.advanceMinutes(5 / 60);
  }
  await c.h.services.alertEngine.idle();
}
const vmFeed = (c: Ctx, seconds: number, v: { cpu?: number | null; memPercent?: number | null }) =>
  feed(c, seconds, (at) => ({ ownerId: c.alice.id, event: { kind: 'metrics', entity: 'vm', vm_id: c.vmId, sample: vmSample(c.vmId, at, v) } }));

async function policy(c: Ctx, body: Record<string, unknown>, token = c.alice.token): Promise<number> {
  const res = await c.h.request({ method: 'POST', url: '/api/alerts/policies', token, body });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().id;
}
const alertsOf = async (c: Ctx, policyId: number | null, metric?: string) =>
  (await c.h.db.handle.db.selectFrom('alerts').selectAll().orderBy('id').execute()).filter((a) => a.policy_id === policyId && (!metric || a.metric === metric));
/** Notifications about one policy's alerts (the health watch may notify about the same VM meanwhile). */
const sentOf = (c: Ctx, policyId: number | null, metric?: string) =>
  c.sent.filter((n) => {
    const a = n.data.alert as { policy_id: number | null; metric: string };
    return a.policy_id === policyId && (!metric || a.metric === metric);
  });
const eventsOf = async (c: Ctx, action: EventCode, alertIds: number[]) =>
  (await c.h.services.events.list({ action, limit: 500 })).filter((e) => alertIds.includes((e.details as { alert_id: number }).alert_id));

for (const kind of testDatabaseKinds()) {
  describe(`alert evaluator: open once, hysteresis, resolve once (${kind})`, () => {
    let c: Ctx;
    before(async () => {
      c = await setup(kind, { alertNotifyMinIntervalSeconds: 0, alertHysteresisPercent: 5 }, '25900-25949');
    });
    after(() => c.h.close());

    test('opens once the window is covered, exactly once; stays open in the hysteresis band; resolves exactly once; re-opens later', async () => {
      const channel = (await c.h.request({ method: 'POST', url: '/api/notifications/channels', token: c.alice.token, body: { kind: 'email', name: 'mail', email: 'alice@example.com' } })).json().id;
      const id = await policy(c, { entity: 'vm', metric: 'cpu_percent', compare: 'GreaterThan', value: 80, window: '5m', vm_ids: [c.vmId], channel_ids: [channel] });
      c.sent.length = 0;
      await vmFeed(c, 180, { cpu: 95 });
      assert.equal((await alertsOf(c, id)).length, 0, '3 of 5 minutes of data: the window is not covered yet');
      await vmFeed(c, 90, { cpu: 95 });
      let rows = await alertsOf(c, id);
      assert.equal(rows.length, 1, '4.5 minutes of data above the threshold: open');
      assert.equal(rows[0]!.state, 'open');
      assert.equal(Number(rows[0]!.value), 95);
      assert.equal(Number(rows[0]!.threshold), 80);
      assert.equal(rows[0]!.user_id, c.alice.id);
      assert.equal(rows[0]!.vm_id, c.vmId);
      assert.match(rows[0]!.message, /VM "web": CPU usage averaged 95 % over 5m, at or above 80 %/);
      await vmFeed(c, 600, { cpu: 95 });
      assert.equal((await alertsOf(c, id)).length, 1, 'still one alert after 10 more minutes above');

      // 78 % is below 80 but within the 5 % hysteresis band (down to 76): it stays open.
      await vmFeed(c, 600, { cpu: 78 });
      rows = await alertsOf(c, id);
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.state, 'open', 'within the hysteresis band: not resolved');
      assert.equal(Number(rows[0]!.last_value), 78, 'last_value follows the window average');

      await vmFeed(c, 600, { cpu: 70 });
      rows = await alertsOf(c, id);
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.state, 'resolved');
      assert.ok(rows[0]!.resolved_at);
      assert.ok(Number(rows[0]!.last_value) < 76 && Number(rows[0]!.last_value) >= 70, `resolved by ${rows[0]!.last_value}`);

      await vmFeed(c, 600, { cpu: 99 });
      rows = await alertsOf(c, id);
      assert.deepEqual(rows.map((r) => r.state), ['resolved', 'open'], 'a new firing is a new alert');

      const ids = rows.map((r) => r.id);
      const opened = await eventsOf(c, 'alert.opened', ids);
      const resolved = await eventsOf(c, 'alert.resolved', ids);
      assert.equal(opened.length, 2);
      assert.equal(resolved.length, 1);
      assert.deepEqual([opened[0]!.type, opened[0]!.severity, opened[0]!.vm_id, opened[0]!.user_id], ['vm', 'warning', c.vmId, c.alice.id]);
      assert.deepEqual([resolved[0]!.type, resolved[0]!.severity], ['vm', 'info']);

      assert.deepEqual(sentOf(c, id).map((n) => [n.topic, n.userId, n.channelIds, n.alertId]), [
        ['alert.opened', c.alice.id, [channel], ids[0]],
        ['alert.resolved', c.alice.id, [channel], ids[0]],
        ['alert.opened', c.alice.id, [channel], ids[1]],
      ]);
      assert.match(sentOf(c, id)[0]!.subject, /CPU usage/);
      const live = c.bus.filter((m) => m.event.kind === 'alert' && ids.includes(m.event.alert.id));
      assert.deepEqual(live.map((m) => [m.ownerId, m.event.kind === 'alert' && m.event.alert.state]), [[c.alice.id, 'open'], [c.alice.id, 'resolved'], [c.alice.id, 'open']]);

      // Deleting the policy resolves its open alert (once) and keeps the history.
      assert.equal((await c.h.request({ method: 'DELETE', url: `/api/alerts/policies/${id}`, token: c.alice.token })).statusCode, 204);
      rows = await alertsOf(c, id);
      assert.deepEqual(rows.map((r) => r.state), ['resolved', 'resolved']);
      assert.equal((await eventsOf(c, 'alert.resolved', ids)).length, 2);
    });

    test('the window follows the samples’ own sampled_at, not when they arrive', async () => {
      const id = await policy(c, { entity: 'vm', metric: 'cpu_percent', compare: 'LessThan', value: 5, window: '10m' });
      // 10 minutes of samples, all arriving at once: stamped 5 s apart, they cover the window.
      const start = c.h.clock.now().getTime();
      for (let i = 0; i < 120; i++) {
        c.h.services.bus.publish(c.alice.id, { kind: 'metrics', entity: 'vm', vm_id: c.vmId, sample: vmSample(c.vmId, new Date(start + i * 5000), { cpu: 1 }) });
      }
      await c.h.services.alertEngine.idle();
      assert.equal((await alertsOf(c, id)).filter((a) => a.state === 'open').length, 1);
      // A sample from before the newest one (out of order) is ignored.
      c.h.services.bus.publish(c.alice.id, { kind: 'metrics', entity: 'vm', vm_id: c.vmId, sample: vmSample(c.vmId, new Date(start), { cpu: 100 }) });
      await c.h.services.alertEngine.idle();
      assert.equal((await alertsOf(c, id))[0]!.state, 'open');
      c.h.clock.advanceMinutes(10);
      await c.h.request({ method: 'DELETE', url: `/api/alerts/policies/${id}`, token: c.alice.token });
    });

    test('null values (silent guest agent) are never evaluated, never read as 0', async () => {
      const high = await policy(c, { entity: 'vm', metric: 'memory_percent', compare: 'GreaterThan', value: 50 });
      const low = await policy(c, { entity: 'vm', metric: 'memory_percent', compare: 'LessThan', value: 10 });
      await vmFeed(c, 300, { cpu: 10, memPercent: 90 });
      assert.equal((await alertsOf(c, high))[0]?.state, 'open');
      await vmFeed(c, 900, { cpu: 10, memPercent: null });
      assert.equal((await alertsOf(c, high))[0]?.state, 'open', 'no guest memory: the alert neither resolves nor changes');
      assert.equal(Number((await alertsOf(c, high))[0]!.last_value), 90);
      assert.equal((await alertsOf(c, low)).length, 0, 'no guest memory is not 0 % memory');
      // The agent back: a window has to fill again before anything is judged.
      await vmFeed(c, 120, { cpu: 10, memPercent: 20 });
      assert.equal((await alertsOf(c, high))[0]?.state, 'open', 'two minutes of data is not a covered window');
      await vmFeed(c, 180, { cpu: 10, memPercent: 20 });
      assert.equal((await alertsOf(c, high))[0]?.state, 'resolved');
      for (const id of [high, low]) await c.h.request({ method: 'DELETE', url: `/api/alerts/policies/${id}`, token: c.alice.token });
    });

    test('host alerts: the default memory policy, a system event, to admins only', async () => {
      c.sent.length = 0;
      await feed(c, 300, (at) => ({ ownerId: 0, event: { kind: 'metrics', entity: 'host', sample: hostSample(at, 92) } }));
      const memPolicy = (await c.h.db.handle.db.selectFrom('alert_policies').select('id').where('user_id', 'is', null).where('metric', '=', 'memory_percent').executeTakeFirstOrThrow()).id;
      const rows = await alertsOf(c, memPolicy);
      assert.equal(rows.length, 1);
      assert.deepEqual([rows[0]!.entity, rows[0]!.user_id, rows[0]!.vm_id, rows[0]!.state], ['host', null, null, 'open']);
      assert.equal((await alertsOf(c, (await c.h.db.handle.db.selectFrom('alert_policies').select('id').where('user_id', 'is', null).where('metric', '=', 'swap_percent').executeTakeFirstOrThrow()).id)).length, 0, 'no swap: nothing judged');
      const [ev] = await eventsOf(c, 'alert.opened', [rows[0]!.id]);
      assert.deepEqual([ev!.type, ev!.severity, ev!.user_id], ['system', 'warning', null]);
      assert.deepEqual(sentOf(c, memPolicy).map((n) => [n.topic, n.userId, n.channelIds]), [['alert.opened', 'admins', undefined]]);
      assert.equal(c.bus.find((m) => m.event.kind === 'alert' && m.event.alert.id === rows[0]!.id)?.ownerId, 0);
      const asAlice = (await c.h.request({ method: 'GET', url: '/api/metrics/alerts', token: c.alice.token })).json() as { id: number }[];
      assert.ok(!asAlice.some((a) => a.id === rows[0]!.id), 'a user does not see host alerts');
      const asAdmin = (await c.h.request({ method: 'GET', url: '/api/metrics/alerts?state=open', token: await c.h.adminToken() })).json() as { id: number }[];
      assert.ok(asAdmin.some((a) => a.id === rows[0]!.id));
      // An admin disables the policy: its open alert resolves.
      await c.h.request({ method: 'PATCH', url: `/api/alerts/policies/${memPolicy}`, token: await c.h.adminToken(), body: { enabled: false } });
      assert.equal((await alertsOf(c, memPolicy))[0]!.state, 'resolved');
    });

    test('health conditions: raise is idempotent, clear resolves once, both notify the owner', async () => {
      c.sent.length = 0;
      const raise = () => c.h.services.alerts.raiseCondition({ userId: c.alice.id, vmId: c.vmId, metric: 'test_condition', message: 'VM "web" stopped answering' });
      await Promise.all([raise(), raise()]);
      await raise();
      let rows = await alertsOf(c, null, 'test_condition');
      assert.deepEqual(rows.map((r) => r.state), ['open']);
      await c.h.services.alerts.clearCondition({ vmId: c.vmId, metric: 'test_condition', message: 'VM "web" answers again' });
      await c.h.services.alerts.clearCondition({ vmId: c.vmId, metric: 'test_condition', message: 'VM "web" answers again' });
      rows = await alertsOf(c, null, 'test_condition');
      assert.deepEqual(rows.map((r) => r.state), ['resolved']);
      const sent = sentOf(c, null, 'test_condition');
      assert.deepEqual(sent.map((n) => [n.topic, n.userId]), [['alert.opened', c.alice.id], ['alert.resolved', c.alice.id]]);
      assert.match(sent[1]!.text, /answers again/);
      assert.equal((await eventsOf(c, 'alert.opened', [rows[0]!.id])).length, 1);
    });

    test('a VM that stops resolves its policy alerts', async () => {
      const id = await policy(c, { entity: 'vm', metric: 'cpu_percent', compare: 'GreaterThan', value: 50 });
      await vmFeed(c, 300, { cpu: 90 });
      assert.equal((await alertsOf(c, id))[0]?.state, 'open');
      const stop = await c.h.request({ method: 'POST', url: `/api/vms/${c.vmId}/action`, token: c.alice.token, body: { action: 'stop' } });
      assert.ok([200, 202].includes(stop.statusCode), stop.body);
      await c.h.services.ops.idle();
      await c.h.services.alertEngine.idle();
      assert.equal((await alertsOf(c, id))[0]?.state, 'resolved');
    });

    test('the database allows one open alert per key, on both databases', async () => {
      const repo = new AlertsRepository(c.h.db.handle.db);
      const base = { policy_id: null, user_id: c.alice.id, entity: 'vm' as const, vm_id: c.vmId, metric: 'test', compare: null, threshold: null, value: null, message: 'x', open_key: 'condition:test:vm:1', opened_at: new Date().toISOString() };
      assert.ok(await repo.open(base));
      assert.equal(await repo.open(base), undefined, 'a second open alert of the key is refused');
      assert.ok(await repo.resolve(base.open_key, new Date().toISOString(), null));
      assert.equal(await repo.resolve(base.open_key, new Date().toISOString(), null), undefined, 'resolves once');
      assert.ok(await repo.open(base), 'after resolving, the key may open again');
    });
  });

  describe(`alert notifications: the per-policy rate cap (${kind})`, () => {
    let c: Ctx;
    before(async () => {
      c = await setup(kind, { alertNotifyMinIntervalSeconds: 600, alertHysteresisPercent: 5 }, '25950-25999');
    });
    after(() => c.h.close());

    test('a flapping alert opens and resolves in the database each time but notifies at most once per interval, ending on the truth', async () => {
      const id = await policy(c, { entity: 'vm', metric: 'cpu_percent', compare: 'GreaterThan', value: 80, vm_ids: [c.vmId] });
      const states = async () => (await alertsOf(c, id)).map((r) => r.state);
      await vmFeed(c, 300, { cpu: 95 }); // opens at ~240 s: notified
      assert.deepEqual(await states(), ['open']);
      assert.deepEqual(sentOf(c, id).map((n) => n.topic), ['alert.opened']);
      await vmFeed(c, 150, { cpu: 50 }); // resolves ~130 s later: within 600 s of the last notification
      assert.deepEqual(await states(), ['resolved']);
      await vmFeed(c, 300, { cpu: 95 }); // opens again, still within the interval
      assert.deepEqual(await states(), ['resolved', 'open']);
      assert.deepEqual(sentOf(c, id).map((n) => n.topic), ['alert.opened'], 'the flap is held back');
      await vmFeed(c, 150, { cpu: 95 }); // the interval passes: still open, as they were told: nothing to send
      assert.deepEqual(sentOf(c, id).map((n) => n.topic), ['alert.opened']);
      await vmFeed(c, 300, { cpu: 50 }); // resolves after the interval: notified at once
      assert.deepEqual(await states(), ['resolved', 'resolved']);
      assert.deepEqual(sentOf(c, id).map((n) => n.topic), ['alert.opened', 'alert.resolved']);
      await vmFeed(c, 300, { cpu: 95 }); // opens within 600 s of that: held back…
      assert.deepEqual(await states(), ['resolved', 'resolved', 'open']);
      assert.equal(sentOf(c, id).length, 2);
      await vmFeed(c, 300, { cpu: 95 }); // …and sent once the interval has passed, as the state now
      assert.deepEqual(sentOf(c, id).map((n) => n.topic), ['alert.opened', 'alert.resolved', 'alert.opened']);
      const last = sentOf(c, id)[2]!;
      assert.equal(last.alertId, (await alertsOf(c, id))[2]!.id);
      assert.equal(last.data.delayed, true);
      assert.match(last.text, /limited to one every 600 s/);

      const rows = await alertsOf(c, id);
      assert.equal((await eventsOf(c, 'alert.opened', rows.map((r) => r.id))).length, 3, 'every transition is an event');
      assert.equal((await eventsOf(c, 'alert.resolved', rows.map((r) => r.id))).length, 2);
    });
  });
}
