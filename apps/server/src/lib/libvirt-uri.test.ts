import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../config/config.js';
import { libvirtUriProblem } from './libvirt-uri.js';

describe('libvirt URI rule', () => {
  test('plain local and remote URIs, and inert parameters, pass', () => {
    for (const uri of [
      'qemu:///system',
      'qemu:///session',
      'qemu+unix:///system?socket=/run/libvirt/virtqemud-sock',
      'qemu+ssh://root@rack-2/system',
      'qemu+ssh://twarga@10.0.0.7:2222/system?keyfile=/etc/twarga/id_ed25519&no_tty=1&no_verify=0',
      'qemu+libssh://root@host/system?sshauth=privkey,agent&known_hosts=/etc/twarga/known_hosts&known_hosts_verify=normal',
      'qemu+libssh2://root@198.51.100.2:27900/system?keyfile=/var/lib/twarga/ssh/id_ed25519&known_hosts=/var/lib/twarga/ssh/known_hosts',
      'qemu+tls://host.example/system?pkipath=/etc/pki/libvirt&mode=legacy&proxy=netcat',
      'qemu+tcp://127.0.0.1/system',
    ]) {
      assert.equal(libvirtUriProblem(uri), undefined, uri);
    }
  });

  test('parameters that run programs, escapes and odd shapes are refused with the part named', () => {
    const refused: [string, RegExp][] = [
      ['qemu+ssh://root@host/system?netcat=/tmp/x', /^parameter netcat is not allowed/],
      ['qemu+ssh://root@host/system?command=/tmp/x', /^parameter command is not allowed/],
      ['qemu+ssh://root@host/system?name=qemu:///system', /^parameter name is not allowed/],
      ['qemu+ssh://root@host/system?name=qemu+ext:///system', /no escapes/],
      ['qemu+ssh://root@host/system?%6Eetcat=/tmp/x', /no escapes/],
      ['qemu+ssh://root@host/system?no_tty=1;netcat=/tmp/x', /no escapes/],
      ['qemu+ssh://root@host/system?keyfile=/a b', /no escapes/],
      ['qemu+ssh://root@host/system?socket=', /socket must be an absolute path/],
      ['qemu+ssh://root@host/system?keyfile=/etc/./shadow', /keyfile must be an absolute path/],
      ['qemu+ssh://root@host/system?sshauth=privkey,gssapi', /sshauth must be/],
      ['qemu+ssh://root@host/system?no_tty', /no_tty must be 0 or 1/],
      // OpenSSH (the ssh transport) ignores these: the URI would look host-key-checked while it is not.
      ['qemu+ssh://root@host/system?known_hosts=/etc/twarga/known_hosts', /known_hosts is read only by the libssh and libssh2 transports/],
      ['qemu+tcp://host/system?known_hosts_verify=normal', /known_hosts_verify is read only by the libssh/],
      ['qemu+ssh://root@host/system?', /parameter \(empty\) is not allowed/],
      ['qemu+ext:///system?command=/bin/sh', /must look like/],
      ['qemu+ssh://root@host/embed', /must look like/],
      ['qemu+ssh://-F/tmp/cfg@host/system', /must look like|plain user/],
      ['qemu+ssh://-oProxyCommand=x/system', /not a plain user name/],
      ['qemu+ssh://root@-host/system', /not a plain user name/],
    ];
    for (const [uri, message] of refused) assert.match(libvirtUriProblem(uri) ?? 'accepted', message, uri);
  });

  test('the server refuses to start with such a URI in its settings (TWARGA_LIBVIRT_URI)', () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-uri-'));
    try {
      const env = { TWARGA_DATA_DIR: dataDir, TWARGA_LIBVIRT_URI: 'qemu+ssh://root@host/system?netcat=/tmp/evil' };
      assert.throws(() => loadConfig(env), (err: Error) => err instanceof ConfigError && /TWARGA_LIBVIRT_URI.*netcat/.test(err.message));
      assert.equal(loadConfig({ ...env, TWARGA_LIBVIRT_URI: 'qemu+ssh://root@host/system?keyfile=/etc/twarga/key' }).libvirtUri, 'qemu+ssh://root@host/system?keyfile=/etc/twarga/key');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
