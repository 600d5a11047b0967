import assert from 'node:assert/strict';
import { test } from 'node:test';
import { driveOf, startBackup, waitForBackup } from './live-backup.js';
import type { QmpClient } from './qmp-client.js';

/** A scripted QMP: each command's answer comes from `answers` (a function of the call count); every call is recorded. */
function fakeQmp(answers: Record<string, (n: number, args?: Record<string, unknown>) => unknown>) {
  const calls: { command: string; args?: Record<string, unknown> }[] = [];
  const counts = new Map<string, number>();
  const qmp = {
    async execute(command: string, args?: Record<string, unknown>) {
      calls.push({ command, args });
      const n = counts.get(command) ?? 0;
      counts.set(command, n + 1);
      const answer = answers[command];
      if (!answer) throw new Error(`unexpected ${command}`);
      const out = answer(n, args);
      if (out instanceof Error) throw out;
      return out;
    },
  };
  return { qmp: qmp as unknown as QmpClient, calls };
}

test("driveOf: the drive whose image is the instance's disk (not the seed)", async () => {
  const { qmp } = fakeQmp({
    'query-block': () => [
      { device: 'virtio1', inserted: { file: '/d/vms/vm-1/seed.iso' } },
      { device: 'virtio0', inserted: { file: '/d/vms/vm-1/disk.qcow2' } },
    ],
  });
  assert.equal(await driveOf(qmp, '/d/vms/vm-1/disk.qcow2'), 'virtio0');
  await assert.rejects(driveOf(qmp, '/d/vms/vm-2/disk.qcow2'), /QEMU has no drive for/);
});

test('startBackup: a full, standalone qcow2 copy; a leftover job of ours is cancelled first', async () => {
  const { qmp, calls } = fakeQmp({
    'query-jobs': (n) => (n === 0 ? [{ id: 'job', status: 'concluded' }] : []),
    'job-cancel': () => ({}),
    'job-dismiss': () => ({}),
    'drive-backup': () => ({}),
  });
  await startBackup(qmp, 'virtio0', '/s/disk.qcow2', 'job');
  const backup = calls.find((c) => c.command === 'drive-backup')!;
  assert.deepEqual(backup.args, { 'job-id': 'job', device: 'virtio0', target: '/s/disk.qcow2', format: 'qcow2', sync: 'full', mode: 'absolute-paths', 'auto-dismiss': false });
  assert.ok(calls.findIndex((c) => c.command === 'job-dismiss') < calls.indexOf(backup), 'the old job is gone before the new one starts');
});

test("waitForBackup: resolves when the job concluded, dismissing it; the job's error fails it", async () => {
  const ok = fakeQmp({ 'query-jobs': (n) => [{ id: 'job', status: n < 2 ? 'running' : 'concluded' }], 'job-dismiss': () => ({}) });
  await waitForBackup(ok.qmp, 'job', 10_000);
  assert.ok(ok.calls.some((c) => c.command === 'job-dismiss'));
  const failed = fakeQmp({ 'query-jobs': () => [{ id: 'job', status: 'concluded', error: 'No space left on device' }], 'job-dismiss': () => ({}) });
  await assert.rejects(waitForBackup(failed.qmp, 'job', 10_000), /the disk copy failed: No space left on device/);
});

test('waitForBackup: a copy that overruns its time is cancelled and says how far it got', async () => {
  let cancelled = false;
  const { qmp } = fakeQmp({
    'query-jobs': () => [{ id: 'job', status: cancelled ? 'concluded' : 'running', 'current-progress': 5, 'total-progress': 10 }],
    'job-cancel': () => ((cancelled = true), {}),
    'job-dismiss': () => ({}),
  });
  await assert.rejects(waitForBackup(qmp, 'job', 120), /did not finish within 0 s \(5 of 10 bytes\)/);
  assert.ok(cancelled);
});
