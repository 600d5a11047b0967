import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const serverJs = path.join(root, 'apps/server/dist/server.js');

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * True when process `pid` holds the listening TCP socket on `port` (from /proc: its socket inodes
 * against the listening sockets of /proc/net/tcp and tcp6).
 */
function listensOn(pid: number, port: number): boolean {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkOrEmpty(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    }
  } catch {
    return false;
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const lines = existsSync(table) ? readFileSync(table, 'utf8').split('\n').slice(1) : [];
    for (const line of lines) {
      const f = line.trim().split(/\s+/);
      // local_address is "ADDR:PORT" (hex), st 0A is LISTEN, the inode is the 10th field.
      if (f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A' && inodes.has(f[9]!)) return true;
    }
  }
  return false;
}

function readlinkOrEmpty(p: string): string {
  try {
    return readlinkSync(p);
  } catch {
    return '';
  }
}

/**
 * Runs the built server (what `npm start` runs) until /health answers; returns its output so far.
 * The port is picked free just before the start, so another test's server may take it first: then
 * /health would answer from that server, and this test would drive someone else's server (it once
 * created VMs in the chaos test's data dir). The answer counts only when our child listens there;
 * otherwise the start is tried again on another port.
 */
export async function startServer(env: Record<string, string>) {
  for (let attempt = 1; ; attempt++) {
    const started = await startOnce(env);
    if (started) return started;
    if (attempt === 3) throw new Error('the server could not get a port of its own in 3 attempts');
  }
}

/**
 * Servers this test process started and that still run. They are killed when it ends (a test timed
 * out while a server was starting, say): an orphan would keep its PostgreSQL sessions, its port
 * and its VMs. The test runner ends a file that overruns its time with SIGTERM.
 */
const running = new Set<ReturnType<typeof spawn>>();
const killRunning = () => {
  for (const child of running) child.kill('SIGKILL');
};
process.once('exit', killRunning);
process.once('SIGTERM', () => {
  killRunning();
  // Node's test harness and the benches (which drop their database) end the process themselves.
  if (process.listenerCount('SIGTERM') === 0) process.exit(143);
});

async function startOnce(env: Record<string, string>) {
  const port = await freePort();
  const child = spawn(process.execPath, [serverJs], {
    // Instant VMs off unless a test asks: a warm-snapshot build is a QEMU boot in the background of every server.
    // Image builds off too: a valid Debian cache is still imported, but no server starts a 2-minute build.
    env: { PATH: process.env.PATH ?? '', TWARGA_INSTANT_VMS: 'off', TWARGA_IMAGE_BUILD: 'off', ...env, TWARGA_PORT: String(port), TWARGA_HOST: '127.0.0.1', TWARGA_LOG_LEVEL: env.TWARGA_LOG_LEVEL ?? 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  /** Resolves when the process has ended, however and whenever it ends. */
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => running.delete(child));
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      if (/EADDRINUSE/.test(output)) return undefined;
      throw new Error(`server exited: ${output}`);
    }
    try {
      if ((await fetch(`${base}/health`, { signal: AbortSignal.timeout(5_000) })).ok) {
        if (listensOn(child.pid!, port)) break;
        // Another server answers on our port: ours cannot bind it.
        child.kill('SIGKILL');
        await exited;
        return undefined;
      }
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not start: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  /** SIGTERM (a clean shutdown waits for running actions); SIGKILL if that takes over 30 s, so a test's cleanup always goes on. */
  const stop = async () => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(killer);
  };
  /** SIGKILL, as a crash: resolves once the process is gone. */
  const kill = async () => {
    child.kill('SIGKILL');
    await exited;
  };
  return { base, output: () => output, stop, kill, child };
}

