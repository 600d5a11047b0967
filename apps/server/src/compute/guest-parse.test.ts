import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBalloonStats, parseDomMemStat, parseFsInfo, parseInterfaces } from './guest-parse.js';

test('guest-get-fsinfo: used/total per mountpoint; entries without usage are left out', () => {
  // Trimmed from qemu-ga 7.2 in the tiny image.
  const ret = [
    { name: 'vda', mountpoint: '/data', type: 'ext4', 'used-bytes': 52465664, 'total-bytes': 950239232, disk: [{ 'bus-type': 'virtio', dev: '/dev/vda' }] },
    { name: 'proc', mountpoint: '/proc', type: 'proc', disk: [] },
  ];
  assert.deepEqual(parseFsInfo(ret), [{ mountpoint: '/data', type: 'ext4', usedBytes: 52465664, totalBytes: 950239232 }]);
  assert.deepEqual(parseFsInfo({ error: 'x' }), []);
  assert.deepEqual(parseFsInfo(undefined), []);
});

test('guest-network-get-interfaces: addresses without prefix, byte counters, null where the guest gives none', () => {
  const ret = [
    { name: 'lo', 'hardware-address': '00:00:00:00:00:00', 'ip-addresses': [{ 'ip-address-type': 'ipv4', 'ip-address': '127.0.0.1', prefix: 8 }], statistics: { 'rx-bytes': 0, 'tx-bytes': 0 } },
    { name: 'eth0', 'ip-addresses': [{ 'ip-address-type': 'ipv4', 'ip-address': '10.0.2.15', prefix: 24 }, { 'ip-address-type': 'ipv6', 'ip-address': 'fe80::1', prefix: 64 }], statistics: { 'rx-bytes': 5462, 'tx-bytes': 6256 } },
    { name: 'dummy0' },
  ];
  assert.deepEqual(parseInterfaces(ret), [
    { name: 'lo', addresses: ['127.0.0.1'], rxBytes: 0, txBytes: 0 },
    { name: 'eth0', addresses: ['10.0.2.15', 'fe80::1'], rxBytes: 5462, txBytes: 6256 },
    { name: 'dummy0', addresses: [], rxBytes: null, txBytes: null },
  ]);
});

test('balloon guest-stats: total and available once the guest has answered; absent before, or when it gives -1', () => {
  const stats = (s: Record<string, number>, lastUpdate: number) => ({ stats: { 'stat-swap-in': -1, ...s }, 'last-update': lastUpdate });
  assert.deepEqual(parseBalloonStats(stats({ 'stat-total-memory': 213716992, 'stat-available-memory': 172695552 }, 1764508000)), { totalBytes: 213716992, availableBytes: 172695552 });
  assert.equal(parseBalloonStats(stats({ 'stat-total-memory': -1, 'stat-available-memory': -1 }, 0)), undefined, 'polling just turned on: nothing yet');
  assert.equal(parseBalloonStats(stats({ 'stat-total-memory': 213716992, 'stat-available-memory': -1 }, 1764508000)), undefined, 'never 0 for unknown');
  assert.equal(parseBalloonStats(undefined), undefined);
});

test('virsh dommemstat: libvirt "available" is the guest total, "usable" its available memory (KiB)', () => {
  const out = 'actual 262144\nswap_in 0\nunused 160112\navailable 208708\nusable 164712\nlast_update 1764508000\nrss 150000\n';
  assert.deepEqual(parseDomMemStat(out), { totalBytes: 208708 * 1024, availableBytes: 164712 * 1024 });
  // Statistics period 0: only the host's numbers, no guest memory.
  assert.equal(parseDomMemStat('actual 262144\nlast_update 0\nrss 150000\n'), undefined);
});
