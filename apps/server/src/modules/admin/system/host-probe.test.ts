import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ComputeRegistry } from '../../../compute/registry.js';
import { FakeDriver } from '../../../test-support/fake-driver.js';
import type { HostRow, HostsRepository } from '../../hosts/hosts.repository.js';
import { HostProber } from './host-probe.js';

class QemuLike extends FakeDriver {
  override info() {
    return { ...super.info(), name: 'qemu', details: { binary: '/usr/bin/qemu-system-x86_64' } };
  }
}

const host = (over: Partial<HostRow> = {}): HostRow => ({
  id: 1, name: 'local', driver: 'qemu', uri: null, pool: null, ram_mb: 8192, vcpus: 32, enabled: 1, draining: 0, created_at: '', updated_at: '', ...over,
} as HostRow);

test('a host reports its hypervisor version (looked up once, then reused), its capacity and allocation', async () => {
  const calls: string[][] = [];
  const run = async (command: string, args: readonly string[]) => {
    calls.push([command, ...args]);
    return { stdout: 'QEMU emulator version 8.2.2 (Debian 1:8.2.2+ds-0ubuntu1)\nCopyright (c) 2003-2023\n', stderr: '' };
  };
  const prober = new HostProber(new ComputeRegistry({} as HostsRepository, { qemu: () => new QemuLike() }), { timeoutMs: 1000, run });
  const c = await prober.component(host(), { vms: 2, ram_mb: 2048, vcpus: 2 });
  assert.equal(c.status, 'healthy', c.detail);
  assert.equal(c.facts!.version, '8.2.2');
  assert.deepEqual(calls, [['/usr/bin/qemu-system-x86_64', '--version']]);
  assert.deepEqual(c.facts!.allocated, { vms: 2, ram_mb: 2048, vcpus: 2 });
  assert.deepEqual(c.facts!.capacity, { ram_mb: 8192, vcpus: 32 });
  await prober.component(host(), undefined);
  assert.equal(calls.length, 1, 'cached');
});

test('an unknown version does not fail a reachable host; over capacity is degraded; an unsupported driver is failed', async () => {
  const run = async () => {
    throw new Error('timed out (qemu-system-x86_64)');
  };
  const prober = new HostProber(new ComputeRegistry({} as HostsRepository, { qemu: () => new QemuLike() }), { timeoutMs: 1000, run });
  const ok = await prober.component(host(), undefined);
  assert.equal(ok.status, 'healthy');
  assert.equal(ok.facts!.version, null);
  assert.equal((await prober.component(host(), { vms: 9, ram_mb: 9000, vcpus: 9 })).status, 'degraded');
  const other = await prober.component(host({ driver: 'vagrant', name: 'vg' }), undefined);
  assert.equal(other.status, 'failed');
  assert.match(other.detail, /not available/);
});

test('a local hypervisor whose program is not installed is failed (its directory listing always answers)', async () => {
  const run = async (command: string) => {
    throw new Error(`spawn ${command} ENOENT (qemu-system-x86_64 exit signal)`);
  };
  const prober = new HostProber(new ComputeRegistry({} as HostsRepository, { qemu: () => new QemuLike() }), { timeoutMs: 1000, run });
  const c = await prober.component(host(), undefined);
  assert.equal(c.status, 'failed');
  assert.match(c.detail, /\/usr\/bin\/qemu-system-x86_64 is not installed/);
  assert.equal((await prober.component(host({ enabled: 0 }), undefined)).status, 'degraded', 'a disabled host stays degraded');
});
