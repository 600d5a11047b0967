import { readFile, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import type { InstanceSpec } from '../driver.js';
import { run } from '../../infra/process.js';
import { writeSeedIso } from '../../cloudinit/seed-iso.js';
import { qemuArgs } from './args.js';
import type { QemuInstanceHost } from './instance-host.js';
import { saveState } from './migration.js';
import { instancePaths } from './paths.js';
import { killAndWait, readPid, waitForExit } from './process.js';
import { QmpClient } from './qmp-client.js';
import { connectAgent, guestExec } from './warm-guest.js';
import { sha256File, WARM_CMDLINE_FLAG, WARM_DISK_BYTES, type WarmKeyInputs, type WarmShape } from './warm-key.js';

/** meta.json of a warm snapshot: what it was built from, and its state file's checksum. */
export interface WarmMeta {
  key: string;
  inputs: WarmKeyInputs;
  shape: WarmShape;
  /** The device state (the RAM is not in it: x-ignore-shared). */
  stateSha256: string;
  stateBytes: number;
  /** The guest's RAM (file-backed, shared while building): instant VMs map it privately. */
  ramSha256: string;
  ramBytes: number;
  builtAt: string;
  buildMs: number;
}

/** The files of warm snapshot <key>: <warmDir>/<key>/{state,disk.qcow2,meta.json}. */
export function warmFiles(warmDir: string, key: string) {
  const dir = path.join(warmDir, key);
  return { dir, state: path.join(dir, 'state'), ram: path.join(dir, 'ram'), disk: path.join(dir, 'disk.qcow2'), meta: path.join(dir, 'meta.json') };
}

/** Where a build runs: its own QEMU's files under <warmDir>/build-<key>/vm-0/ (tests' cleanup kills by that pidfile). */
export const buildRoot = (warmDir: string, key: string) => path.join(warmDir, `build-${key}`);

/** The console line the tiny image prints once it waits for its identity in warm mode. */
export const WARM_READY_LINE = 'twarga: warm, waiting for identity';

/** The tiny image's last line of a normal boot (rcS): seen in warm mode, the image ignored the flag. */
const COLD_BOOT_DONE = /tiny: \S+ up at/;

/** Budget for the warm guest to boot (software emulation on a busy host is slow). */
const BOOT_TIMEOUT_MS = 300_000;

/**
 * Boots the image once in warm mode (kernel flag twarga.warm=1: modules, network and the agent
 * up, then it waits; it reads neither the seed nor the data disk), on a blank 1 GiB disk and a
 * seed with no identity, and saves its RAM once it waits. The QEMU is always gone afterwards.
 */
export async function buildWarmSnapshot(host: QemuInstanceHost, spec: InstanceSpec, warmDir: string, key: string, inputs: WarmKeyInputs, shape: WarmShape): Promise<WarmMeta> {
  if (spec.boot.kind !== 'kernel') throw new Error('warm snapshots need a kernel boot');
  const started = Date.now();
  const root = buildRoot(warmDir, key);
  await rm(root, { recursive: true, force: true });
  const p = instancePaths(root, 'vm-0');
  await mkdir(p.dir, { recursive: true, mode: 0o700 });
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', p.disk, String(WARM_DISK_BYTES)], { timeoutMs: 60_000 });
  await writeSeedIso(p.seed, { metaData: 'instance-id: warm\n', userData: '' });
  const warmSpec: InstanceSpec = {
    ...spec,
    id: 'vm-0',
    hostname: 'warm',
    diskGb: WARM_DISK_BYTES / 1024 ** 3,
    sshPort: await freeLoopbackPort(),
    boot: { ...spec.boot, cmdline: `${spec.boot.cmdline} ${WARM_CMDLINE_FLAG}` },
    seed: { metaData: '', userData: '' },
    info: {},
  };
  const state = path.join(p.dir, 'state');
  const ram = path.join(p.dir, 'ram');
  // The RAM in a shared file: written through, so the saved state holds only the devices.
  await host.runQemu(qemuArgs(warmSpec, p, inputs.accel, { memoryFile: { path: ram, shared: true } }), p);
  const pid = await readPid(p.pidfile);
  try {
    if (!pid) throw new Error('the warm QEMU wrote no pidfile');
    const deadline = Date.now() + BOOT_TIMEOUT_MS;
    await waitForWarmGuest(p.serialLog, p.qga, pid, deadline);
    const qmp = await QmpClient.connect(p.qmp, 5000);
    try {
      await saveState(qmp, state, { within: warmDir, ignoreShared: true });
      await qmp.execute('quit').catch(() => undefined);
    } finally {
      qmp.close();
    }
    if (!(await waitForExit(pid, 10_000))) await killAndWait(pid);
  } catch (err) {
    if (pid) await killAndWait(pid);
    throw err;
  }
  const stateBytes = (await stat(state)).size;
  const stateSha256 = await sha256File(state);
  const ramBytes = (await stat(ram)).size;
  const ramSha256 = await sha256File(ram);
  const files = warmFiles(warmDir, key);
  const tmp = `${files.dir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { mode: 0o700 });
  await rename(state, path.join(tmp, 'state'));
  // Never written again after this: instant VMs map it privately, and a private mapping still
  // sees later writes to pages it has not copied. A rebuild makes a new file (another directory).
  await rename(ram, path.join(tmp, 'ram'));
  await rename(p.disk, path.join(tmp, 'disk.qcow2'));
  const meta: WarmMeta = { key, inputs, shape, stateSha256, stateBytes, ramSha256, ramBytes, builtAt: new Date().toISOString(), buildMs: Date.now() - started };
  await writeFile(path.join(tmp, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
  await rm(files.dir, { recursive: true, force: true });
  await rename(tmp, files.dir);
  await rm(root, { recursive: true, force: true });
  return meta;
}

/**
 * Waits for the warm guest: its console line, then the agent confirming /run/twarga-warm (the
 * agent must answer: the instant path drives the guest through it). Fails early when QEMU dies.
 */
async function waitForWarmGuest(serialLog: string, qgaSocket: string, pid: number, deadline: number): Promise<void> {
  for (;;) {
    const printed = await readFile(serialLog, 'utf8').catch(() => '');
    if (printed.includes(WARM_READY_LINE)) break;
    // An image without warm mode ignores the flag and boots to the end: no point waiting minutes.
    if (COLD_BOOT_DONE.test(printed)) throw new Error(`the image booted normally instead of waiting in warm mode: it does not support ${WARM_CMDLINE_FLAG}`);
    if (Date.now() > deadline) throw new Error(`the guest never reached warm mode ("${WARM_READY_LINE}" not on its console within ${BOOT_TIMEOUT_MS / 1000} s): does the image support ${WARM_CMDLINE_FLAG}?`);
    if (await waitForExit(pid, 1)) throw new Error(`the warm QEMU exited while booting: ${printed.slice(-500)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const qga = await connectAgent(qgaSocket, deadline);
  try {
    const result = await guestExec(qga, '/bin/sh', ['-c', 'test -e /run/twarga-warm'], deadline);
    if (result.exitcode !== 0) throw new Error('the guest printed its warm line but /run/twarga-warm does not exist');
  } finally {
    qga.close();
  }
}

/** A port nothing listens on now (the warm guest's SSH forward: its sshd never runs in warm mode). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
