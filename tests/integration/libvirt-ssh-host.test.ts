import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiClient, ApiError, type ComputeHost, type Vm } from '@twarga/contract';
import { libvirtUnavailable, virsh, virshQuietly } from '../support/libvirt.js';
import { makeLinkedNetns, type LinkedNetns } from '../support/netns.js';
import { startServer } from '../support/server.js';
import { until } from '../support/until.js';

const SSHD = '/usr/sbin/sshd';
function sshdUnavailable(): string | undefined {
  if (existsSync(SSHD)) return undefined;
  const why = 'needs openssh-server (sshd) for the remote host (scripts/setup.sh --test)';
  if (process.env.TWARGA_TEST_LIBVIRT === '1') throw new Error(`libvirt tests required (TWARGA_TEST_LIBVIRT=1) but it ${why}`);
  return why;
}
const skip = libvirtUnavailable() ?? sshdUnavailable();

/**
 * A second compute host the way a real deployment has one: another "machine" (a network namespace
 * joined to ours by a veth link) running its own sshd (own config and host key, key login only),
 * whose root login reaches a libvirtd (the private one of this run, through virt-ssh-helper). The
 * server drives it as qemu+libssh://root@<address>/system with a key file and a known_hosts file
 * in its data directory, host key checked: an unknown or a different key is refused when the host
 * is added (409, not a hang); recorded with ssh-keyscan, the host takes a VM, which runs.
 */
describe('a remote libvirt host over SSH', { skip }, () => {
  const run = randomBytes(3).toString('hex');
  const prefix = `twarga-it-${run}-`;
  const pool = `twarga-it-${run}`;
  const remotePool = `twarga-it-${run}-s`;
  const port = 27900;
  let link: LinkedNetns;
  let sshd: ChildProcess;
  let sshdLog = '';
  let dataDir: string;
  let hostDir: string;
  let server: Awaited<ReturnType<typeof startServer>>;
  let api: ApiClient;
  let admin: ApiClient;
  const ours = () => virsh('list', '--all', '--name').split('\n').filter((n) => n.startsWith(prefix));
  /** What the operator guide says to do: record the host's key with ssh-keyscan. */
  const keyscan = () => execFileSync('ssh-keyscan', ['-t', 'ed25519', '-p', String(port), link.remoteAddress], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });

  before(async () => {
    link = makeLinkedNetns({ local: '198.51.100.129', remote: '198.51.100.130' });
    hostDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-sshhost-'));
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-lvssh-'));
    // The server's key pair and known_hosts live in its data directory, as the operator guide says.
    mkdirSync(path.join(dataDir, 'ssh'), { mode: 0o700 });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'twarga-server', '-f', path.join(dataDir, 'ssh', 'id_ed25519')]);
    writeFileSync(path.join(dataDir, 'ssh', 'known_hosts'), '');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(hostDir, 'host_ed25519')]);
    writeFileSync(path.join(hostDir, 'authorized_keys'), readFileSync(path.join(dataDir, 'ssh', 'id_ed25519.pub')));
    writeFileSync(path.join(hostDir, 'sshd_config'), [
      `ListenAddress ${link.remoteAddress}:${port}`, `HostKey ${path.join(hostDir, 'host_ed25519')}`,
      `AuthorizedKeysFile ${path.join(hostDir, 'authorized_keys')}`, `PidFile ${path.join(hostDir, 'sshd.pid')}`,
      'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no',
      // Our temporary directory is not root-only all the way up; that is the test's, not sshd's, business.
      'StrictModes no', 'LogLevel VERBOSE', '',
    ].join('\n'));
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege-separation directory (Debian's unit makes it)
    // -D: sshd stays our child (stopped by its PID); -e: its log comes to us.
    sshd = spawn(link.exec[0]!, [...link.exec.slice(1), SSHD, '-D', '-e', '-f', path.join(hostDir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    sshd.stderr!.on('data', (d: Buffer) => (sshdLog += d.toString()));
    await until('sshd listening', () => new Promise<true | undefined>((resolve) => {
      const s = net.connect({ host: link.remoteAddress, port }, () => resolve(s.end() && true)).on('error', () => resolve(undefined));
    }), 10_000);

    server = await startServer({
      TWARGA_DATA_DIR: dataDir, TWARGA_ADMIN_PASSWORD: 'ssh-host-admin-pw', TWARGA_RECONCILE_SECONDS: '1', TWARGA_SSH_PORTS: '28350-28399',
      TWARGA_DEFAULT_DRIVER: 'libvirt', TWARGA_LIBVIRT_URI: 'qemu:///system', TWARGA_LIBVIRT_PREFIX: prefix, TWARGA_LIBVIRT_POOL: pool,
    });
    const anon = new ApiClient({ baseUrl: server.base });
    await anon.auth.register({ username: 'sshuser', email: 'sshuser@example.com', password: 'correct horse battery' });
    api = new ApiClient({ baseUrl: server.base, token: (await anon.auth.login('sshuser', 'correct horse battery')).access_token });
    admin = new ApiClient({ baseUrl: server.base, token: (await anon.auth.login('admin', 'ssh-host-admin-pw')).access_token });
  });
  after(async () => {
    await server?.stop();
    for (const name of ours()) {
      virshQuietly('destroy', name);
      virshQuietly('undefine', name, '--remove-all-storage');
    }
    for (const p of [pool, remotePool]) {
      try {
        for (const line of virsh('vol-list', p).split('\n')) if (line.trim()) virshQuietly('vol-delete', '--pool', p, line.trim().split(/\s+/)[0]!);
      } catch {
        /* no pool */
      }
      for (const verb of ['pool-destroy', 'pool-delete', 'pool-undefine']) virshQuietly(verb, p);
    }
    if (sshd?.pid && sshd.exitCode === null) sshd.kill('SIGTERM');
    link?.remove();
    for (const dir of [dataDir, hostDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const sshUri = () => {
    const ssh = path.join(dataDir, 'ssh');
    return `qemu+libssh://root@${link.remoteAddress}:${port}/system?keyfile=${ssh}/id_ed25519&known_hosts=${ssh}/known_hosts&known_hosts_verify=normal`;
  };
  const addHost = () => admin.admin.hosts.create({ name: 'rack-ssh', driver: 'libvirt', uri: sshUri(), pool: remotePool, ram_mb: 2048, vcpus: 8 });
  let host: ComputeHost;

  test('an unknown or a different host key is a clear 409 and adds nothing; recorded with ssh-keyscan, the host is added', async () => {
    const started = Date.now();
    await assert.rejects(addHost(), (e: ApiError) => {
      assert.equal(e.status, 409, e.message);
      assert.equal(e.code, 'host_key_unknown');
      assert.match(e.message, new RegExp(`ssh-keyscan -p ${port} ${link.remoteAddress.replaceAll('.', '\\.')} >> .*/ssh/known_hosts`));
      return true;
    });
    assert.ok(Date.now() - started < 15_000, `refused at once, not after a timeout (${Date.now() - started} ms)`);
    // Someone else's key recorded for this address (a reinstalled host, or a man in the middle).
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(hostDir, 'other_ed25519')]);
    const otherKey = readFileSync(path.join(hostDir, 'other_ed25519.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(path.join(dataDir, 'ssh', 'known_hosts'), `[${link.remoteAddress}]:${port} ${otherKey}\n`);
    await assert.rejects(addHost(), (e: ApiError) => e.status === 409 && e.code === 'host_key_mismatch' && /differs from the one in/.test(e.message));
    assert.deepEqual((await admin.admin.hosts.list()).map((h) => h.name), ['local'], 'nothing was added');
    assert.doesNotMatch(sshdLog, /Accepted publickey/, 'the server never logged in to a host it does not know');

    writeFileSync(path.join(dataDir, 'ssh', 'known_hosts'), keyscan());
    host = await addHost();
    assert.equal(host.uri, sshUri());
    assert.match(sshdLog, /Accepted publickey for root from 198\.51\.100\.129/, 'the server logged in over SSH with its key');
  });

  let vm: Vm;
  test('a VM placed on the SSH host runs there, its volumes in that host\'s pool; draining it lists what is left', async () => {
    assert.ok(host, 'the host was added');
    const created = await api.vms.create({ name: 'over-ssh', image: 'tiny', size: 's-1vcpu-256mb', region: 'rack-ssh' });
    assert.equal(created.host_id, host.id);
    // Uploading a tiny VM's files over SSH and booting it took 88 s here with nothing else running.
    let last: Vm | undefined;
    vm = await until(() => `the VM running on the SSH host (last seen: ${JSON.stringify(last && { status: last.status, locked: last.locked, ssh_host: last.ssh_host })})`, async () => {
      const v = (last = await api.vms.get(created.id));
      if (v.status === 'error') throw new Error(`VM error: ${v.error}`);
      return v.status === 'running' && !v.locked && v.ssh_host !== '127.0.0.1' ? v : undefined;
    }, 180_000);
    const domain = `${prefix}vm-${vm.id}`;
    assert.match(virsh('domstate', domain), /running/);
    const disks = [...virsh('dumpxml', domain).matchAll(/<source file=['"]([^'"]+)/g)].map((m) => path.dirname(m[1]!));
    assert.deepEqual([...new Set(disks)], [`/var/lib/libvirt/images/${remotePool}`], 'disk and seed are in the SSH host\'s pool');

    await admin.admin.hosts.update(host.id, { draining: true });
    const detail = await admin.admin.hosts.get(host.id);
    assert.equal(detail.draining, true);
    assert.deepEqual(detail.vms, [{ id: vm.id, name: 'over-ssh', owner: 'sshuser', status: 'running' }]);
  });

  test('destroying it leaves nothing on the SSH host', async () => {
    assert.ok(vm, 'the VM was created');
    await api.vms.action(vm.id, { action: 'destroy', force: true });
    await until('destroyed', async () => ((await api.vms.list()).length === 0 ? true : undefined), 60_000);
    await until('no domain of ours', async () => (ours().length === 0 ? true : undefined), 30_000);
    assert.deepEqual((await admin.admin.hosts.get(host.id)).vms, []);
  });
});
