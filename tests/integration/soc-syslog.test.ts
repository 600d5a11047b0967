import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { Client } from 'ssh2';
import { ApiClient, type Vm } from '@twarga/contract';
import { sshExec, waitForSshBanner } from '../../apps/server/src/test-support/ssh.js';
import { killQemusUnder } from '../support/qemu.js';
import { startServer } from '../support/server.js';
import { until } from '../support/until.js';

interface Row {
  vm_id: number | null;
  user_id: number | null;
  action: string;
  severity: string;
  source_ip: string | null;
  details: Record<string, unknown>;
}

/** The SSH events the server recorded (read from its SQLite database). */
function sshEvents(dataDir: string): Row[] {
  const db = new Database(path.join(dataDir, 'twarga.db'), { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare("SELECT vm_id, user_id, action, severity, source_ip, details FROM events WHERE action LIKE 'ssh.%' ORDER BY id").all() as (Omit<Row, 'details'> & { details: string })[];
    return rows.map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));
  } finally {
    db.close();
  }
}

/** One password login with ssh2 that the guest refuses; resolves with the local port it came from. */
function failedLogin(port: number, username: string, password: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.once('error', reject);
    sock.once('connect', () => {
      const localPort = sock.localPort!;
      const c = new Client();
      c.on('ready', () => {
        c.end();
        reject(new Error('the login succeeded'));
      });
      c.on('error', (err: Error & { level?: string }) => (err.level === 'client-authentication' ? resolve(localPort) : reject(err)));
      c.connect({ sock, username, password, readyTimeout: 60_000, tryKeyboard: false });
    });
  });
}

async function session(base: string, name: string) {
  const anon = new ApiClient({ baseUrl: base });
  await anon.auth.register({ username: name, email: `${name}@example.com`, password: 'correct horse battery' });
  return new ApiClient({ baseUrl: base, token: (await anon.auth.login(name, 'correct horse battery')).access_token });
}

async function running(api: ApiClient, id: number): Promise<Vm> {
  const vm = await until(`VM ${id} running`, async () => {
    const v = await api.vms.get(id);
    if (v.status === 'error') throw new Error(`VM went to error: ${v.error}`);
    return v.status === 'running' && !v.locked ? v : undefined;
  }, 300_000);
  await waitForSshBanner(vm.ssh_port!, 300_000);
  return vm;
}

/**
 * Real dropbear lines from real tiny VMs (QEMU, software emulation) through their syslog
 * channels into the server's events: a failed password login becomes ssh.login_failed on that VM
 * with the user name and the client's port; a login on VM B lands on B only; and lines that VM A's
 * guest forges (naming B, or written raw into its channel) stay A's.
 */
describe('SSH login events from inside real VMs, attributed by channel', () => {
  let dataDir: string;
  let keyDir: string;
  let privateKey: string;
  let server: Awaited<ReturnType<typeof startServer>>;
  let vmA: Vm;
  let vmB: Vm;
  let alice: ApiClient;

  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-syslog-'));
    keyDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-syslogkey-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'syslog', '-f', path.join(keyDir, 'id')]);
    privateKey = readFileSync(path.join(keyDir, 'id'), 'utf8');
    server = await startServer({ TWARGA_DATA_DIR: dataDir, TWARGA_ADMIN_PASSWORD: 'syslog-admin-pw', TWARGA_ACCEL: 'tcg', TWARGA_SSH_PORTS: '23900-23949', TWARGA_BOOT_WATCHDOG_SECONDS: '900' });
    alice = await session(server.base, 'alice');
    const bob = await session(server.base, 'bob');
    const key = await alice.account.keys.create({ name: 'k', public_key: readFileSync(path.join(keyDir, 'id.pub'), 'utf8') });
    const a = await alice.vms.create({ name: 'vm-a', image: 'tiny', size: 's-1vcpu-256mb', ssh_keys: [key.id] });
    const b = await bob.vms.create({ name: 'vm-b', image: 'tiny', size: 's-1vcpu-256mb' });
    [vmA, vmB] = await Promise.all([running(alice, a.id), running(bob, b.id)]);
  });

  after(async () => {
    await server?.stop();
    if (dataDir) killQemusUnder(dataDir);
    for (const d of [dataDir, keyDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  /** Fails logins on a VM until its event arrives (lines sent before the channel opened are lost). */
  async function failUntilRecorded(vm: Vm, password: string): Promise<{ row: Row; localPort: number }> {
    const ports: number[] = [];
    return until(`ssh.login_failed on VM ${vm.id}`, async () => {
      ports.push(await failedLogin(vm.ssh_port!, 'root', password));
      await new Promise((r) => setTimeout(r, 3000));
      const row = sshEvents(dataDir).find((e) => e.action === 'ssh.login_failed' && ports.includes(e.details.client_port as number));
      return row && { row, localPort: row.details.client_port as number };
    }, 180_000);
  }

  test('a failed dropbear login on A is ssh.login_failed on A with the user name, and one on B is not A\'s', async () => {
    const a = await failUntilRecorded(vmA, 'wrong-for-a');
    assert.equal(a.row.vm_id, vmA.id);
    assert.equal(a.row.user_id, vmA.user_id);
    assert.equal(a.row.severity, 'warning');
    assert.equal(a.row.details.user, 'root');
    assert.equal(a.row.details.method, 'password');
    assert.equal(a.row.source_ip, '127.0.0.1', 'a client on the host loopback');
    // The guest saw the client as the user network's gateway, with the port it really came from.
    assert.equal(a.row.details.guest_address, `10.0.2.2:${a.localPort}`);
    assert.equal(a.row.details.channel, `guestfwd:vm-${vmA.id}`);

    const b = await failUntilRecorded(vmB, 'wrong-for-b');
    assert.equal(b.row.vm_id, vmB.id);
    assert.equal(b.row.user_id, vmB.user_id);
    const onA = sshEvents(dataDir).filter((e) => e.vm_id === vmA.id);
    assert.ok(!onA.some((e) => e.details.client_port === b.localPort), "B's login is not on A");
  });

  test("lines A's guest forges (naming B, or raw into its channel) are A's", async () => {
    const spoof = `Bad password attempt for 'spoofed' from 10.0.2.2:1`;
    const raw = `<84>Nov 30 17:00:00 vm-b dropbear[1]: Bad password attempt for 'spoofed-raw' from 10.0.2.2:2`;
    await sshExec({
      port: vmA.ssh_port!,
      privateKey,
      timeoutMs: 60_000,
      // busybox nc waits for the far side to close after its input ends (QEMU's never does): timeout ends it.
      command: `logger -p authpriv.warn -t dropbear "${spoof}"; echo "${raw}" | timeout 5 nc 10.0.2.100 514; true`,
    });
    const forged = await until('the forged lines', async () => {
      const rows = sshEvents(dataDir).filter((e) => e.details.user === 'spoofed' || e.details.user === 'spoofed-raw');
      return rows.length === 2 ? rows : undefined;
    }, 60_000);
    for (const row of forged) assert.equal(row.vm_id, vmA.id, `${row.details.user} lands on A`);
    assert.equal(forged.find((r) => r.details.user === 'spoofed-raw')!.details.hostname, 'vm-b', 'even though it says it is vm-b');
    // The key login that ran the command is recorded too, as a success on A.
    assert.ok(sshEvents(dataDir).some((e) => e.vm_id === vmA.id && e.action === 'ssh.login_succeeded' && e.details.method === 'publickey'));
  });

  test("after a stop and start (a new QEMU, a new channel socket) A's lines arrive again, still on A", async () => {
    await alice.vms.action(vmA.id, { action: 'stop' });
    await until('VM A stopped', async () => {
      const v = await alice.vms.get(vmA.id);
      return v.status === 'stopped' && !v.locked ? v : undefined;
    }, 180_000);
    await alice.vms.action(vmA.id, { action: 'start' });
    vmA = await running(alice, vmA.id);
    const before = sshEvents(dataDir).length;
    const again = await failUntilRecorded(vmA, 'wrong-after-restart');
    assert.equal(again.row.vm_id, vmA.id);
    assert.ok(sshEvents(dataDir).length > before);
  });
});
