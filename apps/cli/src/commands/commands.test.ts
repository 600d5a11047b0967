import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StreamEvent } from '@twarga/contract';
import { CliError } from '../exit-codes.js';
import { cliTokenName } from './auth.js';
import { describeEvent } from './events.js';
import { parseSeconds } from './vm.js';

describe('command helpers', () => {
  test('events tail: one readable line per event; metrics samples only with --all', () => {
    const action = { id: 4, vm_id: 2, user_id: 1, type: 'stop', status: 'errored', started_at: 'T0', completed_at: 'T1', error: 'timeout' } as const;
    assert.equal(describeEvent({ kind: 'action', action } as StreamEvent), 'T1  action   4 stop of VM 2: errored (timeout)');
    assert.equal(describeEvent({ kind: 'action_log', vm_id: 2, action_id: 4, line: { at: 'T2', line: 'Stopping' } }), 'T2  log      action 4: Stopping');
    const metrics = { kind: 'metrics', entity: 'vm', vm_id: 2, sample: {} } as unknown as StreamEvent;
    assert.equal(describeEvent(metrics), null);
    assert.match(describeEvent(metrics, true)!, /^\{"kind":"metrics"/);
    assert.equal(describeEvent({ kind: 'revoked', reason: 'credential', message: 'token revoked' }), 'stream ended: token revoked');
  });

  test('--timeout durations', () => {
    assert.equal(parseSeconds('90'), 90);
    assert.equal(parseSeconds('90s'), 90);
    assert.equal(parseSeconds('5m'), 300);
    assert.equal(parseSeconds('1h'), 3600);
    assert.throws(() => parseSeconds('soon'), CliError);
  });

  test('the token login creates is named for the machine and fits the 64-character limit', () => {
    assert.equal(cliTokenName('laptop'), 'twarga-cli@laptop');
    assert.equal(cliTokenName('x'.repeat(100)).length, 64);
  });
});
