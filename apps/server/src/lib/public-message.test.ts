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

test('a remote compute host\'s address is hidden: libvirt URIs, virsh and ssh connection errors', () => {
  assert.equal(
    publicMessage("virsh destroy twarga-vm-1 failed: error: failed to connect to the hypervisor | error: unable to connect to server at '198.51.100.134:28550': Connection refused"),
    "virsh destroy twarga-vm-1 failed: error: failed to connect to the hypervisor | error: unable to connect to server at '<compute host>': Connection refused",
  );
  assert.equal(publicMessage('cannot reach qemu+libssh://root@rack-2.internal:2222/system?known_hosts=/etc/x (timeout)'), 'cannot reach <compute host> (timeout)');
  assert.equal(publicMessage('ssh: connect to host 10.0.0.5 port 22: No route to host'), 'ssh: connect to host <compute host> port 22: No route to host');
  assert.equal(publicMessage('a VM named web-1 is at 10.0.2.15'), 'a VM named web-1 is at 10.0.2.15', 'other addresses stay');
});
