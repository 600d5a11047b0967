import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Alert, EventCode, StreamEvent, Vm, VmMetrics } from '@twarga/contract';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';

const WATCHDOG_S = 60;
const UNRESPONSIVE_S = 30;

/** A sample as the collector publishes it for a VM whose guest agent answered guest-ping. */
function agentSample(vmId: number, at: Date): VmMetrics {
  const none = { value: null, source: null };
  return {
    vm_id: vmId, sampled_at: at.toISOString(), cpu_usage: null, memory_usage: null, disk_usage: null, uptime: null, ip_address: null,
    cpu_percent: none, memory_rss_bytes: none, guest_memory_used_bytes: none, guest_memory_total_bytes: none, fs_used_bytes: none, fs_total_bytes: none,
    disk_read_bytes_per_sec: none, disk_write_bytes_per_sec: none, disk_read_iops: none, disk_write_iops: none, net_rx_bytes_per_sec: none, net_tx_bytes_per_sec: none,
    ip: { value: null, source: null }, guest_agent: true,
  };
}

/** A loopback listener on the VM's forwarded SSH port: an SSH banner, or (silent) what QEMU's port forward does when nothing listens in the guest. */
function sshListener(port: number, mode: 'banner' | 'silent'): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => {
      if (mode === 'banner') socket.end('SSH-2.0-dropbear_2022.83\r\n');
      else socket.destroy();
    });
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
const closeServer = (s: Server) => new Promise<void>((r) => s.close(() => r()));

/**
 * The health state machine with a fake driver and the harness's clock: booting → responsive →
 * unresponsive → responsive, the boot watchdog (once), the opt-in reset (once per boot), and the
 * alert a health condition opens and resolves.
 */
for (const kind of testDatabaseKinds()) {
  describe(`VM health and the boot watchdog (${kind})`, () => {
    let h: Harness;
    let driver: FakeDriver;
    let alice: { id: number; token: string };
    const published: Vm[] = [];
    before(async () => {
      driver = new FakeDriver();
      h = await createHarness(kind, { maxVmsPerUser: 20, sshPortRange: '25700-25799', bootWatchdogSeconds: WATCHDOG_S, healthUnresponsiveSeconds: UNRESPONSIVE_S }, driver);
      alice = await h.user('halice');
      h.services.bus.subscribe(({ event }: { event: StreamEvent }) => {
        if (event.kind === 'vm') published.push(event.vm);
      });
    });
    after(() => h.close());

    const advance = (seconds: number) => h.clock.advanceMinutes(seconds / 60);
    const pass = async () => {
      await h.services.healthWatch.pass();
      await h.services.healthWatch.idle();
    };
    const agentAnswers = async (vm: Vm) => {
      h.services.bus.publish(vm.user_id, { kind: 'metrics', entity: 'vm', vm_id: vm.id, sample: agentSample(vm.id, h.clock.now()) });
      await h.services.healthWatch.idle();
    };
    const getVm = async (id: number): Promise<Vm> => (await h.request({ method: 'GET', url: `/api/vms/${id}`, token: alice.token })).json();
    const events = async (action: EventCode, vmId: number) => (await h.services.events.list({ action })).filter((e) => e.vm_id === vmId);
    const alerts = async (vmId: number): Promise<Alert[]> => {
      const res = await h.request({ method: 'GET', url: `/api/metrics/alerts?state=all&vm_id=${vmId}`, token: alice.token });
      assert.equal(res.statusCode, 200, res.body);
      return (res.json() as Alert[]).filter((a) => a.metric === 'unresponsive');
    };
    async function running(name: string, extra: Record<string, unknown> = {}): Promise<Vm> {
      const res = await h.request({ method: 'POST', url: '/api/vms', token: alice.token, body: { name, ...extra } });
      assert.equal(res.statusCode, 201, res.body);
      await h.services.ops.idle();
      const vm = await getVm(res.json().id);
      assert.equal(vm.status, 'running');
      return vm;
    }
    const act = async (id: number, action: string, force = false) => {
      const res = await h.request({ method: 'POST', url: `/api/vms/${id}/action`, token: alice.token, body: { action, force } });
      assert.equal(res.statusCode, 202, res.body);
      await h.services.ops.idle();
    };

    test('agent VM: booting → responsive → unresponsive (an SSH banner does not hide a dead agent) → responsive, with one alert', async () => {
      const vm = await running('agent-vm');
      assert.equal(vm.health, 'booting');
      assert.equal(vm.health_since, vm.booted_at, 'booting from its start');
      assert.equal(vm.watchdog_reset, false);

      await pass();
      assert.equal((await getVm(vm.id)).health, 'booting', 'nothing answered yet');

      advance(10);
      await agentAnswers(vm);
      const up = await getVm(vm.id);
      assert.equal(up.health, 'responsive', 'the agent answering is proof of life, at once');
      assert.equal(up.health_since, h.clock.now().toISOString());
      assert.equal(published.at(-1)?.id, vm.id);
      assert.equal(published.at(-1)?.health, 'responsive', 'the transition is pushed on the live channel');
      const [responsive] = await events('vm.health.responsive', vm.id);
      assert.equal(responsive?.details.source, 'guest-agent');

      advance(UNRESPONSIVE_S - 5);
      await pass();
      assert.equal((await getVm(vm.id)).health, 'responsive', 'still within the unresponsive time');

      // The agent is gone but sshd still answers: the VM must not look healthy.
      const ssh = await sshListener(vm.ssh_port!, 'banner');
      try {
        advance(10);
        await pass();
        const down = await getVm(vm.id);
        assert.equal(down.health, 'unresponsive');
        assert.equal(down.status, 'running', 'health never changes the hypervisor status');
        assert.equal((await events('vm.health.unresponsive', vm.id)).length, 1);
        const open = await alerts(vm.id);
        assert.equal(open.length, 1);
        assert.equal(open[0]!.state, 'open');
        assert.match(open[0]!.message, /guest agent/);
        advance(5);
        await pass();
        await pass();
        assert.equal((await getVm(vm.id)).health, 'unresponsive', 'an SSH banner does not count once the agent has answered');
        assert.equal((await events('vm.health.unresponsive', vm.id)).length, 1, 'one event per transition');
        assert.equal((await alerts(vm.id)).length, 1, 'one alert');
      } finally {
        await closeServer(ssh);
      }

      advance(5);
      await agentAnswers(vm);
      assert.equal((await getVm(vm.id)).health, 'responsive');
      assert.equal((await events('vm.health.responsive', vm.id)).length, 2);
      const [resolved] = await alerts(vm.id);
      assert.equal(resolved!.state, 'resolved', 'the answer resolves the alert');
      assert.ok(!driver.calls.includes(`reboot vm-${vm.id}`), 'no reset without watchdog_reset');
    });

    test('VM without an agent: the SSH banner is its proof; a port forward that accepts and closes is not', async () => {
      const vm = await running('ssh-vm');
      const silent = await sshListener(vm.ssh_port!, 'silent');
      await pass();
      await closeServer(silent);
      assert.equal((await getVm(vm.id)).health, 'booting', 'a TCP accept alone proves nothing');

      const banner = await sshListener(vm.ssh_port!, 'banner');
      advance(5);
      await pass();
      assert.equal((await getVm(vm.id)).health, 'responsive');
      assert.equal((await events('vm.health.responsive', vm.id))[0]?.details.source, 'ssh');
      advance(UNRESPONSIVE_S - 5);
      await pass();
      assert.equal((await getVm(vm.id)).health, 'responsive', 'the banner keeps answering');
      await closeServer(banner);

      advance(UNRESPONSIVE_S + 1);
      await pass();
      assert.equal((await getVm(vm.id)).health, 'unresponsive');
      assert.match((await events('vm.health.unresponsive', vm.id))[0]!.message, /SSH/);
    });

    test('the boot watchdog fires once when nothing ever answers; stop and start restart the booting clock', async () => {
      const vm = await running('never-boots');
      advance(WATCHDOG_S - 1);
      await pass();
      assert.equal((await getVm(vm.id)).health, 'booting', 'not yet');
      advance(2);
      await pass();
      const fired = await getVm(vm.id);
      assert.equal(fired.health, 'unresponsive');
      assert.equal(fired.status, 'running');
      const watchdog = await events('vm.boot_watchdog', vm.id);
      assert.equal(watchdog.length, 1);
      assert.equal(watchdog[0]!.severity, 'warning');
      assert.equal((await alerts(vm.id))[0]?.state, 'open');

      advance(WATCHDOG_S * 3);
      await pass();
      await pass();
      assert.equal((await events('vm.boot_watchdog', vm.id)).length, 1, 'the watchdog fires once, not every pass');
      assert.ok(!driver.calls.includes(`reboot vm-${vm.id}`), 'not opted in: never reset');

      await act(vm.id, 'stop');
      assert.equal((await getVm(vm.id)).health, null, 'no health when not running');
      await pass();
      assert.equal((await alerts(vm.id))[0]?.state, 'resolved', 'a stopped VM has no unresponsive alert');
      advance(1);
      await act(vm.id, 'start');
      const restarted = await getVm(vm.id);
      assert.equal(restarted.health, 'booting');
      assert.equal(restarted.health_since, restarted.booted_at, 'the booting clock starts again');
      advance(WATCHDOG_S - 1);
      await pass();
      assert.equal((await getVm(vm.id)).health, 'booting', 'a full watchdog time from the new start');
      advance(2);
      await pass();
      assert.equal((await events('vm.boot_watchdog', vm.id)).length, 2, 'once per boot');
    });

    test('watchdog_reset: the VM is reset once per boot, never in a loop', async () => {
      const vm = await running('reset-me', { watchdog_reset: true });
      assert.equal(vm.watchdog_reset, true);
      const resets = () => driver.calls.filter((c) => c === `reboot vm-${vm.id}`).length;
      advance(WATCHDOG_S + 1);
      await pass();
      assert.equal(resets(), 1, 'reset through the driver');
      assert.equal((await events('vm.watchdog_reset', vm.id)).length, 1);
      const after = await getVm(vm.id);
      assert.equal(after.health, 'booting', 'booting again after the reset');
      assert.equal(after.health_since, h.clock.now().toISOString());
      assert.equal(after.locked, false, 'the lock taken for the reset is released');

      advance(WATCHDOG_S + 1);
      await pass();
      advance(WATCHDOG_S * 3);
      await pass();
      await pass();
      assert.equal((await events('vm.boot_watchdog', vm.id)).length, 2, 'fired after the start and after the reset');
      assert.equal(resets(), 1, 'only one reset per boot');
      assert.equal((await getVm(vm.id)).health, 'unresponsive');

      // A user's reboot is a new boot: the guest may be reset once more.
      advance(1);
      await act(vm.id, 'reboot', true);
      assert.equal((await getVm(vm.id)).health, 'booting');
      const before = resets();
      advance(WATCHDOG_S + 1);
      await pass();
      assert.equal(resets(), before + 1);
    });

    test('a reboot of a responsive VM makes it booting again; watchdog_reset must be a boolean', async () => {
      const vm = await running('rebooted');
      advance(3);
      await agentAnswers(vm);
      assert.equal((await getVm(vm.id)).health, 'responsive');
      advance(1);
      await act(vm.id, 'reboot');
      const rebooted = await getVm(vm.id);
      assert.equal(rebooted.health, 'booting');
      assert.equal(rebooted.health_since, rebooted.booted_at);
      advance(1);
      await agentAnswers(vm);
      assert.equal((await getVm(vm.id)).health, 'responsive');

      const bad = await h.request({ method: 'POST', url: '/api/vms', token: alice.token, body: { name: 'bad-flag', watchdog_reset: 'yes' } });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().code, 'validation_failed');
    });
  });
}
