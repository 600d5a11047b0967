import assert from 'node:assert/strict';
import { test } from 'node:test';
import { restoreEffect, snapshotContents, snapshotNameProblem, snapshotRequest, snapshotSize, takeBlocked } from './snapshots';

test('a snapshot name follows the server pattern; empty lets the server name it', () => {
  assert.equal(snapshotNameProblem(''), undefined);
  assert.equal(snapshotNameProblem('before-upgrade_1.2'), undefined);
  assert.match(snapshotNameProblem('-bad')!, /start and end/);
  assert.match(snapshotNameProblem('has space')!, /letters, digits/);
  assert.match(snapshotNameProblem('a'.repeat(65))!, /64/);
});

test('RAM is only asked for while the VM runs', () => {
  assert.deepEqual(snapshotRequest(' before ', true, { status: 'running' }), { name: 'before', memory: true });
  assert.deepEqual(snapshotRequest('', true, { status: 'stopped' }), {});
});

test('taking a snapshot is refused while locked, in a transition, or at the quota', () => {
  assert.equal(takeBlocked({ status: 'running', locked: false }, { used: 1, limit: 10 }), undefined);
  assert.match(takeBlocked({ status: 'running', locked: true }, undefined)!, /Another action/);
  assert.match(takeBlocked({ status: 'rebooting', locked: false }, undefined)!, /running or stopped/);
  assert.match(takeBlocked({ status: 'stopped', locked: false }, { used: 10, limit: 10 })!, /10 of 10/);
});

test('the restore confirmation says the disk is replaced, and what happens to a running VM', () => {
  assert.match(restoreEffect({ memory: false }, { status: 'running' }), /disk is replaced.*powered off first.*stays stopped/);
  assert.match(restoreEffect({ memory: true }, { status: 'running' }), /resumes where it was/);
  assert.deepEqual(snapshotSize({ size_bytes: 3 * 1024 * 1024, size_gb: 1, status: 'available' }), { bytes: '3.0 MiB', billed: '1 GB billed' });
  assert.deepEqual(snapshotContents({ memory: true, quiesced: false, status: 'available' }), { kind: 'Disk + RAM', note: 'not quiesced' });
});

test('a restore waits for the running action and for a settled VM', async () => {
  const { restoreBlocked } = await import('./snapshots');
  assert.equal(restoreBlocked({ status: 'error', locked: false }), undefined);
  assert.match(restoreBlocked({ status: 'stopped', locked: true })!, /Another action/);
  assert.match(restoreBlocked({ status: 'provisioning', locked: false })!, /running, stopped or in error/);
});
