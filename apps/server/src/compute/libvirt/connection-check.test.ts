import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyConnectionError } from './connection-check.js';

test("libvirt's libssh messages name the host-key problem; anything else is an unreachable host", () => {
  // Seen from libvirt 9.0 (Debian 12) with known_hosts_verify=normal and stdin closed.
  const unknown = "error: failed to connect to the hypervisor\nerror: libssh transport error: SSH host key for '198.51.100.2' (20:aa:92) was not accepted";
  assert.equal(classifyConnectionError(unknown), 'host-key-unknown');
  const changed = "error: failed to connect to the hypervisor\nerror: libssh transport error: !!! SSH HOST KEY VERIFICATION FAILED !!!: Identity of host '198.51.100.2:27900' differs from stored identity.";
  assert.equal(classifyConnectionError(changed), 'host-key-mismatch');
  assert.equal(classifyConnectionError('error: Failed to connect socket to \'127.0.0.1:27949\': Connection refused'), 'unreachable');
  assert.equal(classifyConnectionError('error: libssh transport error: authentication failed: no auth method succeeded'), 'unreachable');
});
