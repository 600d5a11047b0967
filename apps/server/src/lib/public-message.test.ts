import assert from 'node:assert/strict';
import { test } from 'node:test';
import { publicMessage } from './public-message.js';

test('server paths become file names; URLs, ratios and plain text stay', () => {
  assert.equal(publicMessage("EPERM: operation not permitted, open '/var/lib/twarga/vms/vm-44/disk.qcow2'"), "EPERM: operation not permitted, open 'disk.qcow2'");
  assert.equal(publicMessage('ENOENT: no such file or directory, open /tmp/twarga-x/vms/vm-3/spec.json'), 'ENOENT: no such file or directory, open spec.json');
  assert.equal(publicMessage('Could not open /srv/data/vms/vm-1/ (dir)'), 'Could not open / (dir)', 'a directory: nothing of its path is left');
  assert.equal(publicMessage('see https://example.com/docs/x and 1/2 of 3'), 'see https://example.com/docs/x and 1/2 of 3');
  assert.equal(publicMessage('guest did not answer'), 'guest did not answer');
});
