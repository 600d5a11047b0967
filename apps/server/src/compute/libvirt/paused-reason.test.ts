import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pausedReasonOf } from './libvirt-driver.js';

test("virsh domstate --reason of a paused domain → QEMU's reason words; not paused → undefined", () => {
  assert.equal(pausedReasonOf('paused (I/O error)\n\n'), 'io-error');
  assert.equal(pausedReasonOf('paused (user)\n'), 'paused');
  assert.equal(pausedReasonOf('paused (crashed)\n'), 'guest-panicked');
  assert.equal(pausedReasonOf('paused (snapshot)\n'), 'snapshot');
  assert.equal(pausedReasonOf('paused\n'), 'paused');
  assert.equal(pausedReasonOf('running (booted)\n'), undefined);
  assert.equal(pausedReasonOf('shut off (destroyed)\n'), undefined);
});
