/**
 * A raw qemu-system-x86_64 with the product's own argv (qemuArgs() of apps/server/src/compute/qemu/args.ts),
 * for the boot benches that compare API create → SSH banner against QEMU alone: the argv minus
 * -daemonize/-pidfile (spawned by the bench, which owns the PID), the disk and NoCloud seed made
 * the way QemuDriver.create makes them, and an argv comparison with a product QEMU's /proc cmdline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { InstanceSpec } from '../../apps/server/src/compute/driver.js';
import { qemuArgs, SYSLOG_GUEST_ADDRESS, SYSLOG_GUEST_PORT } from '../../apps/server/src/compute/qemu/args.js';
import { instancePaths } from '../../apps/server/src/compute/qemu/paths.js';
import { createDisk } from '../../apps/server/src/compute/qemu/qemu-img.js';
import { writeSeedIso } from '../../apps/server/src/cloudinit/seed-iso.js';
import { syslogVendorData } from '../../apps/server/src/cloudinit/syslog-forward.js';

/** argv without -daemonize and -pidfile <file>. */
export function withoutDaemon(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-daemonize') continue;
    if (args[i] === '-pidfile') {
      i++;
      continue;
    }
    out.push(args[i]!);
  }
  return out;
}

/** The raw QEMU's argv: the product's, spawned in the foreground. */
export function rawArgv(spec: InstanceSpec, p: ReturnType<typeof instancePaths>): string[] {
  return withoutDaemon(qemuArgs(spec, p, 'tcg'));
}

/** What QemuDriver.create writes before QEMU starts: the disk (backed by the image for disk boots) and the seed ISO with the vendor-data. */
export async function prepareRaw(spec: InstanceSpec, p: ReturnType<typeof instancePaths>): Promise<void> {
  await mkdir(p.dir, { recursive: true, mode: 0o700 });
  await createDisk(p.disk, spec.diskGb, spec.boot.kind === 'disk' ? { path: spec.boot.path, format: spec.boot.format } : undefined);
  await writeSeedIso(p.seed, { ...spec.seed, vendorData: syslogVendorData({ address: SYSLOG_GUEST_ADDRESS, port: SYSLOG_GUEST_PORT }) });
}

/** A raw QEMU spawned in the foreground; `abort` fires (with its stderr) if it exits early. */
export interface RawQemu {
  child: ChildProcess;
  abort: AbortSignal;
  /** Kills it (if still running) and waits for its exit; throws if it outlives 10 s. */
  stop(): Promise<void>;
}

/** Spawns QEMU with `argv` in `dir`; `track` lets the bench's reaper kill it if the bench dies. */
export function spawnRawQemu(argv: string[], dir: string, label: string, track: (child: ChildProcess) => void): RawQemu {
  const child = spawn('qemu-system-x86_64', argv, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  track(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const abort = new AbortController();
  child.once('exit', (code, signal) => abort.abort(new Error(`${label}: raw QEMU exited early (${code ?? signal}): ${stderr}`)));
  return {
    child,
    abort: abort.signal,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null && child.signalCode === null) throw new Error(`${label}: raw QEMU ${child.pid} did not exit`);
    },
  };
}

interface Instance {
  dir: string;
  id: string;
  hostname: string;
  port: number;
}

/**
 * Differences between the product QEMU's argv (its /proc cmdline) and the raw one, once each
 * instance's own parts (directory, id, hostname, SSH port) are masked. Empty: the same argv.
 */
export function argvDifferences(product: { cmdline: string[] } & Instance, raw: { argv: string[] } & Instance): string[] {
  const mask = (argv: string[], r: Instance) =>
    argv.map((a) => a.split(r.dir).join('<DIR>').split(r.id).join('<ID>').split(`hostname=${r.hostname}`).join('hostname=<NAME>').split(`:${r.port}-`).join(':<PORT>-'));
  const prod = withoutDaemon(mask(product.cmdline, product));
  const bare = ['qemu-system-x86_64', ...mask(raw.argv, raw)];
  const diffs: string[] = [];
  for (let i = 0; i < Math.max(prod.length, bare.length); i++) {
    if (prod[i] !== bare[i]) diffs.push(`  [${i}] product ${JSON.stringify(prod[i])} vs raw ${JSON.stringify(bare[i])}`);
  }
  return diffs;
}
