import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AdminHealth, AdminStatistics, HealthComponent } from '@twarga/contract';
import { testDatabaseKinds } from '../../../test-support/databases.js';
import { FakeDriver } from '../../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../../test-support/harness.js';

/** A fake hypervisor that can stop answering (list() fails) or hang (never answers). */
class FlakyDriver extends FakeDriver {
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  private release?: () => void;
  override async list() {
    if (this.mode === 'fail') throw new Error('Failed to connect socket to /var/run/libvirt/libvirt-sock: Connection refused');
    if (this.mode === 'hang') await new Promise<void>((r) => (this.release = r));
    return super.list();
  }
  unhang() {
    this.release?.();
  }
}

const component = (h: AdminHealth, name: string) => {
  const c = h.components.find((x) => x.name === name);
  assert.ok(c, `no component ${name} in ${h.components.map((x) => x.name).join(', ')}`);
  return c;
};

for (const kind of testDatabaseKinds()) {
  describe(`admin system health and statistics (${kind})`, () => {
    let h: Harness;
    let admin: string;
    const driver = new FlakyDriver();
    const jobs = () => [h.services.reconciler.job, h.services.snapshotReconciler.job, h.services.collector.job, h.services.healthWatch.job, h.services.metering.job];
    before(async () => {
      h = await createHarness(kind, { sshPortRange: '27500-27549' }, driver);
      admin = await h.adminToken();
    });
    after(async () => {
      driver.unhang();
      await h.close();
    });

    const health = async () => {
      const res = await h.request({ method: 'GET', url: '/api/admin/health', token: admin });
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as AdminHealth;
    };

    test('every component is judged; with jobs that just ran and a reachable host, all is healthy', async () => {
      for (const job of jobs()) {
        job.start(3_600_000);
        await job.run();
      }
      const report = await health();
      assert.equal(report.status, 'healthy', JSON.stringify(report.components.filter((c) => c.status !== 'healthy')));
      assert.equal(component(report, 'database').status, 'healthy');
      assert.match(component(report, 'database').detail, new RegExp(kind));
      assert.equal(component(report, 'data_dir').kind, 'disk');
      assert.equal(typeof component(report, 'data_dir').facts!.free_mb, 'number');
      const local = component(report, 'host:local');
      assert.equal(local.facts!.reachable, true);
      assert.equal(local.facts!.driver_name, 'fake');
      assert.deepEqual(Object.keys(local.facts!.capacity as object).sort(), ['ram_mb', 'vcpus']);
      for (const name of ['job:reconcile', 'job:metrics_collector', 'job:health_watch', 'job:metering']) {
        const job = component(report, name);
        assert.equal(job.status, 'healthy', job.detail);
        assert.equal(job.interval_seconds, 3600);
        assert.ok(job.last_run_at);
      }
      assert.equal(component(report, 'syslog_receiver').status, 'healthy');
      assert.match(component(report, 'syslog_receiver').detail, /off by configuration/);
      const server = component(report, 'server');
      assert.equal(server.facts!.node_version, process.version);
      assert.equal(server.facts!.pid, process.pid);
      assert.equal(report.version, server.facts!.version);
      assert.equal((await h.request({ method: 'GET', url: '/api/admin/health', token: (await h.user('peeker')).token })).statusCode, 403);
    });

    test('a host whose driver cannot be reached is failed, and so is the whole report', async () => {
      driver.mode = 'fail';
      try {
        const report = await health();
        const local = component(report, 'host:local');
        assert.equal(local.status, 'failed');
        assert.match(local.detail, /unreachable: .*Connection refused/);
        assert.equal(report.status, 'failed', 'overall = the worst component');
      } finally {
        driver.mode = 'ok';
      }
    });

    test('a host that hangs is reported unreachable within the deadline: the endpoint still answers in about 3 s', async () => {
      driver.mode = 'hang';
      const started = Date.now();
      const report = await health();
      const took = Date.now() - started;
      driver.mode = 'ok';
      assert.ok(took < 3_500, `answered after ${took} ms`);
      assert.equal(component(report, 'host:local').status, 'failed');
      assert.match(component(report, 'host:local').detail, /no answer within 2500 ms/);
      driver.unhang();
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(component(await health(), 'host:local').status, 'healthy', 'answers again once the host does');
    });

    test('a disabled host is degraded', async () => {
      const created = await h.request({ method: 'POST', url: '/api/admin/hosts', token: admin, body: { name: 'spare', driver: 'libvirt', uri: 'qemu+ssh://root@192.0.2.10/system', ram_mb: 4096, vcpus: 8, enabled: false } });
      assert.equal(created.statusCode, 201, created.body);
      const report = await health();
      const spare = component(report, 'host:spare');
      assert.equal(spare.status, 'degraded');
      assert.match(spare.detail, /disabled/);
      assert.equal(report.status, 'degraded');
      assert.equal((await h.request({ method: 'DELETE', url: `/api/admin/hosts/${created.json().id}`, token: admin })).statusCode, 204);
    });

    test('a job that stopped running on time is degraded when late, failed when long dead; a failing pass is degraded', async () => {
      // Periodic stamps its passes with the wall clock: a pass "hours ago" is its status saying so.
      const job = h.services.reconciler.job;
      const real = job.status.bind(job);
      const lastRanHoursAgo = (hours: number) => (job.status = () => ({ ...real(), lastRunAt: new Date(Date.now() - hours * 3600_000) }));
      try {
        lastRanHoursAgo(4);
        let report = await health();
        const late = component(report, 'job:reconcile');
        assert.equal(late.status, 'degraded');
        assert.match(late.detail, /late/);
        assert.equal(report.status, 'degraded');
        lastRanHoursAgo(11);
        report = await health();
        assert.equal(component(report, 'job:reconcile').status, 'failed');
        assert.equal(report.status, 'failed');
        lastRanHoursAgo(1);
        assert.equal((await health()).status, 'healthy', 'one pass an interval ago is on time');
        job.status = () => ({ ...real(), lastError: 'virsh: connection reset' });
        const failing = component(await health(), 'job:reconcile');
        assert.equal(failing.status, 'degraded');
        assert.match(failing.detail, /last pass failed: virsh: connection reset/);
      } finally {
        job.status = real;
      }
      assert.equal((await health()).status, 'healthy');
      h.services.reconciler.job.stop();
      const stopped = component(await health(), 'job:reconcile');
      assert.equal(stopped.status, 'degraded');
      assert.match(stopped.detail, /not running/);
    });

    test('statistics: users, VMs, credits and events move by exactly what was done', async () => {
      const stats = async () => {
        const res = await h.request({ method: 'GET', url: '/api/admin/statistics', token: admin });
        assert.equal(res.statusCode, 200, res.body);
        return res.json() as AdminStatistics;
      };
      const s0 = await stats();
      const ann = await h.user('ann');
      const ben = await h.user('ben');
      const cid = await h.user('cid');
      const signup = h.config.signupCredits;
      const vm1 = await h.vm(ann, 'ann-vm');
      const vm2 = await h.vm(ben, 'ben-vm');
      const price = async (token: string, id: number) => ((await h.request({ method: 'GET', url: `/api/vms/${id}`, token })).json() as { price_hourly: number }).price_hourly;
      const [p1, p2] = [await price(ann.token, vm1), await price(ben.token, vm2)];
      const stop = await h.request({ method: 'POST', url: `/api/vms/${vm2}/action`, token: ben.token, body: { action: 'stop' } });
      assert.ok([200, 201, 202].includes(stop.statusCode), stop.body);
      await h.services.ops.idle();
      assert.equal((await h.request({ method: 'POST', url: `/api/admin/users/${cid.id}/credits`, token: admin, body: { amount: -50, reason: 'correction' } })).statusCode, 200);
      assert.equal((await h.request({ method: 'PATCH', url: `/api/admin/users/${cid.id}`, token: admin, body: { is_active: false } })).statusCode, 200);
      const now = h.clock.now().toISOString();
      await h.db.handle.db.updateTable('users').set({ grace_started_at: now }).where('id', '=', ann.id).execute();
      await h.db.handle.db.updateTable('users').set({ grace_started_at: now, suspended_at: now }).where('id', '=', ben.id).execute();
      for (let i = 0; i < 2; i++) await h.services.events.record({ type: 'system', severity: 'critical', action: 'admin.bootstrapped', message: `critical ${i}` });

      const s1 = await stats();
      assert.deepEqual(
        { total: s1.users.total - s0.users.total, active: s1.users.active - s0.users.active, admins: s1.users.admins - s0.users.admins, in_grace: s1.users.in_grace - s0.users.in_grace, suspended: s1.users.suspended - s0.users.suspended },
        { total: 3, active: 2, admins: 0, in_grace: 1, suspended: 1 },
      );
      assert.equal(s1.vms.total - s0.vms.total, 2);
      assert.equal((s1.vms.by_status.running ?? 0) - (s0.vms.by_status.running ?? 0), 1);
      assert.equal((s1.vms.by_status.stopped ?? 0) - (s0.vms.by_status.stopped ?? 0), 1);
      const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
      // Only running VMs have a health (the stopped one has none): booting until the guest answers.
      assert.equal(sum(s1.vms.by_health) - sum(s0.vms.by_health), 1);
      assert.equal((s1.vms.by_health.booting ?? 0) - (s0.vms.by_health.booting ?? 0), 1);
      assert.equal(s1.credits.burn_rate_hourly - s0.credits.burn_rate_hourly, p1 + p2, 'a stopped VM still bills');
      assert.ok(p1 > 0 && p2 > 0);
      assert.equal(s1.credits.charged_this_month - s0.credits.charged_this_month, p1 + p2, 'the two first hours');
      assert.equal(s1.credits.granted_this_month - s0.credits.granted_this_month, 3 * signup + 2 * 100_000, 'sign-ups and the two top-ups, not the debit');
      assert.equal(s1.credits.outstanding - s0.credits.outstanding, 3 * signup + 2 * 100_000 - p1 - p2 - 50);
      assert.equal(s1.events_24h.critical - s0.events_24h.critical, 2);
      assert.ok(['healthy', 'degraded', 'failed'].includes(s1.health.status));
      assert.ok(s1.health.components.some((c: HealthComponent) => c.kind === 'host'));

      h.clock.advanceMinutes(25 * 60);
      admin = await h.adminToken();
      assert.equal((await stats()).events_24h.critical, 0, 'older than 24 h no longer counts');
    });
  });

  describe(`admin system health: the syslog receiver (${kind})`, () => {
    let h: Harness;
    before(async () => {
      h = await createHarness(kind, { syslogListen: '127.0.0.1:0' }, new FakeDriver());
    });
    after(() => h.close());

    test('configured but not listening is failed; listening is healthy, with its ports', async () => {
      const admin = await h.adminToken();
      const get = async () => component((await h.request({ method: 'GET', url: '/api/admin/health', token: admin })).json() as AdminHealth, 'syslog_receiver');
      const down = await get();
      assert.equal(down.status, 'failed');
      assert.match(down.detail, /configured for 127\.0\.0\.1:0 but not listening/);
      await h.services.soc.start();
      const up = await get();
      assert.equal(up.status, 'healthy', up.detail);
      assert.match(up.detail, /listening on 127\.0\.0\.1:0 \(UDP \d+, TCP \d+\)/);
    });
  });
}
