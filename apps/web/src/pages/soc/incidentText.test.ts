import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { User } from '@twarga/contract';
import { allowedScopes, canActOn } from './incidentText';

const user = (id: number, is_admin: boolean): User => ({ id, username: `u${id}`, email: `u${id}@example.com`, is_admin, is_active: true, credits: 0, created_at: '2026-11-30T00:00:00.000Z' });

test('owners act on their incidents, admins on all; nobody else, and never on an admins-only one', () => {
  assert.equal(canActOn(user(2, false), { user_id: 2 }), true);
  assert.equal(canActOn(user(3, false), { user_id: 2 }), false);
  assert.equal(canActOn(user(3, false), { user_id: null }), false);
  assert.equal(canActOn(user(1, true), { user_id: null }), true);
});

test('an owner may block on the attacked VM only; every VM and the control plane are for admins', () => {
  assert.deepEqual(allowedScopes(user(2, false), 12), ['vm']);
  assert.deepEqual(allowedScopes(user(2, false), null), []);
  assert.deepEqual(allowedScopes(user(1, true), 12), ['vm', 'all_vms', 'control_plane']);
  assert.deepEqual(allowedScopes(user(1, true), null), ['all_vms', 'control_plane']);
});

test('a loopback address is never offered for a control-plane block (the server refuses it: it would lock this host out)', () => {
  for (const address of ['127.0.0.1', '127.3.2.1', '::1', '::ffff:127.0.0.1']) assert.deepEqual(allowedScopes(user(1, true), 12, address), ['vm', 'all_vms'], address);
  assert.deepEqual(allowedScopes(user(1, true), 12, '198.51.100.7'), ['vm', 'all_vms', 'control_plane']);
});
