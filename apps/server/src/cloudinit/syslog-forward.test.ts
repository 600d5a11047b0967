import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { rsyslogForwardConf, syslogVendorData } from './syslog-forward.js';

test('vendor-data: cloud-init\'s rsyslog module writes a forward of the auth log to the VM\'s channel', () => {
  const text = syslogVendorData({ address: '10.0.2.100', port: 514 });
  assert.ok(text.startsWith('#cloud-config\n'));
  const doc = parse(text) as { rsyslog: { config_dir: string; configs: { filename: string; content: string }[]; service_reload_command: string } };
  assert.equal(doc.rsyslog.config_dir, '/etc/rsyslog.d');
  assert.equal(doc.rsyslog.service_reload_command, 'auto');
  assert.equal(doc.rsyslog.configs.length, 1);
  const { filename, content } = doc.rsyslog.configs[0]!;
  assert.equal(filename, '60-twarga-soc.conf');
  // The content survives YAML as written (validated with rsyslogd -N1 of Debian 12's rsyslog 8.2302).
  assert.equal(content, rsyslogForwardConf({ address: '10.0.2.100', port: 514 }));
  assert.match(content, /^auth,authpriv\.\* action\(type="omfwd" target="10\.0\.2\.100" port="514" protocol="tcp"$/m);
  assert.match(content, /TCP_Framing="octet-counted"/);
  // Never blocking the sender: its own queue, enqueue without waiting, drop when full.
  assert.match(content, /queue\.type="LinkedList"/);
  assert.match(content, /queue\.timeoutEnqueue="0"/);
});

test('a target that could inject rsyslog syntax is refused', () => {
  assert.throws(() => rsyslogForwardConf({ address: '10.0.2.100" port="1', port: 514 }), /address/);
  assert.throws(() => rsyslogForwardConf({ address: '10.0.2.100', port: 0 }), /port/);
});
