import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classifyState, outputTail, parseBoxList, parseMachineReadable, parseSshConfig, parseStatus, unescapeField } from './machine-readable.js';

// Captured from vagrant 2.3.4 + vagrant-libvirt 0.11.2 on these machines.
const STATUS_NOT_CREATED = `1795435850,vm-1,metadata,provider,libvirt
1795435850,vm-1,provider-name,libvirt
1795435850,vm-1,state,not_created
1795435850,vm-1,state-human-short,not created
1795435850,vm-1,state-human-long,The Libvirt domain is not created. Run \`vagrant up\` to create it.
1795435850,,ui,info,Current machine states:\\n\\nvm-1                      not created (libvirt)\\n\\nThe Libvirt domain is not created. Run \`vagrant up\` to create it.
`;

const STATUS_RUNNING = `1795437841,vm-1,metadata,provider,libvirt
1795437841,vm-1,provider-name,libvirt
1795437841,vm-1,state,running
1795437841,vm-1,state-human-short,running
1795437841,vm-1,state-human-long,The Libvirt domain is running. To stop this machine%!(VAGRANT_COMMA) you can run\\n\`vagrant halt\`. To destroy the machine%!(VAGRANT_COMMA) you can run \`vagrant destroy\`.
1795437841,,ui,info,Current machine states:\\n\\nvm-1                      running (libvirt)\\n\\nThe Libvirt domain is running. To stop this machine%!(VAGRANT_COMMA) you can run\\n\`vagrant halt\`. To destroy the machine%!(VAGRANT_COMMA) you can run \`vagrant destroy\`.
`;

const STATUS_SHUTOFF = `1795437851,vm-1,metadata,provider,libvirt
1795437851,vm-1,provider-name,libvirt
1795437851,vm-1,state,shutoff
1795437851,vm-1,state-human-short,shutoff
1795437851,vm-1,state-human-long,The Libvirt domain is not running. Run \`vagrant up\` to start it.
1795437852,,ui,info,Current machine states:\\n\\nvm-1                      shutoff (libvirt)\\n\\nThe Libvirt domain is not running. Run \`vagrant up\` to start it.
`;

// `vagrant ssh-config --machine-readable` prints the machine-readable line AND the plain config.
const SSH_CONFIG_RUNNING = `1795437842,vm-1,metadata,provider,libvirt
1795437842,vm-1,ssh-config,Host vm-1\\n  HostName 192.168.121.7\\n  User root\\n  Port 22\\n  UserKnownHostsFile /dev/null\\n  StrictHostKeyChecking no\\n  PasswordAuthentication no\\n  IdentityFile /tmp/vgsmoke/run-XR4cA9/vms/vm-1/ssh_key\\n  IdentitiesOnly yes\\n  LogLevel FATAL\\n
Host vm-1
  HostName 192.168.121.7
  User root
  Port 22
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no
  IdentityFile /tmp/vgsmoke/run-XR4cA9/vms/vm-1/ssh_key
  IdentitiesOnly yes
  LogLevel FATAL

`;

const SSH_CONFIG_NOT_READY = `1795435851,vm-1,metadata,provider,libvirt
1795435851,,ui,error,The provider for this Vagrant-managed machine is reporting that it\\nis not yet ready for SSH. Depending on your provider this can carry\\ndifferent meanings. Make sure your machine is created and running and\\ntry again. Additionally%!(VAGRANT_COMMA) check the output of \`vagrant status\` to verify\\nthat the machine is in the state that you expect. If you continue to\\nget this error message%!(VAGRANT_COMMA) please view the documentation for the provider\\nyou're using.
1795435851,,error-exit,Vagrant::Errors::SSHNotReady,The provider for this Vagrant-managed machine is reporting that it\\nis not yet ready for SSH. Depending on your provider this can carry\\ndifferent meanings. Make sure your machine is created and running and\\ntry again. Additionally%!(VAGRANT_COMMA) check the output of \`vagrant status\` to verify\\nthat the machine is in the state that you expect. If you continue to\\nget this error message%!(VAGRANT_COMMA) please view the documentation for the provider\\nyou're using.
`;

const BOX_LIST = `1795436025,,ui,info,twarga/tiny (libvirt%!(VAGRANT_COMMA) 0)
1795436025,,box-name,twarga/tiny
1795436025,,box-provider,libvirt
1795436025,,box-version,0
`;

const BOX_LIST_EMPTY = '1795435852,,ui,warn,There are no installed boxes! Use `vagrant box add` to add some.\n';

describe('machine-readable lines', () => {
  test('fields are split on commas and unescaped', () => {
    const lines = parseMachineReadable(STATUS_NOT_CREATED);
    assert.equal(lines.length, 6);
    assert.deepEqual(lines[0], { timestamp: 1795435850, target: 'vm-1', type: 'metadata', data: ['provider', 'libvirt'] });
    assert.equal(lines[5]!.target, '');
    assert.match(lines[5]!.data[1]!, /^Current machine states:\n\nvm-1 {2,}not created \(libvirt\)\n/);
  });

  test('VAGRANT_COMMA, \\n and \\r', () => {
    assert.equal(unescapeField('a%!(VAGRANT_COMMA) b\\nc\\r'), 'a, b\nc\r');
    const [line] = parseMachineReadable('1,m,ui,info,x%!(VAGRANT_COMMA)y,z');
    assert.deepEqual(line!.data, ['info', 'x,y', 'z']);
  });

  test('plain text lines are ignored', () => {
    assert.deepEqual(parseMachineReadable('==> vm-1: Halting domain...\nBringing machine up\n'), []);
  });
});

describe('vagrant status', () => {
  test('a machine Vagrant has not created', () => {
    const m = parseStatus(STATUS_NOT_CREATED).get('vm-1');
    assert.deepEqual(m, { state: 'not_created', class: 'not_created', provider: 'libvirt', human: 'not created' });
  });

  test('a running and a shut-off libvirt domain (captured)', () => {
    assert.deepEqual(parseStatus(STATUS_RUNNING).get('vm-1'), { state: 'running', class: 'running', provider: 'libvirt', human: 'running' });
    assert.deepEqual(parseStatus(STATUS_SHUTOFF).get('vm-1'), { state: 'shutoff', class: 'stopped', provider: 'libvirt', human: 'shutoff' });
    const long = parseMachineReadable(STATUS_RUNNING).find((l) => l.type === 'state-human-long')!;
    assert.equal(long.data[0], 'The Libvirt domain is running. To stop this machine, you can run\n`vagrant halt`. To destroy the machine, you can run `vagrant destroy`.');
  });

  test('states: a shut-off libvirt domain is not running', () => {
    assert.equal(classifyState('running'), 'running');
    assert.equal(classifyState('shutoff'), 'stopped');
    assert.equal(classifyState('shut-off'), 'stopped');
    assert.equal(classifyState('poweroff'), 'stopped');
    assert.equal(classifyState('crashed'), 'stopped');
    assert.equal(classifyState('aborted'), 'stopped');
    assert.equal(classifyState('saved'), 'stopped');
    assert.equal(classifyState('paused'), 'running');
    assert.equal(classifyState('shutting-down'), 'running');
    assert.equal(classifyState('inaccessible'), 'running');
    assert.equal(classifyState('preparing'), 'running');
    assert.equal(classifyState('not_created'), 'not_created');
    assert.equal(classifyState('warp-drive'), 'unknown');
  });

  test('several machines, and an error exit', () => {
    const out = '1,a,state,running\n1,b,state,shutoff\n1,b,provider-name,libvirt\n';
    const all = parseStatus(out);
    assert.equal(all.get('a')!.class, 'running');
    assert.deepEqual(all.get('b'), { state: 'shutoff', class: 'stopped', provider: 'libvirt' });
    assert.throws(() => parseStatus('1,,error-exit,Vagrant::Errors::VagrantfileSyntaxError,There is a syntax error%!(VAGRANT_COMMA) line 3'), /syntax error, line 3/);
  });
});

describe('vagrant ssh-config', () => {
  test('a running tiny VM on libvirt (captured): one entry, not two', () => {
    assert.deepEqual(parseSshConfig(SSH_CONFIG_RUNNING), [
      { host: 'vm-1', hostName: '192.168.121.7', port: 22, user: 'root', identityFiles: ['/tmp/vgsmoke/run-XR4cA9/vms/vm-1/ssh_key'] },
    ]);
  });

  test('plain output', () => {
    const cfg = parseSshConfig(`Host vm-1
  HostName 192.168.121.37
  User root
  Port 22
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no
  IdentityFile "/tmp/with space/ssh_key"
  IdentityFile /root/.vagrant.d/insecure_private_key
  IdentitiesOnly yes
  LogLevel FATAL
`);
    assert.deepEqual(cfg, [{ host: 'vm-1', hostName: '192.168.121.37', port: 22, user: 'root', identityFiles: ['/tmp/with space/ssh_key', '/root/.vagrant.d/insecure_private_key'] }]);
  });

  test('machine-readable output', () => {
    const out = '1795436100,vm-1,metadata,provider,virtualbox\n1795436100,vm-1,ssh-config,Host vm-1\\n  HostName 127.0.0.1\\n  User vagrant\\n  Port 2222\\n  IdentityFile /k\\n';
    assert.deepEqual(parseSshConfig(out), [{ host: 'vm-1', hostName: '127.0.0.1', port: 2222, user: 'vagrant', identityFiles: ['/k'] }]);
  });

  test('not ready yet is an error with its message', () => {
    assert.throws(() => parseSshConfig(SSH_CONFIG_NOT_READY), /not yet ready for SSH/);
  });
});

describe('vagrant box list', () => {
  test('boxes with provider and version', () => {
    assert.deepEqual(parseBoxList(BOX_LIST), [{ name: 'twarga/tiny', provider: 'libvirt', version: '0' }]);
    assert.deepEqual(parseBoxList(BOX_LIST_EMPTY), []);
  });
});

describe('outputTail', () => {
  test('keeps the message, drops Ruby backtraces and unescapes ui lines', () => {
    const stderr = [
      'Error while creating domain: Error saving the server: Call to virDomainDefineXML failed: invalid argument',
      "\tfrom /usr/share/rubygems-integration/all/gems/vagrant-2.3.4/lib/vagrant/action/warden.rb:48:in `call'",
      "/usr/share/rubygems-integration/all/gems/vagrant-2.3.4/lib/vagrant/action/builder.rb:180:in `call'",
    ].join('\n');
    assert.equal(outputTail(stderr), 'Error while creating domain: Error saving the server: Call to virDomainDefineXML failed: invalid argument');
    assert.match(outputTail(SSH_CONFIG_NOT_READY, 2), /^get this error message, please view the documentation for the provider\nyou're using\.$/);
  });
});
