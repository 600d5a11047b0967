import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiClient, type Vm } from '@twarga/contract';
import { sleep, sqliteVmRows } from '../support/chaos.js';
import { LibvirtChaosChecks } from '../support/libvirt-chaos.js';
import { domainState, libvirtUnavailable, virsh, virshQuietly } from '../support/libvirt.js';
import { PrivateLibvirtd } from '../support/private-libvirtd.js';
import { makeLinkedNetns, type LinkedNetns } from '../support/netns.js';
import { startServer } from '../support/server.js';
import { SshLibvirtHost } from '../support/ssh-libvirt-host.js';
import { until } from '../support/until.js';

function sshdUnavailable(): string | undefined {
  if (existsSync('/usr/sbin/sshd')) return undefined;
  const why = 'needs openssh-server (sshd) for the remote host (scripts/setup.sh --test)';
  if (process.env.TWARGA_TEST_LIBVIRT === '1') throw new Error(`libvirt tests required (TWARGA_TEST_LIBVIRT=1) but it ${why}`);
  return why;
}
const skip = libvirtUnavailable() ?? sshdUnavailable();

const RECONCILE_SECONDS = 1;
/** How long the host stays away each round. */
const AWAY_MS = 3_000;

type Op = 'create' | 'stop' | 'start' | 'destroy';
/**
 * How the host goes away: `kill`, its sshd and every session are killed (connections cut, new ones
 * refused: the machine is unreachable), then started again; `blip`, its network end goes down
 * (packets dropped, connections hang: a cable pulled), then up; `libvirtd`, its libvirtd is
 * stopped (SIGTERM, QEMUs keep running) and started again. And when: once the VM's domain runs,
 * or ms after the action was accepted.
 */
interface Round {
  op: Op;
  cut: 'kill' | 'blip' | 'libvirtd';
  at: 'domain-running' | number;
}
const ROUNDS: Round[] = [
  { op: 'create', cut: 'kill', at: 'domain-running' },
  { op: 'stop', cut: 'blip', at: 300 },
  { op: 'start', cut: 'libvirtd', at: 'domain-running' },
  { op: 'destroy', cut: 'kill', at: 400 },
];

/**
 * Chaos on a remote libvirt host: a namespace linked to ours (a second machine) with its own sshd
 * and its own libvirtd (PrivateLibvirtd: the run's libvirtd is shared with other test files and
 * must not be restarted), driven as qemu+libssh://. The host goes away in the middle of create,
 * stop, start and destroy (sshd killed, link down, libvirtd restarted) and comes back. After each round: the action has ended
 * (completed, or errored with a message), every VM is steady within a reconciler period of the
 * host's return, its status is what libvirt says (or error, with no domain running, and a destroy
 * then leaves nothing), no domain or volume is orphaned, no VM is lost, and the balance is the
 * sum of the ledger with each hour charged once (a create that never ran is refunded).
 */
describe('a remote libvirt host that goes away mid-action and comes back', { skip }, () => {
  const run = randomBytes(3).toString('hex');
  const prefix = `twarga-it-${run}-`;
  const pool = `twarga-it-${run}`;
  const remotePool = `twarga-it-${run}-c`;
  const port = 28550;
  let link: LinkedNetns;
  let libvirtd: PrivateLibvirtd;
  let host: SshLibvirtHost;
  let dataDir: string;
  let hostDir: string;
  let stateDir: string;
  let server: Awaited<ReturnType<typeof startServer>>;
  let api: ApiClient;

  before(async () => {
    link = makeLinkedNetns({ local: '198.51.100.133', remote: '198.51.100.134' });
    hostDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-chaoshost-'));
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-lvchaos-'));
    stateDir = mkdtempSync('/var/tmp/twarga-lvchaos-state-');
    libvirtd = await PrivateLibvirtd.start(link, stateDir);
    const ssh = path.join(dataDir, 'ssh');
    mkdirSync(ssh, { mode: 0o700 });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'twarga-server', '-f', path.join(ssh, 'id_ed25519')], { timeout: 10_000 });
    // Its root login reaches that machine's libvirtd (virt-ssh-helper in its mount namespace).
    host = new SshLibvirtHost({ link, port, dir: hostDir, authorizedKeyFile: path.join(ssh, 'id_ed25519.pub'), exec: libvirtd.exec });
    await host.start();
    writeFileSync(path.join(ssh, 'known_hosts'), host.keyscan());

    server = await startServer({
      TWARGA_DATA_DIR: dataDir, TWARGA_ADMIN_PASSWORD: 'lv-chaos-admin-pw', TWARGA_RECONCILE_SECONDS: String(RECONCILE_SECONDS),
      TWARGA_SSH_PORTS: '28500-28549', TWARGA_STOP_TIMEOUT_SECONDS: '10',
      TWARGA_DEFAULT_DRIVER: 'libvirt', TWARGA_LIBVIRT_URI: 'qemu:///system', TWARGA_LIBVIRT_PREFIX: prefix, TWARGA_LIBVIRT_POOL: pool,
    });
    const anon = new ApiClient({ baseUrl: server.base });
    await anon.auth.register({ username: 'lvchaos', email: 'lvchaos@example.com', password: 'correct horse battery' });
    api = new ApiClient({ baseUrl: server.base, token: (await anon.auth.login('lvchaos', 'correct horse battery')).access_token });
    const admin = new ApiClient({ baseUrl: server.base, token: (await anon.auth.login('admin', 'lv-chaos-admin-pw')).access_token });
    const uri = `qemu+libssh://root@${link.remoteAddress}:${port}/system?keyfile=${ssh}/id_ed25519&known_hosts=${ssh}/known_hosts&known_hosts_verify=normal`;
    await admin.admin.hosts.create({ name: 'rack-chaos', driver: 'libvirt', uri, pool: remotePool, ram_mb: 2048, vcpus: 8 });
  });

  after(async () => {
    await server?.stop();
    // On the run's libvirtd, at most the local host's empty pool; the other machine goes whole.
    if (virsh('pool-list', '--all', '--name').split('\n').some((n) => n.trim() === pool)) {
      for (const verb of ['pool-destroy', 'pool-delete', 'pool-undefine']) virshQuietly(verb, pool);
    }
    host?.stop();
    link?.remove(); // ends every process of the other machine (its libvirtd, QEMUs, dnsmasq), by PID
    // maxRetries: the other machine's processes were just sent SIGKILL and may still be writing.
    for (const dir of [dataDir, hostDir, stateDir]) if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  });

  const vmRows = () => sqliteVmRows(dataDir);

  test(`the host goes away during ${ROUNDS.map((r) => r.op).join(', ')} and comes back: nothing is lost`, { timeout: 170_000 }, async (t) => {
    const checks = new LibvirtChaosChecks({ dataDir, api: () => api, vmRows, graceMs: (RECONCILE_SECONDS + 2) * 1000, prefix, pools: [remotePool], virsh: libvirtd.virsh });
    const tracked = checks.vms.expected;
    let names = 0;
    const current = async (): Promise<Vm | undefined> => (await checks.vms.tracked()).find((v) => v.status !== 'destroyed');
    const steady = (what: string) => checks.check(what, Date.now(), t);
    const create = async () => {
      const vm = await api.vms.create({ name: `chaos-${++names}`, image: 'tiny', size: 's-1vcpu-256mb', region: 'rack-chaos' });
      tracked.set(vm.id, 'live');
      return vm.id;
    };
    const destroy = async (id: number) => {
      tracked.set(id, 'destroyed');
      await api.vms.action(id, { action: 'destroy', force: true });
    };
    /** Brings the one VM where the round needs it, with the host up. */
    const prepare = async (op: Op) => {
      let vm = await current();
      if (op === 'create') return;
      if (!vm) {
        await create();
        vm = (await steady('preparation')).find((v) => v.status !== 'destroyed')!;
      }
      assert.match(vm.status, /^(running|stopped)$/, `preparation: VM ${vm.id} is ${vm.status} (${vm.error})`);
      const want = op === 'start' ? 'stopped' : 'running';
      if (vm.status !== want) {
        await api.vms.action(vm.id, want === 'stopped' ? { action: 'stop', force: true } : { action: 'start' });
        await steady('preparation');
      }
    };

    const goAway = {
      kill: async () => {
        await host.kill();
        await sleep(AWAY_MS);
        await host.start();
      },
      blip: async () => {
        host.setLink(false);
        await sleep(AWAY_MS);
        host.setLink(true);
      },
      // Stopping and starting libvirtd takes seconds already: no extra wait.
      libvirtd: async () => {
        await libvirtd.stopDaemon();
        await libvirtd.startDaemon();
      },
    };
    const report: string[] = [];
    for (const [i, round] of ROUNDS.entries()) {
      await prepare(round.op);
      const target = round.op === 'create' ? await create() : (await current())!.id;
      if (round.op === 'destroy') await destroy(target);
      else if (round.op !== 'create') await api.vms.action(target, round.op === 'stop' ? { action: 'stop' } : { action: 'start' });
      const accepted = Date.now();
      const actionOpen = async () => (await api.vms.actions(target)).some((a) => a.status === 'in-progress');
      if (round.at === 'domain-running') {
        await until('the domain running on the host (or the action over)', async () => (domainState(`${prefix}vm-${target}`, libvirtd.virsh) === 'running' || !(await actionOpen()) ? true : undefined), 60_000);
      } else await sleep(round.at);
      const cutAt = Date.now();
      const wasOpen = await actionOpen();
      await goAway[round.cut]();
      const back = Date.now();

      const what = `round ${i} (${round.op} VM ${target}, host away by ${round.cut} ${cutAt - accepted} ms after the request)`;
      // The action ends within the reconciler's reach of the host's return (settle fails otherwise).
      await checks.vms.settle(back, what);
      const [action] = (await api.vms.actions(target)).filter((a) => a.type === round.op);
      assert.ok(action, `${what}: no ${round.op} action`);
      assert.ok(action.status === 'completed' || (action.status === 'errored' && (action.error ?? '').length > 10), `${what}: the action ended ${action.status}: ${action.error}`);
      // A destroy that failed leaves the VM live (in error, or running again: its domain is there).
      if (round.op === 'destroy' && action.status === 'errored') tracked.set(target, 'live');
      const vms = await checks.check(what, back, t);
      const steadyMs = Date.now() - back;
      const status = vms.find((v) => v.id === target)!.status;
      const line = `round ${i}: ${round.op} VM ${target}, ${round.cut} ${cutAt - accepted} ms in (action ${wasOpen ? 'open' : 'already over'}), away ${back - cutAt} ms, steady ${steadyMs} ms after: action ${action.status}${action.error ? ` (${action.error})` : ''}, VM ${status}`;
      report.push(line);
      t.diagnostic(line);
      if (status === 'error' || (round.op === 'destroy' && status !== 'destroyed')) {
        // Destroyable once the host is back, leaving nothing behind.
        await destroy(target);
        await steady(`${what}, then destroyed`);
      }
    }
    const left = await current();
    if (left) {
      await destroy(left.id);
      await steady('final destroy');
    }
    assert.deepEqual(checks.domainIds(), [], 'no domain of this run is left');
    assert.deepEqual(checks.vmVolumes(), [], 'no volume of this run\'s VMs is left');
    process.stdout.write(`# libvirt host chaos report:\n${report.map((l) => `#   ${l}\n`).join('')}`);
  });
});
