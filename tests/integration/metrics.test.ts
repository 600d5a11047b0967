import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient, type MetricsHistory, type Vm, type VmMetrics } from '@twarga/contract';
import { sshExec, waitForSshBanner } from '../../apps/server/src/test-support/ssh.js';
import { killQemusUnder } from '../support/qemu.js';
import { startServer } from '../support/server.js';
import { until } from '../support/until.js';

const ADMIN_PASSWORD = 'metrics-admin-pw';
const INTERVAL_SECONDS = 2;
const MB = 2 ** 20;

/**
 * Real tiny VMs (QEMU, software emulation) behind the built server with its collector running:
 * a busy loop shows in the VM's CPU, an idle VM stays low, and 50 MB written in the guest show in
 * its disk write rate. Figures are printed so a slow or loaded machine is visible in the log.
 */
describe('VM metrics from real QEMU through the collector', () => {
  let dataDir: string;
  let keyDir: string;
  let server: Awaited<ReturnType<typeof startServer>>;
  let api: ApiClient;
  let token: string;
  let privateKey: string;
  let busy: Vm;
  let idle: Vm;

  const get = async <T>(url: string): Promise<T> => {
    const res = await fetch(`${server.base}${url}`, { headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) throw new Error(`${url} → ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const metricsOf = (id: number) => get<VmMetrics>(`/api/metrics/vm/${id}`);
  const ssh = (vm: Vm, command: string, timeoutMs = 60_000) => sshExec({ port: vm.ssh_port!, privateKey, command, timeoutMs });

  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-metrics-'));
    keyDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-metricskey-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'metrics', '-f', path.join(keyDir, 'id')]);
    privateKey = readFileSync(path.join(keyDir, 'id'), 'utf8');
    server = await startServer({
      TWARGA_DATA_DIR: dataDir, TWARGA_ADMIN_PASSWORD: ADMIN_PASSWORD, TWARGA_ACCEL: 'tcg', TWARGA_RECONCILE_SECONDS: '1',
      TWARGA_SSH_PORTS: '23500-23549', TWARGA_METRICS_INTERVAL_SECONDS: String(INTERVAL_SECONDS),
    });
    const anon = new ApiClient({ baseUrl: server.base });
    await anon.auth.register({ username: 'metricsuser', email: 'metricsuser@example.com', password: 'correct horse battery' });
    token = (await anon.auth.login('metricsuser', 'correct horse battery')).access_token;
    api = new ApiClient({ baseUrl: server.base, token });
    const key = await api.account.keys.create({ name: 'k', public_key: readFileSync(path.join(keyDir, 'id.pub'), 'utf8') });
    const made = await Promise.all(['busy', 'idle'].map((name) => api.vms.create({ name, image: 'tiny', size: 's-1vcpu-256mb', ssh_keys: [key.id] })));
    const running = await Promise.all(
      made.map((m) =>
        until(`VM ${m.id} running`, async () => {
          const vm = await api.vms.get(m.id);
          if (vm.status === 'error') throw new Error(`VM went to error: ${vm.error}`);
          return vm.status === 'running' && !vm.locked ? vm : undefined;
        }, 240_000),
      ),
    );
    [busy, idle] = running as [Vm, Vm];
    await Promise.all(running.map((vm) => waitForSshBanner(vm.ssh_port!, 240_000)));
    // Let the boot's own CPU burst pass before judging "idle".
    await until('both VMs settled after boot', async () => {
      const ms = await Promise.all(running.map((vm) => metricsOf(vm.id)));
      return ms.every((m) => m.cpu_percent.value !== null && m.cpu_percent.value < 20) ? true : undefined;
    }, 120_000).catch(() => undefined);
  });
  after(async () => {
    await server?.stop();
    killQemusUnder(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(keyDir, { recursive: true, force: true });
  });

  test('a busy loop shows above 50 % CPU within 15 s while an idle VM stays below 20 %', async () => {
    // The loop runs inside an open SSH session (a background job would die with the session) and ends by itself.
    const loop = ssh(busy, "timeout 25 sh -c 'while :; do :; done'; true", 90_000).catch((err: Error) => err);
    const started = Date.now();
    const seen: { busy: number | null; idle: number | null }[] = [];
    let hit = false;
    while (Date.now() - started < 15_000) {
      await sleep(INTERVAL_SECONDS * 1000);
      const [b, i] = await Promise.all([metricsOf(busy.id), metricsOf(idle.id)]);
      assert.equal(b.cpu_percent.source, 'hypervisor');
      seen.push({ busy: b.cpu_percent.value, idle: i.cpu_percent.value });
      if ((b.cpu_percent.value ?? 0) > 50) {
        hit = true;
        break;
      }
    }
    console.log(`CPU % samples (busy / idle) over ${((Date.now() - started) / 1000).toFixed(1)} s: ${seen.map((s) => `${s.busy}/${s.idle}`).join(', ')}`);
    assert.ok(hit, `the busy VM never went above 50 %: ${JSON.stringify(seen)}`);
    // A few more samples of the idle VM while the other one burns CPU.
    const idleValues: number[] = [];
    for (let k = 0; k < 3; k++) {
      await sleep(INTERVAL_SECONDS * 1000);
      idleValues.push((await metricsOf(idle.id)).cpu_percent.value!);
    }
    console.log(`idle VM CPU %: ${idleValues.join(', ')}`);
    assert.ok(Math.max(...idleValues) < 20, `idle VM CPU ${idleValues.join(', ')}`);
    const ended = await loop;
    assert.ok(!(ended instanceof Error), `the busy loop's session: ${ended}`);
  });

  // The tiny image runs from RAM; /data is its disk.
  test('writing 50 MB in the guest shows in the disk write rate', async () => {
    const before = Math.floor(Date.now() / 1000) - 1;
    await ssh(idle, 'dd if=/dev/urandom of=/data/fifty bs=1M count=50 2>/dev/null && sync', 120_000);
    let maxRate = 0;
    let lastSeen = '';
    await until('the write shows in the history', async () => {
      const m = await metricsOf(idle.id);
      assert.equal(m.disk_write_bytes_per_sec.source, 'hypervisor');
      maxRate = Math.max(maxRate, m.disk_write_bytes_per_sec.value ?? 0);
      const hist = await get<MetricsHistory>(`/api/metrics/vm/${idle.id}/history?metric=disk_write_bps&from=${new Date(before * 1000).toISOString()}&step=${INTERVAL_SECONDS}`);
      const points = hist.series[0]!.points;
      // Bytes written = Σ rate × the seconds it was measured over (since the previous sample; a pass
      // that overran the interval makes the next sample later).
      const written = points.reduce((sum, p, i) => sum + (p.avg ?? 0) * (i === 0 ? hist.step : (Date.parse(p.t) - Date.parse(points[i - 1]!.t)) / 1000), 0);
      lastSeen = `${(written / MB).toFixed(1)} MB over ${points.length} points (step ${hist.step} s), peak ${(maxRate / MB).toFixed(1)} MB/s; ${JSON.stringify(points.slice(-5))}`;
      return written >= 40 * MB ? { written, points: points.length } : undefined;
    }, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}: ${lastSeen}`);
    }).then((r) => console.log(`disk writes seen: ${(r.written / MB).toFixed(1)} MB over ${r.points} points, peak ${(maxRate / MB).toFixed(1)} MB/s`));
    const m = await metricsOf(idle.id);
    console.log(`idle VM metrics after the write: ${JSON.stringify(m)}`);
    assert.deepEqual(m.disk_read_iops, { value: null, source: null }, 'no operation counters: no IOPS');
    assert.equal(m.memory_rss_bytes.source, 'host');
    assert.ok(m.memory_rss_bytes.value! > 16 * MB);
    // With the guest agent in the image, the file also shows in the guest's filesystem usage, and
    // guest memory (balloon) is its own value, never the host's RSS.
    if (m.guest_agent === true) {
      const fs = await until('the 50 MB file in the guest filesystem usage', async () => {
        const cur = await metricsOf(idle.id);
        return (cur.fs_used_bytes.value ?? 0) >= 50 * MB ? cur : undefined;
      }, 30_000);
      assert.equal(fs.fs_used_bytes.source, 'guest-agent');
      assert.equal(fs.guest_memory_total_bytes.source, 'guest-agent');
      assert.notEqual(fs.guest_memory_used_bytes.value, fs.memory_rss_bytes.value);
      assert.equal(fs.ip.source, 'guest-agent');
    } else {
      console.log('no guest agent answered: guest values checked as absent');
      assert.deepEqual(m.fs_used_bytes, { value: null, source: null });
    }
  });
});
