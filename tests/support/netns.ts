import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/**
 * A test that must run inside its OWN network namespace (the network rule: traffic to anything but
 * loopback only inside a namespace the test made). `runInNetns` makes one (`ip netns add`), brings
 * `lo` up with extra addresses on it (documentation ranges such as 192.0.2.10 and 198.51.100.7:
 * never routed anywhere, and inside the namespace only lo exists), runs a child there with
 * `ip netns exec`, and deletes the namespace afterwards, after a failure or a timeout too.
 * Processes the child left in the namespace (a daemonized QEMU) are killed by their PID first.
 */

/** Why a namespace cannot be made here (not root, no iproute2), or undefined when it can. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to make its own network namespace (ip netns add); CI runs as root';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    return 'needs iproute2 (the ip command) to make its own network namespace';
  }
  return undefined;
}

export interface NetnsRun {
  /** Addresses added to lo inside the namespace (each as /32 or /128). */
  addresses: string[];
  /** The child's argv, run inside the namespace. */
  argv: string[];
  /** Added to this process's environment; undefined removes a variable. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  timeoutMs: number;
  /** Gets the child's output as it comes (stdout and stderr). */
  onOutput?: (chunk: string) => void;
}

const ip = (args: string[]) => execFileSync('ip', args, { timeout: 10_000, stdio: ['ignore', 'ignore', 'pipe'] });

/** Runs the child in a fresh namespace; resolves with its exit code (null: killed) and output. */
export async function runInNetns(run: NetnsRun): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string; timedOut: boolean }> {
  const ns = `twarga-test-${process.pid}-${randomBytes(3).toString('hex')}`;
  ip(['netns', 'add', ns]);
  try {
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    for (const a of run.addresses) ip(['-n', ns, 'addr', 'add', a.includes(':') ? `${a}/128` : `${a}/32`, 'dev', 'lo']);
    const env: Record<string, string | undefined> = { ...process.env, ...run.env };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
    const child = spawn('ip', ['netns', 'exec', ns, ...run.argv], {
      cwd: run.cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const take = (d: Buffer) => {
      const text = d.toString();
      output += text;
      run.onOutput?.(text);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, run.timeoutMs);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
    clearTimeout(timer);
    return { code, signal, output, timedOut };
  } finally {
    killLeftovers(ns);
    try {
      ip(['netns', 'del', ns]);
    } catch (err) {
      process.stderr.write(`could not delete network namespace ${ns}: ${(err as Error).message}\n`);
    }
  }
}

/** Every process still in our namespace is one our child started: killed by PID, never by name. */
function killLeftovers(ns: string): void {
  let pids: number[] = [];
  try {
    pids = execFileSync('ip', ['netns', 'pids', ns], { timeout: 10_000, encoding: 'utf8' }).split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** A namespace linked to the current one by a veth pair: a second "machine" a test can reach by address. */
export interface LinkedNetns {
  name: string;
  /** This namespace's end of the link. */
  localAddress: string;
  /** The other namespace's address, e.g. where its sshd listens. */
  remoteAddress: string;
  /** argv prefix running a command inside it: [...linked.exec, 'sshd', …]. */
  exec: string[];
  /** Kills what still runs in it (by PID) and deletes it with its link; safe to call twice. */
  remove(): void;
}

/**
 * Makes a namespace joined to ours by a /30 veth link (`local` here, `remote` there): traffic
 * between the two stays inside namespaces the test made. Call only from a private namespace
 * (e.g. the libvirt one of scripts/test.sh): the link's end is added to the current namespace.
 */
export function makeLinkedNetns(addresses: { local: string; remote: string }): LinkedNetns {
  const tag = randomBytes(3).toString('hex');
  const ns = `twarga-link-${process.pid}-${tag}`;
  const [here, there] = [`twl${tag}`, `twr${tag}`];
  ip(['netns', 'add', ns]);
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    killLeftovers(ns);
    for (const args of [['link', 'del', here], ['netns', 'del', ns]]) {
      try {
        ip(args);
      } catch {
        /* already gone (deleting the namespace removes its end of the link too) */
      }
    }
  };
  try {
    ip(['link', 'add', here, 'type', 'veth', 'peer', 'name', there, 'netns', ns]);
    ip(['addr', 'add', `${addresses.local}/30`, 'dev', here]);
    ip(['link', 'set', here, 'up']);
    ip(['-n', ns, 'addr', 'add', `${addresses.remote}/30`, 'dev', there]);
    ip(['-n', ns, 'link', 'set', there, 'up']);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  } catch (err) {
    remove();
    throw err;
  }
  return { name: ns, localAddress: addresses.local, remoteAddress: addresses.remote, exec: ['ip', 'netns', 'exec', ns], remove };
}
