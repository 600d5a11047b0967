import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Action, ComputeHost, HostVm } from '@twarga/contract';
import { canMigrate, migrationTargets, targetLabel, untilActionEnds } from './hostMigration';

let nextId = 1;
function host(name: string, over: Partial<ComputeHost> = {}): ComputeHost {
  return {
    id: nextId++, name, driver: 'libvirt', uri: `qemu+ssh://root@${name}.example/system`, pool: 'twarga', pool_is_default: true,
    ram_mb: 16384, vcpus: 8, enabled: true, draining: false, usage: { vms: 0, ram_mb: 0, vcpus: 0 },
    created_at: '2026-12-01T00:00:00Z', updated_at: '2026-12-01T00:00:00Z', ...over,
  };
}
const vm = (status: string): HostVm => ({ id: 7, name: 'web-1', owner: 'alice', status });

test('migration targets: the other enabled, non-draining libvirt hosts', () => {
  const from = host('rack-2', { draining: true });
  const open = host('rack-3');
  const hosts = [host('local', { driver: 'qemu', uri: null, pool: null }), from, open, host('rack-4', { draining: true }), host('rack-5', { enabled: false })];
  assert.deepEqual(migrationTargets(hosts, from).map((h) => h.name), ['rack-3']);
  assert.deepEqual(migrationTargets(hosts, open).map((h) => h.name), [], 'a draining or disabled host takes no VM, not even a moved one');
  assert.deepEqual(migrationTargets(hosts, hosts[0]!), [], 'a qemu VM cannot be cold-migrated');
});

test('only a stopped VM on a libvirt host offers Migrate', () => {
  assert.equal(canMigrate(host('rack-2'), vm('stopped')), true);
  assert.equal(canMigrate(host('rack-2'), vm('running')), false);
  assert.equal(canMigrate(host('local', { driver: 'qemu' }), vm('stopped')), false);
});

test('a target says how much RAM it has free, never less than none', () => {
  assert.equal(targetLabel(host('rack-3', { usage: { vms: 1, ram_mb: 4096, vcpus: 1 } }), String), 'rack-3 · 12288 MB free');
  assert.equal(targetLabel(host('rack-4', { ram_mb: 1024, usage: { vms: 3, ram_mb: 3072, vcpus: 3 } }), String), 'rack-4 · 0 MB free');
});

test('a migration is followed until its action ends; an errored one throws its reason', async () => {
  const action = (status: Action['status'], error: string | null = null): Action => ({
    id: 9, vm_id: 7, user_id: 2, type: 'migrate', status, started_at: '2026-12-01T00:00:00Z', completed_at: null, error, forced: false,
  });
  const answers = [action('in-progress'), action('completed')];
  const asked: number[] = [];
  const get = async (id: number) => (asked.push(id), answers.shift()!);
  assert.equal((await untilActionEnds(get, action('in-progress'), 1)).status, 'completed');
  assert.deepEqual(asked, [9, 9]);
  await assert.rejects(untilActionEnds(async () => action('errored', 'the copy of vm-7-disk differs'), action('in-progress'), 1), /the copy of vm-7-disk differs/);
});
