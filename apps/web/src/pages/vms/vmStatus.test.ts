import assert from 'node:assert/strict';
import { test } from 'node:test';
import { consoleUnavailableReason } from '../../terminal/consoleAvailability';
import type { Vm } from '@twarga/contract';
import { allowedActions, changeBlocked, pausedReasonText, statusLabel } from './vmStatus';

test('a paused VM shows why, and can be stopped or destroyed, not started or rebooted', () => {
  assert.equal(statusLabel('paused', 'io-error'), 'paused: io-error');
  assert.equal(statusLabel('running', null), 'running');
  assert.match(pausedReasonText('io-error'), /disk write failed/);
  assert.deepEqual(allowedActions({ status: 'paused', locked: false }, false), { start: false, stop: true, reboot: false, destroy: true });
  assert.match(consoleUnavailableReason({ status: 'paused' } as Vm)!, /paused/);
});

test('a VM a crash left destroying can be destroyed again, unless an action holds it', () => {
  assert.equal(allowedActions({ status: 'destroying', locked: false }, false).destroy, true);
  assert.equal(allowedActions({ status: 'destroying', locked: true }, false).destroy, false);
  assert.equal(allowedActions({ status: 'destroyed', locked: false }, false).destroy, false);
});

test('resize and rebuild wait for a stopped VM, and say so', () => {
  assert.deepEqual(changeBlocked({ status: 'stopped', locked: false }), { resize: undefined, rebuild: undefined });
  assert.match(changeBlocked({ status: 'running', locked: false }).resize!, /Stop the VM first/);
  assert.equal(changeBlocked({ status: 'error', locked: false }).rebuild, undefined);
  assert.match(changeBlocked({ status: 'stopped', locked: true }).resize!, /running action/);
});
