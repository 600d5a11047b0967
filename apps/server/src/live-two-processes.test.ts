import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, mock, test } from 'node:test';
import { sql } from 'kysely';
import type { StreamEvent, VmMetrics } from '@twarga/contract';
import { buildApp } from './app.js';
import { RESYNC_MS } from './modules/alerts/alert-engine.js';
import { loadOrCreateSecrets } from './config/secrets.js';
import { openDatabase, type DatabaseHandle } from './db/database.js';
import { openEventStream } from './test-support/event-stream.js';
import { FakeDriver } from './test-support/fake-driver.js';
import { createHarness, type Harness } from './test-support/harness.js';

type Built = Awaited<ReturnType<typeof buildApp>>;
interface Process {
  built: Built;
  database: DatabaseHandle;
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 5_000): Promise<number> {
  const start = Date.now();
  while (!(await ok())) {
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - start;
}

const src = (value: number | null) => (value === null ? { value: null, source: null } : { value, source: 'hypervisor' as const });
function vmSample(vmId: number, at: Date, cpu: number): VmMetrics {
  return {
    vm_id: vmId, sampled_at: at.toISOString(), cpu_usage: cpu, memory_usage: null, disk_usage: null, uptime: 100, ip_address: null,
    cpu_percent: src(cpu), memory_rss_bytes: { value: 900 * 2 ** 20, source: 'host' }, guest_memory_used_bytes: src(null), guest_memory_total_bytes: src(null),
    fs_used_bytes: src(null), fs_total_bytes: src(null), disk_read_bytes_per_sec: src(0), disk_write_bytes_per_sec: src(0), disk_read_iops: src(null), disk_write_iops: src(null),
    net_rx_bytes_per_sec: src(null), net_tx_bytes_per_sec: src(null), ip: { value: null, source: null }, guest_agent: false,
  };
}

/**
 * The live stream across two server processes on one PostgreSQL (issue 16): what happens through
 * process A reaches browsers on process B (owner filtering intact), big messages too, and again
 * after the relay's connection is cut; the consumers that must act once in the cluster (brute-force
 * detection, alerts) act once, on the leader. PostgreSQL only: SQLite has one process.
 */
describe('live stream across two server processes on one PostgreSQL', { skip: process.env.TWARGA_TEST_PG_URL ? false : 'needs TWARGA_TEST_PG_URL' }, () => {
  let h: Harness;
  let a: Process;
  let b: Process;
  let baseB: string;
  let alice: { id: number; token: string };
  let bob: { id: number; token: string };

  const start = async (): Promise<Process> => {
    const database = await openDatabase({ url: h.db.url!, dataDir: h.db.dataDir });
    const config = { ...h.config, databaseUrl: h.db.url! };
    const built = await buildApp({ config, secrets: loadOrCreateSecrets(h.db.dataDir), database, clock: h.clock, logger: false, driver: new FakeDriver() });
    await built.app.ready();
    return { built, database };
  };
  const listenPids = async () =>
    (await sql<{ pid: number }>`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN twarga_live%'`.execute(h.db.handle.db)).rows.map((r) => r.pid);

  before(async () => {
    h = await createHarness('postgres', { sshPortRange: '26700-26749', alertNotifyMinIntervalSeconds: 0 });
    alice = await h.user('alice');
    bob = await h.user('bob');
    const admin = await h.adminToken();
    await h.request({ method: 'POST', url: `/api/admin/users/${alice.id}/credits`, token: admin, body: { amount: 100_000, reason: 'test' } });
    // The harness's own app has no relay (its config names no database URL): it steps aside, and with it its
    // claim on the cluster's leadership. A then leads the cluster's jobs; B stands by (it finds the lock taken).
    await h.app.close();
    a = await start();
    const jobA = a.built.services.metering.job;
    jobA.start(100);
    await until('A leads', () => jobA.status().running && a.built.services.bus.leading);
    b = await start();
    await b.built.app.listen({ port: 0, host: '127.0.0.1' });
    baseB = `http://127.0.0.1:${(b.built.app.server.address() as AddressInfo).port}`;
    const jobB = b.built.services.metering.job;
    jobB.start(100);
    await until('B stands by', () => jobB.status().standby);
    await until('both relays listen', async () => (await listenPids()).length === 2);
  });
  after(async () => {
    for (const p of [a, b]) {
      p?.built.services.metering.job.stop();
      await p?.built.app.close().catch(() => {});
      await p?.database.close();
    }
    await h?.close();
  });

  test("a browser on B sees the VM created and the event recorded through A; another user's browser on B sees none of it", async () => {
    const [aliceOnB, bobOnB] = [await openEventStream(baseB, alice.token), await openEventStream(baseB, bob.token)];
    const onA: StreamEvent[] = [];
    const stopA = a.built.services.bus.subscribeCluster((m) => void onA.push(m.event));
    try {
      const res = await a.built.app.inject({ method: 'POST', url: '/api/vms', headers: { authorization: `Bearer ${alice.token}` }, payload: { name: 'relayed', image: 'tiny', size: 's-1vcpu-1gb' } });
      assert.equal(res.statusCode, 201, res.body);
      const vmId = res.json().id as number;
      await a.built.services.events.record({ type: 'vm', severity: 'info', action: 'vm.create', message: 'marker recorded through A', userId: alice.id, vmId });
      const about = (m: StreamEvent) => (m.kind === 'vm' && m.vm.id === vmId) || (m.kind === 'event' && m.event.message === 'marker recorded through A');
      await until("alice's stream on B gets the VM and the event", () =>
        aliceOnB.received.some((m) => m.kind === 'vm' && m.vm.id === vmId) && aliceOnB.received.some((m) => m.kind === 'event' && m.event.message === 'marker recorded through A'));
      const markers = aliceOnB.received.filter((m) => m.kind === 'event' && m.event.message === 'marker recorded through A');
      assert.equal(markers.length, 1, 'once on B');
      await a.built.services.ops.idle();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(onA.filter((m) => m.kind === 'event' && m.event.message === 'marker recorded through A').length, 1, 'once on A: no echo back, no loop');
      assert.deepEqual(bobOnB.received.filter(about), [], "bob's stream on B never sees alice's VM or event");
    } finally {
      stopA();
      aliceOnB.close();
      bobOnB.close();
    }
  });

  test('a message far above the 8000-byte NOTIFY limit arrives whole', async () => {
    const stream = await openEventStream(baseB, alice.token);
    try {
      const sample = vmSample(4242, h.clock.now(), 12);
      const big = { ...sample, padding: 'x'.repeat(20_000) } as VmMetrics;
      a.built.services.bus.publish(alice.id, { kind: 'metrics', entity: 'vm', vm_id: 4242, sample: big });
      await until('the big sample on B', () => stream.received.some((m) => m.kind === 'metrics' && m.entity === 'vm' && m.vm_id === 4242));
      const got = stream.received.find((m) => m.kind === 'metrics' && m.entity === 'vm' && m.vm_id === 4242)!;
      assert.equal(JSON.stringify(got).length > 20_000, true);
      assert.deepEqual((got as { sample: VmMetrics }).sample, big);
    } finally {
      stream.close();
    }
  });

  test("after the relays' LISTEN connections are terminated, messages flow again within a few seconds", async () => {
    const stream = await openEventStream(baseB, alice.token);
    try {
      const before = await listenPids();
      assert.equal(before.length, 2);
      for (const pid of before) await sql`SELECT pg_terminate_backend(${pid})`.execute(h.db.handle.db);
      const cut = Date.now();
      // Messages sent while a relay is away are missed: send a new one every 100 ms until one arrives.
      let n = 0;
      const arrived = (m: StreamEvent) => m.kind === 'event' && m.event.message.startsWith('after the cut ');
      await until('a message from A reaches B again', async () => {
        await a.built.services.events.record({ type: 'auth', severity: 'info', action: 'login.succeeded', message: `after the cut ${++n}`, userId: alice.id });
        await new Promise((r) => setTimeout(r, 100));
        return stream.received.some(arrived);
      }, 10_000);
      assert.ok(Date.now() - cut < 5_000, `flowed again after ${Date.now() - cut} ms`);
      const after = await listenPids();
      assert.equal(after.length, 2, 'both relays listen again');
      assert.equal(after.some((pid) => before.includes(pid)), false, 'on new connections');
    } finally {
      stream.close();
    }
  });

  test('failed logins split over both processes add up: the brute-force rule opens exactly one incident', async () => {
    const ip = '198.51.100.23';
    const fail = (p: Process) =>
      p.built.app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: ip, payload: { username: 'alice', password: 'wrong password!' } });
    // 12 failures, 6 through each: neither process alone reaches the rule's threshold of 10.
    // (The account locks after a few: later attempts get another 4xx, and still count.)
    for (let i = 0; i < 6; i++) {
      for (const p of [a, b]) assert.ok((await fail(p)).statusCode >= 400);
    }
    const incidents = async () =>
      (await h.db.handle.db.selectFrom('soc_incidents').select(['id', 'rule_id']).where('rule_id', '=', 'control_plane_brute_force').where('source_ip', '=', ip).execute()).length;
    await until('an incident', async () => (await incidents()) > 0);
    await new Promise((r) => setTimeout(r, 500));
    await Promise.all([a.built.services.soc.detection.engine.idle(), b.built.services.soc.detection.engine.idle()]);
    assert.equal(await incidents(), 1);
    // Each failure counted once in the cluster: a second consumer would have added its own count to the incident.
    const [incident] = await h.db.handle.db.selectFrom('soc_incidents').select('event_count').where('source_ip', '=', ip).execute();
    assert.equal(Number(incident!.event_count), 12);
    // The rule's response blocks the address on the control plane: both processes' blocklists hold it.
    await until("B's blocklist holds the leader's block", () => b.built.services.soc.blocklist.blocksControlPlane(ip));
    assert.equal(a.built.services.soc.blocklist.blocksControlPlane(ip), true);
  });

  test('a threshold crossed on the leader\'s samples opens one alert, and the standby judges none of them', async () => {
    const res = await a.built.app.inject({ method: 'POST', url: '/api/vms', headers: { authorization: `Bearer ${alice.token}` }, payload: { name: 'hot', image: 'tiny', size: 's-1vcpu-1gb' } });
    assert.equal(res.statusCode, 201, res.body);
    const vmId = res.json().id as number;
    await a.built.services.ops.idle();
    const created = await b.built.app.inject({
      method: 'POST', url: '/api/alerts/policies', headers: { authorization: `Bearer ${alice.token}` },
      payload: { entity: 'vm', metric: 'cpu_percent', compare: 'GreaterThan', value: 80, window: '5m', vm_ids: [vmId] },
    });
    assert.equal(created.statusCode, 201, created.body);
    // A policy made through B reaches the leader's engine at its next read of the policies.
    await new Promise((r) => setTimeout(r, RESYNC_MS + 100));
    const judgedOnB = mock.method(b.built.services.alertEngine, 'enqueue');
    const alertsOnB: StreamEvent[] = [];
    const stop = b.built.services.bus.subscribeCluster((m) => m.event.kind === 'alert' && alertsOnB.push(m.event));
    try {
      // The leader's collector publishes on A: 5.5 minutes of samples at 95 % every 5 s.
      for (let t = 0; t < 330; t += 5) {
        a.built.services.bus.publish(alice.id, { kind: 'metrics', entity: 'vm', vm_id: vmId, sample: vmSample(vmId, h.clock.now(), 95) });
        h.clock.advanceMinutes(5 / 60);
      }
      await a.built.services.alertEngine.idle();
      const open = async () => (await h.db.handle.db.selectFrom('alerts').select('id').where('vm_id', '=', vmId).where('metric', '=', 'cpu_percent').execute()).length;
      await until('the alert', async () => (await open()) > 0);
      await until('B hears of it', () => alertsOnB.length > 0);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(await open(), 1);
      assert.equal(alertsOnB.length, 1, 'one alert message reaches B');
      assert.equal(judgedOnB.mock.callCount(), 0, 'the standby evaluated no sample');
    } finally {
      stop();
      judgedOnB.mock.restore();
    }
  });
});
