import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError, errorMessage } from '../../api';
import { createErrorTitle } from './createForm';

test('a launch refused for lack of host storage (507) reads as such, not as a server crash', () => {
  const message = 'The host has no room for a 40 GB disk right now: choose a smaller disk, or ask an administrator to free space';
  const err = new ApiError(507, { code: 'insufficient_storage', message, request_id: 'r1' });
  assert.equal(createErrorTitle(err), 'Not enough storage on the host');
  assert.equal(errorMessage(err), message);
  // Other 5xx keep the generic wording.
  assert.match(errorMessage(new ApiError(500, { code: 'internal_error', message: 'Internal server error', request_id: 'r2' })), /The server had a problem/);
});

test('a VM from a snapshot sends the snapshot, not an image, and needs at least its disk', async () => {
  const { toRequest, validateVm } = await import('./createForm');
  const form = { name: 'clone', image: 'tiny', snapshot: 7, size: null, custom: { ram: '256', cpu: '1', disk: '1' }, sshKeys: [3], userData: '' };
  const snapshot = { id: 7, name: 'before', min_disk: 2, status: 'available' } as Parameters<typeof validateVm>[3];
  assert.deepEqual(toRequest({ ...form, custom: { ...form.custom, disk: '2' } }), { name: 'clone', snapshot_id: 7, ssh_keys: [3], ram: 256, cpu: 1, disk: 2 });
  assert.match(validateVm(form, undefined, undefined, snapshot).disk!, /The snapshot before needs at least 2 GB/);
  assert.match(validateVm(form, undefined, undefined, undefined).image!, /available snapshots/);
  assert.deepEqual(validateVm({ ...form, custom: { ...form.custom, disk: '3' } }, undefined, undefined, snapshot), {});
});
