import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { LinkedNetns } from './netns.js';
import { until } from './until.js';

const NETNS_SCRIPT = path.resolve(import.meta.dirname, '../../scripts/lib/libvirt-netns.sh');
const LIBVIRTD_PIDFILE = '/run/libvirt/twarga-libvirtd.pid';
const VIRTLOGD_PIDFILE = '/run/libvirt/twarga-virtlogd.pid';

/**
 * A libvirtd of a second "machine": in a linked namespace (makeLinkedNetns) and a mount namespace
 * of its own, with private libvirt state under stateDir (libvirt_private_state of
 * scripts/lib/libvirt-netns.sh), its own virtlogd and its own default NAT network. Independent of
 * the run's libvirtd, which other test files share: this one can be restarted. Every process of
 * it lives in the link's namespace, so the link's remove() ends them all (by PID). An sshd run
 * with `exec` serves that machine: its sessions' virt-ssh-helper reaches this libvirtd.
 */
export class PrivateLibvirtd {
  /** argv prefix that runs a command on that machine (its network and mount namespaces). */
  readonly exec: string[];

  private constructor(private readonly holder: ChildProcess) {
    this.exec = ['nsenter', '-t', String(holder.pid), '-m', '-n'];
  }

  /** Makes the mount namespace (held by a sleeping process), starts virtlogd, libvirtd and the default network. */
  static async start(link: LinkedNetns, stateDir: string): Promise<PrivateLibvirtd> {
    // The script is fixed; the paths are its arguments ($1, $2), never pasted into it. Root's
    // ~/.bashrc of this machine is not the other machine's: an SSH session there runs a clean shell
    // (here, .bashrc runs `pyenv init`, whose rehash lock a session killed mid-way leaves behind,
    // and every later root shell waits on it).
    const holder = spawn('ip', ['netns', 'exec', link.name, 'unshare', '--mount', '--propagation', 'private', 'bash', '-c',
      'source "$1" && libvirt_private_state "$2" && { [ ! -e /root/.bashrc ] || mount --bind /dev/null /root/.bashrc; } && exec sleep infinity',
      'private-libvirtd', NETNS_SCRIPT, stateDir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    holder.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const daemon = new PrivateLibvirtd(holder);
    await until('the private libvirt state mounted', async () => {
      if (holder.exitCode !== null) throw new Error(`could not make the private libvirt state: ${err}`);
      return readFileSync(`/proc/${holder.pid}/comm`, 'utf8').trim() === 'sleep' ? true : undefined;
    }, 30_000);
    daemon.run('virtlogd', '-d', '-p', VIRTLOGD_PIDFILE);
    await daemon.startDaemon();
    daemon.virsh('net-start', 'default');
    return daemon;
  }

  run(...argv: string[]): string {
    return execFileSync(this.exec[0]!, [...this.exec.slice(1), ...argv], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** virsh on this machine's libvirtd (qemu:///system there). */
  virsh = (...args: string[]): string => this.run('virsh', '-q', '-c', 'qemu:///system', ...args);

  /** libvirtd's PID, while it runs. */
  pid(): number | undefined {
    const file = `/proc/${this.holder.pid}/root${LIBVIRTD_PIDFILE}`;
    const pid = existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : NaN;
    return Number.isInteger(pid) && existsSync(`/proc/${pid}`) ? pid : undefined;
  }

  /** Starts libvirtd (daemonized, its pidfile in the private /run/libvirt) and waits until it answers. */
  async startDaemon(): Promise<void> {
    this.run('libvirtd', '-d', '-p', LIBVIRTD_PIDFILE);
    await until('the private libvirtd answering', async () => {
      try {
        this.virsh('version');
        return true;
      } catch {
        return undefined;
      }
    }, 30_000);
  }

  /** Stops libvirtd the way a service manager does (SIGTERM to its PID); its QEMUs keep running. */
  async stopDaemon(): Promise<void> {
    const pid = this.pid();
    if (pid === undefined) return;
    process.kill(pid, 'SIGTERM');
    await until('libvirtd stopped', async () => (existsSync(`/proc/${pid}`) ? undefined : true), 30_000);
  }
}
