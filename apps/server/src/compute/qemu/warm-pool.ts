import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import type { InstanceSpec, InstantStartOutcome } from '../driver.js';
import { run } from '../../infra/process.js';
import type { QemuInstanceHost } from './instance-host.js';
import { loadState } from './migration.js';
import { killAndWait, readPid } from './process.js';
import { buildRoot, buildWarmSnapshot, warmFiles, type WarmMeta } from './warm-build.js';
import { connectAgent, dropbearEd25519HostKey, guestExec, identityInput } from './warm-guest.js';
import { FileChecksums, sameShape, sha256File, shapeOf, warmKeyInputs, warmKeyOf, WARM_DISK_BYTES, type WarmKeyInputs } from './warm-key.js';

/** What the pool tells its owner (logs; the service may turn them into events). */
export type WarmPoolEvent =
  | { type: 'built'; key: string; ms: number; stateBytes: number }
  | { type: 'failed'; key: string; reason: string }
  | { type: 'removed'; key: string; reason: string }
  | { type: 'restored'; id: string; key: string; phases: RestorePhases };

/** Milliseconds of each step of an instant start (the bench and the logs report them). */
export interface RestorePhases {
  files: number;
  launch: number;
  load: number;
  resize: number;
  /** Until the guest agent answered its sync. */
  agent: number;
  /** The guest's identity program, run through the agent. */
  identity: number;
  total: number;
}

/** A ready snapshot as verified once: its state and RAM files' sizes and mtimes are checked on every restore. */
interface Ready {
  meta: WarmMeta;
  stateMtimeMs: number;
  ramMtimeMs: number;
}

/** The guest's identity step: sets clock, entropy, hostname, keys, host keys, /data; then starts sshd. */
const IDENTITY_PROGRAM = '/sbin/twarga-identity';
/** A warm snapshot whose build failed is tried again after this long at the earliest. */
const RETRY_AFTER_FAILURE_MS = 10 * 60_000;
/** Budget for an instant start after QEMU is up (load, resize, identity); the caller falls back to a cold boot. */
const RESTORE_TIMEOUT_MS = 60_000;

/**
 * Warm snapshots per image and shape under <warmDir>/<key>/ (see warm-key.ts for the key) and
 * instant starts from them: a new QEMU waits for the saved RAM (-incoming defer), loads it, grows
 * the data disk to the VM's size, runs, and gets its identity through the guest agent before its
 * SSH server starts. Builds run in the background, one at a time, each key once.
 */
export class WarmPool {
  private readonly checksums = new FileChecksums();
  private readonly ready = new Map<string, Ready>();
  private readonly failed = new Map<string, { reason: string; at: number }>();
  private readonly building = new Set<string>();
  /** Restores in progress per key: a superseded snapshot is removed only once none uses it. */
  private readonly inUse = new Map<string, number>();
  private buildChain: Promise<void> = Promise.resolve();
  private loaded?: Promise<void>;
  private qemuVersion?: Promise<string>;

  constructor(
    private readonly host: QemuInstanceHost,
    private readonly dir: string,
    private readonly onEvent: (event: WarmPoolEvent) => void = () => {},
  ) {}

  /** Starts building this spec's warm snapshot in the background unless one is ready or on its way. */
  prepare(spec: InstanceSpec): void {
    void this.keyOf(spec)
      .then((k) => k && this.ensureBuilt(spec, k.key, k.inputs))
      .catch((err: unknown) => this.onEvent({ type: 'failed', key: '?', reason: `could not compute the warm snapshot key: ${message(err)}` }));
  }

  /** Resolves once every build queued so far has ended (tests, the bench). */
  async idle(): Promise<void> {
    let chain: Promise<void>;
    do {
      chain = this.buildChain;
      await chain;
    } while (chain !== this.buildChain);
  }

  /** Where this spec's instant start stands. */
  async state(spec: InstanceSpec): Promise<{ key?: string; state: 'ready' | 'building' | 'missing' | 'failed'; reason?: string }> {
    const k = await this.keyOf(spec);
    if (!k) return { state: 'missing', reason: 'only kernel-boot images have warm snapshots' };
    if (this.ready.has(k.key)) return { key: k.key, state: 'ready' };
    if (this.building.has(k.key)) return { key: k.key, state: 'building' };
    const failure = this.failed.get(k.key);
    return failure ? { key: k.key, state: 'failed', reason: failure.reason } : { key: k.key, state: 'missing' };
  }

  async startInstant(spec: InstanceSpec): Promise<InstantStartOutcome & { phases?: RestorePhases }> {
    if (spec.fromSnapshot) return { started: false, reason: 'a VM made from a snapshot boots from its disk' };
    const k = await this.keyOf(spec).catch((err: unknown) => ({ error: message(err) }));
    if (!k) return { started: false, reason: 'only kernel-boot images have warm snapshots' };
    if ('error' in k) return { started: false, reason: `no warm snapshot: ${k.error}` };
    const ready = this.ready.get(k.key);
    if (!ready) {
      this.ensureBuilt(spec, k.key, k.inputs);
      const failure = this.failed.get(k.key);
      const stale = await this.staleFor(spec, k.key);
      return {
        started: false,
        reason: failure
          ? `the warm snapshot failed to build (${failure.reason}); ${this.building.has(k.key) ? 'building it again' : `next try after ${new Date(failure.at + RETRY_AFTER_FAILURE_MS).toISOString()}`}`
          : stale
            ? `the warm snapshot is stale (${stale}); a new one is being built`
            : 'no warm snapshot for this image and shape yet; it is being built',
      };
    }
    const files = warmFiles(this.dir, k.key);
    // Not a checksum on every restore (100 MB, too slow): the one verified at load must be the file still there.
    const [st, ram] = await Promise.all([stat(files.state).catch(() => undefined), stat(files.ram).catch(() => undefined)]);
    if (!st || st.size !== ready.meta.stateBytes || st.mtimeMs !== ready.stateMtimeMs || !ram || ram.size !== ready.meta.ramBytes || ram.mtimeMs !== ready.ramMtimeMs) {
      this.ready.delete(k.key);
      this.ensureBuilt(spec, k.key, k.inputs);
      return { started: false, reason: 'the warm snapshot changed on disk since it was verified; a new one is being built' };
    }
    const p = this.host.paths(spec.id);
    if (existsSync(p.dir)) return { started: false, reason: `instance ${spec.id} already has files` };
    this.inUse.set(k.key, (this.inUse.get(k.key) ?? 0) + 1);
    try {
      const phases = await this.restore(spec, files);
      this.onEvent({ type: 'restored', id: spec.id, key: k.key, phases });
      return { started: true, restoreMs: phases.total - phases.files, phases };
    } catch (err) {
      await this.cleanUp(spec.id);
      return { started: false, reason: `restoring the warm snapshot failed: ${message(err)}` };
    } finally {
      this.inUse.set(k.key, (this.inUse.get(k.key) ?? 1) - 1);
    }
  }

  private async restore(spec: InstanceSpec, files: ReturnType<typeof warmFiles>): Promise<RestorePhases> {
    const t0 = Date.now();
    const p = this.host.paths(spec.id);
    await mkdir(p.dir, { recursive: true, mode: 0o700 });
    // The warm snapshot's blank disk (the warm guest never touches it): a copy is faster than qemu-img.
    await copyFile(files.disk, p.disk);
    // Seed (padded like the warm one), spec.json with the VM's real disk size, .vm_info: as for a cold VM.
    await this.host.create(spec);
    const t1 = Date.now();
    // The RAM: the warm snapshot's file, mapped privately (copy-on-write, never written back).
    await this.host.launch(spec.id, { incoming: true, memoryFile: { path: files.ram, shared: false } });
    const t2 = Date.now();
    const deadline = t2 + RESTORE_TIMEOUT_MS;
    // The agent's socket is up as soon as QEMU is: connect (and queue the sync) while the state
    // loads, so the guest's qemu-ga finds the request waiting the moment it runs again.
    const agent = connectAgent(p.qga, deadline);
    agent.catch(() => undefined);
    let t3 = t2;
    try {
      await this.host.withQmp(spec.id, 5000, async (qmp) => {
        await loadState(qmp, files.state, { within: this.dir, timeoutMs: RESTORE_TIMEOUT_MS, ignoreShared: true });
        t3 = Date.now();
        const bytes = spec.diskGb * 1024 ** 3;
        if (bytes > WARM_DISK_BYTES) await qmp.execute('block_resize', { device: DATA_DISK_DEVICE, size: bytes });
        await qmp.execute('cont');
      });
    } catch (err) {
      void agent.then((qga) => qga.close(), () => undefined);
      throw err;
    }
    const t4 = Date.now();
    const qga = await agent;
    const tAgent = Date.now();
    try {
      // The identity on stdin (no seed ISO mount in the guest; secrets never in argv), with a host
      // key made here: this instance's own, never reused.
      const hostKey = dropbearEd25519HostKey().file;
      const nowS = Math.floor(Date.now() / 1000);
      let result = await guestExec(qga, IDENTITY_PROGRAM, ['--stdin'], deadline, identityInput(spec.seed, nowS, hostKey));
      // An image from before --stdin: its script reads the seed ISO itself.
      if (result.exitcode === 2 && result.stderr.includes('unknown argument: --stdin')) {
        result = await guestExec(qga, IDENTITY_PROGRAM, ['--now', String(nowS), '--entropy', randomBytes(32).toString('hex')], deadline);
      }
      if (result.exitcode !== 0) throw new Error(`${IDENTITY_PROGRAM} exited ${result.exitcode}: ${(result.stderr || result.stdout).trim().slice(-400)}`);
    } finally {
      qga.close();
    }
    const t5 = Date.now();
    return { files: t1 - t0, launch: t2 - t1, load: t3 - t2, resize: t4 - t3, agent: tAgent - t4, identity: t5 - tAgent, total: t5 - t0 };
  }

  /** A failed instant start leaves nothing behind: its QEMU killed, its directory gone. */
  private async cleanUp(id: string): Promise<void> {
    try {
      await this.host.destroy(id);
    } catch {
      const p = this.host.paths(id);
      const pid = await readPid(p.pidfile);
      if (pid) await killAndWait(pid);
      await rm(p.dir, { recursive: true, force: true });
    }
  }

  private async keyOf(spec: InstanceSpec): Promise<{ key: string; inputs: WarmKeyInputs } | undefined> {
    if (spec.boot.kind !== 'kernel') return undefined;
    await this.load();
    this.qemuVersion ??= run(this.host.qemuBinary, ['--version'], { timeoutMs: 30_000 }).then((r) => r.stdout.split('\n')[0]!.trim());
    const inputs = await warmKeyInputs(spec, { qemuVersion: await this.qemuVersion, accel: await this.host.accel(), checksums: this.checksums });
    return inputs && { key: warmKeyOf(inputs), inputs };
  }

  /** Why a ready snapshot of this spec's shape is not the one for its key (what changed), if there is one. */
  private async staleFor(spec: InstanceSpec, key: string): Promise<string | undefined> {
    const shape = shapeOf(spec);
    const k = await this.keyOf(spec);
    for (const r of this.ready.values()) {
      if (!shape || !k || r.meta.key === key || !sameShape(r.meta.shape, shape)) continue;
      const changed = (Object.keys(k.inputs) as (keyof WarmKeyInputs)[]).filter((f) => r.meta.inputs[f] !== k.inputs[f]);
      return `changed: ${changed.join(', ') || 'its key'}`;
    }
    return undefined;
  }

  private ensureBuilt(spec: InstanceSpec, key: string, inputs: WarmKeyInputs): void {
    const shape = shapeOf(spec);
    if (!shape || this.ready.has(key) || this.building.has(key)) return;
    // A failed build is not retried on every creation (each try boots a VM for minutes).
    const failure = this.failed.get(key);
    if (failure && Date.now() - failure.at < RETRY_AFTER_FAILURE_MS) return;
    this.building.add(key);
    this.buildChain = this.buildChain.then(async () => {
      try {
        const meta = await buildWarmSnapshot(this.host, spec, this.dir, key, inputs, shape);
        const files = warmFiles(this.dir, key);
        const [st, ram] = await Promise.all([stat(files.state), stat(files.ram)]);
        this.ready.set(key, { meta, stateMtimeMs: st.mtimeMs, ramMtimeMs: ram.mtimeMs });
        this.failed.delete(key);
        this.onEvent({ type: 'built', key, ms: meta.buildMs, stateBytes: meta.stateBytes });
        await this.removeSuperseded(meta);
      } catch (err) {
        this.failed.set(key, { reason: message(err), at: Date.now() });
        this.onEvent({ type: 'failed', key, reason: message(err) });
        await rm(buildRoot(this.dir, key), { recursive: true, force: true }).catch(() => undefined);
      } finally {
        this.building.delete(key);
      }
    });
  }

  /** Snapshots of the same image files and shape with another key are stale: removed once no restore uses them. */
  private async removeSuperseded(fresh: WarmMeta): Promise<void> {
    for (const [key, r] of [...this.ready]) {
      if (key === fresh.key || !sameShape(r.meta.shape, fresh.shape) || (this.inUse.get(key) ?? 0) > 0) continue;
      this.ready.delete(key);
      await rm(warmFiles(this.dir, key).dir, { recursive: true, force: true });
      this.onEvent({ type: 'removed', key, reason: `superseded by ${fresh.key}` });
    }
  }

  /**
   * Once per pool (server start or first use): reads every <key>/meta.json and verifies its state
   * file's checksum; a bad or unreadable one is removed, and so are leftovers of interrupted builds.
   */
  private load(): Promise<void> {
    this.loaded ??= (async () => {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      for (const entry of await readdir(this.dir)) {
        const full = `${this.dir}/${entry}`;
        if (entry.startsWith('build-') || entry.endsWith('.tmp')) {
          const pid = await readPid(`${full}/vm-0/qemu.pid`);
          if (pid && (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).includes(`${full}/vm-0/qemu.pid`)) await killAndWait(pid);
          await rm(full, { recursive: true, force: true });
          continue;
        }
        try {
          const meta = JSON.parse(await readFile(`${full}/meta.json`, 'utf8')) as WarmMeta;
          const files = warmFiles(this.dir, entry);
          const [st, ram] = await Promise.all([stat(files.state), stat(files.ram)]);
          if (meta.key !== entry || st.size !== meta.stateBytes || (await sha256File(files.state)) !== meta.stateSha256) throw new Error('its state does not match its checksum');
          if (ram.size !== meta.ramBytes || (await sha256File(files.ram)) !== meta.ramSha256) throw new Error('its RAM does not match its checksum');
          if (!existsSync(files.disk)) throw new Error('its disk is missing');
          this.ready.set(entry, { meta, stateMtimeMs: st.mtimeMs, ramMtimeMs: ram.mtimeMs });
        } catch (err) {
          await rm(full, { recursive: true, force: true });
          this.onEvent({ type: 'removed', key: entry, reason: `unusable warm snapshot: ${message(err)}` });
        }
      }
    })();
    return this.loaded;
  }
}

/** The data disk: the first -drive if=virtio of qemuArgs (the seed is virtio1). */
const DATA_DISK_DEVICE = 'virtio0';

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));
