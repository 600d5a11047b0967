import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { LinkedNetns } from './netns.js';
import { until } from './until.js';

const SSHD = '/usr/sbin/sshd';

/**
 * The sshd of a second "machine" (a namespace linked to ours, see makeLinkedNetns) whose root login
 * reaches a libvirtd through virt-ssh-helper: a remote libvirt host a test can take away and bring
 * back. Own config and host key, key login only; started with -D so it is our child (stopped by PID).
 */
export class SshLibvirtHost {
  /** sshd's log (-e), of every start. */
  log = '';
  private child?: ChildProcess;

  constructor(
    readonly o: {
      link: LinkedNetns;
      port: number;
      /** A directory of the test's for the config, host key and authorized_keys. */
      dir: string;
      /** The public key allowed to log in as root. */
      authorizedKeyFile: string;
      /** argv prefix that runs sshd (default: the link's namespace, e.g. a private mount namespace in it). */
      exec?: string[];
    },
  ) {
    const { dir, link, port } = o;
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'host_ed25519')], { timeout: 10_000 });
    writeFileSync(path.join(dir, 'authorized_keys'), readFileSync(o.authorizedKeyFile));
    writeFileSync(path.join(dir, 'sshd_config'), [
      `ListenAddress ${link.remoteAddress}:${port}`, `HostKey ${path.join(dir, 'host_ed25519')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`, `PidFile ${path.join(dir, 'sshd.pid')}`,
      'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no',
      // The test's temporary directory is not root-only all the way up; that is the test's, not sshd's, business.
      'StrictModes no', 'LogLevel VERBOSE', '',
    ].join('\n'));
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege-separation directory
  }

  /** Starts sshd and waits until it accepts connections. */
  async start(): Promise<void> {
    const exec = this.o.exec ?? this.o.link.exec;
    const child = spawn(exec[0]!, [...exec.slice(1), SSHD, '-D', '-e', '-f', path.join(this.o.dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.child = child;
    await until('sshd listening', async () => (child.exitCode === null && (await this.accepts()) ? true : undefined), 10_000);
  }

  private accepts(): Promise<boolean> {
    return new Promise((resolve) => {
      const s = net.connect({ host: this.o.link.remoteAddress, port: this.o.port }, () => resolve(!!s.end())).on('error', () => resolve(false));
    });
  }

  /** ssh-keyscan's line for the host key, as the operator guide says to record it. */
  keyscan(): string {
    const { link, port } = this.o;
    return execFileSync('ssh-keyscan', ['-t', 'ed25519', '-p', String(port), link.remoteAddress], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
  }

  /**
   * The machine goes away: sshd and every session it serves (virt-ssh-helper included) are killed
   * by PID, so connections in flight are cut and new ones are refused until start() again.
   */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child?.pid || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    for (const pid of [child.pid, ...descendantsOf(child.pid)]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* ended meanwhile */
      }
    }
    await exited;
  }

  /** Its network end goes down (or up): packets to it are dropped, connections hang until it is back. */
  setLink(up: boolean): void {
    const ns = this.o.link.name;
    const dev = execFileSync('ip', ['-n', ns, '-o', 'link', 'show', 'type', 'veth'], { encoding: 'utf8', timeout: 10_000 }).match(/^\d+: ([^@:\s]+)/)?.[1];
    if (!dev) throw new Error(`no veth end in namespace ${ns}`);
    execFileSync('ip', ['-n', ns, 'link', 'set', dev, up ? 'up' : 'down'], { timeout: 10_000 });
  }

  stop(): void {
    if (this.child?.pid && this.child.exitCode === null) this.child.kill('SIGTERM');
  }
}

/** Every process below pid (its sessions and what they run), from /proc. */
function descendantsOf(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* ended meanwhile */
    }
  }
  const below = (pid: number): number[] => [...parentOf].filter(([, ppid]) => ppid === pid).flatMap(([child]) => [child, ...below(child)]);
  return below(root);
}
