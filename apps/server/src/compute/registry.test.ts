import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultConfig } from '../config/config.js';
import type { HostRow, HostsRepository } from '../modules/hosts/hosts.repository.js';
import { driverFactories } from './factories.js';
import { LibvirtDriver } from './libvirt/libvirt-driver.js';
import { ComputeRegistry } from './registry.js';

/** The real factories (no virsh runs: a LibvirtDriver only validates its options when made). */
describe('drivers per compute host', () => {
  const config = { ...defaultConfig(), libvirtPool: 'server_pool' };
  const factories = driverFactories(config, {} as never, {} as never);
  const row = (over: Partial<HostRow>): HostRow => ({
    id: 1, name: 'rack', driver: 'libvirt', uri: 'qemu+ssh://root@rack/system', pool: null, ram_mb: 4096, vcpus: 4,
    enabled: 1, draining: 0, created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z', ...over,
  });
  const libvirt = (d: unknown) => {
    assert.ok(d instanceof LibvirtDriver);
    return d;
  };

  test("a libvirt host's driver uses the host's own pool, else the server's", () => {
    const own = libvirt(factories.libvirt!(row({ pool: 'rack_vols' })));
    assert.deepEqual([own.poolName, own.poolDir, own.virsh.uri], ['rack_vols', '/var/lib/libvirt/images/rack_vols', 'qemu+ssh://root@rack/system']);
    assert.equal(libvirt(factories.libvirt!(row({ pool: null }))).poolName, 'server_pool');
  });

  test('the registry keeps one driver per host, and makes it anew when the pool changed', () => {
    const registry = new ComputeRegistry({} as HostsRepository, factories);
    const first = registry.forHost(row({ pool: 'rack_vols' }));
    assert.equal(registry.forHost(row({ pool: 'rack_vols', draining: 1 })), first, 'same pool: same driver');
    const moved = libvirt(registry.forHost(row({ pool: 'rack_new' })));
    assert.notEqual(moved, first);
    assert.equal(moved.poolName, 'rack_new');
    assert.equal(libvirt(registry.forHost(row({ pool: null }))).poolName, 'server_pool');
    assert.equal(libvirt(registry.forHost(row({ id: 2, pool: 'other' }))).poolName, 'other', 'another host, its own driver');
  });
});
