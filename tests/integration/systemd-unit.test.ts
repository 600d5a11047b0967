import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ENV_VARS } from '../../apps/server/src/config/config.js';
import { root } from '../support/server.js';

/** deploy/twarga-cloud.service: what it runs, what it sets, and what it must not set for QEMU. */
const unitFile = path.join(root, 'deploy/twarga-cloud.service');
const lines = readFileSync(unitFile, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const values = (key: string) => lines.filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));

test('the unit runs what `npm start` runs, with the same environment, from the install directory', () => {
  const start = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start!;
  const [, envPart, script] = /^((?:[A-Z_]+=\S+ )*)node (\S+)$/.exec(start) ?? [];
  assert.ok(script, `npm start is "node <script>": ${start}`);
  const workdir = values('WorkingDirectory')[0]!;
  assert.deepEqual(values('ExecStart'), [`/usr/bin/node ${path.posix.join(workdir, script)}`]);
  for (const pair of envPart!.trim().split(' ').filter(Boolean)) assert.ok(values('Environment').includes(pair), `Environment=${pair}`);
});

test('every TWARGA_ setting the unit names exists, and the data dir is the StateDirectory', () => {
  const known = new Set(ENV_VARS.map((v) => v.env));
  const named = values('Environment').map((e) => e.split('=')[0]!).filter((k) => k.startsWith('TWARGA_'));
  assert.deepEqual(named.filter((k) => !known.has(k)), []);
  assert.ok(values('Environment').includes(`TWARGA_DATA_DIR=/var/lib/${values('StateDirectory')[0]}`));
  assert.deepEqual(values('StateDirectoryMode'), ['0700']);
});

test('VMs survive a restart and KVM stays usable: KillMode=process, /dev/kvm reachable, no W^X', () => {
  assert.deepEqual(values('KillMode'), ['process'], 'QEMU children must outlive the control plane');
  assert.ok(values('SupplementaryGroups').join(' ').split(/\s+/).includes('kvm'));
  // ProtectClock implies DeviceAllow=char-rtc: on some systemd versions that closes /dev/kvm.
  for (const key of ['PrivateDevices', 'MemoryDenyWriteExecute', 'ProcSubset', 'DevicePolicy', 'DeviceAllow', 'ProtectClock', 'PrivateNetwork']) {
    assert.deepEqual(values(key), [], `${key} breaks QEMU, Node or the host metrics`);
  }
  assert.deepEqual(values('User'), ['twarga']);
  assert.deepEqual(values('NoNewPrivileges'), ['yes']);
});

test('systemd-analyze verify accepts the unit (where systemd-analyze and /usr/bin/node exist)', (t) => {
  if (!existsSync('/usr/bin/systemd-analyze') || !existsSync('/usr/bin/node')) return t.skip('no systemd-analyze or /usr/bin/node here');
  // Only complaints about this unit count: verify also loads units it orders itself after.
  let output = '';
  try {
    output = execFileSync('/usr/bin/systemd-analyze', ['verify', unitFile], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  } catch (err) {
    output = `${(err as { stdout?: string }).stdout ?? ''}${(err as { stderr?: string }).stderr ?? ''}`;
  }
  const ours = output.split('\n').filter((l) => l.includes('twarga-cloud.service'));
  assert.deepEqual(ours, []);
});
