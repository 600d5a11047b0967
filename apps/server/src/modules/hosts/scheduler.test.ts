import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pickHost, type HostCandidate } from './scheduler.js';

const host = (id: number, over: Partial<HostCandidate> = {}): HostCandidate => ({
  id, name: `h${id}`, enabled: true, draining: false, ramMb: 8192, vcpus: 8, usedRamMb: 0, usedVcpus: 0, ...over,
});

test('the host with the most free RAM wins; ties go to the oldest', () => {
  assert.equal(pickHost([host(1, { usedRamMb: 4096 }), host(2, { usedRamMb: 1024 }), host(3, { usedRamMb: 2048 })], { ramMb: 512, vcpus: 1 })?.id, 2);
  assert.equal(pickHost([host(2), host(1)], { ramMb: 512, vcpus: 1 })?.id, 1);
});

test('disabled, draining and full hosts receive nothing', () => {
  const need = { ramMb: 1024, vcpus: 2 };
  assert.equal(pickHost([host(1, { enabled: false }), host(2, { draining: true })], need), undefined);
  assert.equal(pickHost([host(1, { usedRamMb: 7500 }), host(2, { usedVcpus: 7 })], need), undefined);
  assert.equal(pickHost([host(1, { usedRamMb: 7168 }), host(2, { draining: true })], need)?.id, 1, 'exactly full fits');
});

test('spreading: placing VMs one after another alternates between equal hosts', () => {
  const hosts = [host(1), host(2)];
  const placed: number[] = [];
  for (let i = 0; i < 4; i++) {
    const h = pickHost(hosts, { ramMb: 1024, vcpus: 1 })!;
    h.usedRamMb += 1024;
    h.usedVcpus += 1;
    placed.push(h.id);
  }
  assert.deepEqual(placed, [1, 2, 1, 2]);
});
