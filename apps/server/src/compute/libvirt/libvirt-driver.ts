import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { assertInstanceId, INSTANCE_ID_PATTERN, type ComputeDriver, type DriverInfo, type GuestAgentSource, type GuestReport, type InstanceInspection, type InstanceSpec, type InstanceStats, type Rebuildable, type Resizable, type ResizeTarget, type SerialConsole, type SnapshotResult, type SnapshotStore, type StatsSource, type StopOptions } from '../driver.js';
import { guestReportViaVirsh } from './guest-agent.js';
import { tailOfFiles } from '../qemu/serial.js';
import { domainIdentity, domainXml, infoMetadataElement, resizedDomainXml, METADATA_KEY, METADATA_NAMESPACE, parseInfoMetadata, type DomainType, type DomainXmlOptions } from './domain-xml.js';

type DomainXmlVolumes = DomainXmlOptions['volumes'];
import { openPtyConsole } from './pty-console.js';
import { LibvirtSnapshots, snapshotVolumes } from './libvirt-snapshots.js';
import { StoragePool } from './storage-pool.js';
import { DOMSTATS_ARGS, ignoreKind, isLocalUri, mapDomState, parseDomIfAddr, parseDomState, parseNameList, parseVolList, runningDomainStats, Virsh, VirshError } from './virsh.js';

export interface LibvirtDriverOptions {
  /** 'qemu:///system' (local) or 'qemu+ssh://user@host/system' (remote). */
  uri: string;
  /** A libvirt storage pool (type dir) for disks, seeds, kernels and base images; created if missing. */
  poolName?: string;
  /** The pool's directory on the libvirt host. */
  poolDir?: string;
  /** The libvirt network the VMs join (DHCP gives their private address). */
  network?: string;
  /** 'qemu' = software emulation (TCG), 'kvm' = hardware acceleration. */
  domainType?: DomainType;
  /** Domain name = prefix + instance id; list() only sees domains with this prefix. */
  namePrefix?: string;
  /** Graceful stop budget before `virsh destroy`. */
  stopTimeoutMs?: number;
  /** Where virtlogd writes each domain's serial console log, on the libvirt host. */
  consoleLogDir?: string;
  /** How long start() waits for the guest's DHCP lease (so inspect() can report sshEndpoint). */
  leaseTimeoutMs?: number;
  virshBinary?: string;
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ABS_PATH_PATTERN = /^\/[A-Za-z0-9_.,+@/-]*$/;

function checkOption(label: string, value: string, pattern: RegExp): string {
  if (!pattern.test(value) || value.split('/').includes('..')) throw new Error(`invalid libvirt ${label}: ${JSON.stringify(value)}`);
  return value;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Instances as libvirt domains, driven through virsh (works for local and remote URIs).
 * - Files live as volumes of one dir storage pool, so QEMU (user libvirt-qemu) can read them and
 *   a remote host needs no shared filesystem: `<domain>-disk.qcow2`, `<domain>-seed.iso` per
 *   instance, and `shared-<sha256/16>-<file>` for kernels, initrds and base images (uploaded
 *   once, reused while their content hash, size and allocation match; never deleted by destroy).
 * - The .vm_info record is domain metadata (namespace METADATA_NAMESPACE, element <info> holding
 *   the JSON), so it travels with the domain; readInfo() reads it back.
 * - The serial console is a PTY (openSerial, local URIs only) that virtlogd also writes to
 *   <consoleLogDir>/<domain>.console.log (virtlogd rotates it to .0, .1…).
 */
export class LibvirtDriver implements ComputeDriver, SerialConsole, StatsSource, GuestAgentSource, SnapshotStore, Resizable, Rebuildable {
  readonly virsh: Virsh;
  readonly local: boolean;
  readonly poolName: string;
  readonly poolDir: string;
  readonly network: string;
  readonly domainType: DomainType;
  readonly namePrefix: string;
  readonly consoleLogDir: string;
  private readonly stopTimeoutMs: number;
  private readonly leaseTimeoutMs: number;
  readonly pool: StoragePool;
  private readonly snapshots: LibvirtSnapshots;

  constructor(opts: LibvirtDriverOptions) {
    this.virsh = new Virsh(opts.uri, { binary: opts.virshBinary, timeoutMs: 60_000 });
    this.local = isLocalUri(opts.uri);
    this.poolName = checkOption('pool name', opts.poolName ?? 'twarga', NAME_PATTERN);
    this.poolDir = checkOption('pool directory', opts.poolDir ?? `/var/lib/libvirt/images/${this.poolName}`, ABS_PATH_PATTERN);
    this.pool = new StoragePool(this.virsh, this.poolName, this.poolDir);
    this.network = checkOption('network', opts.network ?? 'default', NAME_PATTERN);
    this.domainType = opts.domainType ?? 'qemu';
    if (this.domainType !== 'qemu' && this.domainType !== 'kvm') throw new Error(`invalid libvirt domain type: ${String(this.domainType)}`);
    this.namePrefix = checkOption('name prefix', opts.namePrefix ?? 'twarga-', /^[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$/);
    this.consoleLogDir = checkOption('console log directory', opts.consoleLogDir ?? '/var/log/libvirt/qemu', ABS_PATH_PATTERN);
    this.stopTimeoutMs = opts.stopTimeoutMs ?? 60_000;
    this.leaseTimeoutMs = opts.leaseTimeoutMs ?? 120_000;
    this.snapshots = new LibvirtSnapshots(this);
  }

  info(): DriverInfo {
    return {
      name: 'libvirt',
      features: { console: this.local, stats: true, survivesRestart: true, gracefulStop: true },
      details: { uri: this.virsh.uri, local: this.local, pool: this.poolName, poolDir: this.poolDir, network: this.network, domainType: this.domainType, namePrefix: this.namePrefix },
    };
  }

  /** The libvirt domain name of an instance (validates the id). */
  domainName(id: string): string {
    assertInstanceId(id);
    return `${this.namePrefix}${id}`;
  }

  consoleLogPath(id: string): string {
    return path.posix.join(this.consoleLogDir, `${this.domainName(id)}.console.log`);
  }

  async create(spec: InstanceSpec): Promise<void> {
    const name = this.domainName(spec.id);
    await this.pool.ensure();
    const state = await this.domState(name);
    let fromVolume: string | undefined;
    if (spec.fromSnapshot !== undefined) {
      fromVolume = snapshotVolumes(this.namePrefix, spec.fromSnapshot).disk;
      if (!(await this.pool.exists(fromVolume))) throw new Error(`snapshot ${spec.fromSnapshot} has no disk volume in the libvirt pool ${this.poolName} of this host`);
    }
    const volumes = await this.prepareVolumes(spec, name, state === 'running', fromVolume);
    if (state !== undefined) {
      // Already defined (a repeated create): keep its definition (uuid, MAC → same lease), refresh the record.
      await this.writeInfo(spec.id, spec.info);
      return;
    }
    await this.define(domainXml(spec, { name, domainType: this.domainType, network: this.network, volumes, consoleLog: this.consoleLogPath(spec.id), info: spec.info }));
  }

  /** Kernel/initrd (kernel boot), the disk (kept when it exists) and the seed as pool volumes; their paths. */
  private async prepareVolumes(spec: InstanceSpec, name: string, running: boolean, fromVolume?: string): Promise<DomainXmlVolumes> {
    const volumes: DomainXmlVolumes = { disk: '', seed: '' };
    if (spec.boot.kind === 'kernel') {
      volumes.kernel = await this.pool.path(await this.pool.ensureShared(spec.boot.kernel, 'raw'));
      volumes.initrd = await this.pool.path(await this.pool.ensureShared(spec.boot.initrd, 'raw'));
    }
    volumes.disk = await this.pool.ensureDisk(name, spec, fromVolume);
    // The seed of a running domain is in use; otherwise (re)write it from the spec.
    const seedVol = `${name}-seed.iso`;
    if (running && (await this.pool.exists(seedVol))) volumes.seed = await this.pool.path(seedVol);
    else volumes.seed = await this.pool.uploadSeed(seedVol, spec.seed);
    if (this.local) await mkdir(this.consoleLogDir, { recursive: true });
    return volumes;
  }

  /** `virsh define` of a domain XML (a new domain, or a new definition of one with the same name and uuid). */
  async define(xml: string): Promise<void> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'twarga-libvirt-'));
    try {
      await writeFile(path.join(dir, 'domain.xml'), xml, { mode: 0o600 });
      // The first define on a fresh libvirtd probes QEMU's capabilities: slow on a small host.
      await this.virsh.run(['define', path.join(dir, 'domain.xml')], { timeoutMs: 180_000 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async start(id: string): Promise<void> {
    const name = this.domainName(id);
    const state = await this.domState(name);
    if (state === undefined) throw new Error(`libvirt domain ${name} is not defined (create the instance first)`);
    if (state === 'running') return;
    if (this.local) await mkdir(this.consoleLogDir, { recursive: true });
    await this.virsh.run(['start', name], { timeoutMs: 180_000 }).catch(ignoreKind('already-running'));
    // inspect() reports sshEndpoint from the DHCP lease: wait for it, but a late lease is not an error.
    const deadline = Date.now() + this.leaseTimeoutMs;
    while (Date.now() < deadline) {
      if ((await this.leaseAddress(name)) !== undefined) return;
      if ((await this.domState(name)) !== 'running') return;
      await sleep(500);
    }
  }

  async stop(id: string, options: StopOptions = {}): Promise<void> {
    const name = this.domainName(id);
    if ((await this.domState(name)) !== 'running') return;
    if (!options.force && (await this.shutdown(name, options.timeoutMs ?? this.stopTimeoutMs))) return;
    await this.virsh.run(['destroy', name], { timeoutMs: 60_000 }).catch(ignoreKind('not-running', 'not-found'));
  }

  /** Clean: a guest power-off and a fresh start (picks up a changed definition). Forced: a hard reset. */
  async reboot(id: string, options: { force?: boolean } = {}): Promise<void> {
    const name = this.domainName(id);
    if (options.force && (await this.domState(name)) === 'running') {
      await this.virsh.run(['reset', name]);
      return;
    }
    await this.stop(id);
    await this.start(id);
  }

  async destroy(id: string): Promise<void> {
    const name = this.domainName(id);
    const state = await this.domState(name);
    if (state === 'running') await this.virsh.run(['destroy', name], { timeoutMs: 60_000 }).catch(ignoreKind('not-running', 'not-found'));
    if (state !== undefined) await this.virsh.run(['undefine', name, '--managed-save', '--snapshots-metadata']).catch(ignoreKind('not-found'));
    const vols = await this.virsh.runIfExists(['vol-list', '--pool', this.poolName]);
    for (const vol of parseVolList(vols ?? '')) {
      if (vol.name.startsWith(`${name}-`)) await this.pool.remove(vol.name);
    }
    if (this.local) {
      const log = this.consoleLogPath(id);
      await Promise.all(['', '.0', '.1', '.2', '.3'].map((s) => rm(log + s, { force: true })));
    }
  }

  async inspect(id: string): Promise<InstanceInspection> {
    const name = this.domainName(id);
    // One virsh call as before; --reason adds why a paused domain is paused ("paused (I/O error)").
    const out = await this.virsh.runIfExists(['domstate', name, '--reason']);
    if (out === undefined) return { state: 'missing' };
    const state = mapDomState(parseDomState(out));
    if (state !== 'running') return { state };
    const result: InstanceInspection = { state };
    const paused = pausedReasonOf(out);
    if (paused) result.paused = { reason: paused };
    if (this.local) Object.assign(result, await localProcess(name));
    const ip = await this.leaseAddress(name);
    if (ip) {
      result.privateIp = ip;
      result.sshEndpoint = { host: ip, port: 22, username: 'root' };
    }
    return result;
  }

  async list(): Promise<string[]> {
    const names = parseNameList(await this.virsh.run(['list', '--all', '--name']));
    return names
      .filter((n) => n.startsWith(this.namePrefix))
      .map((n) => n.slice(this.namePrefix.length))
      .filter((id) => INSTANCE_ID_PATTERN.test(id))
      .sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)));
  }

  /** Stores the .vm_info record as the domain's persistent metadata. */
  async writeInfo(id: string, info: Record<string, unknown>): Promise<void> {
    const name = this.domainName(id);
    await this.virsh.run(['metadata', name, '--uri', METADATA_NAMESPACE, '--key', METADATA_KEY, '--set', infoMetadataElement(info, false), '--config']);
  }

  /** The .vm_info record kept in the domain's metadata; undefined when the domain or record is absent. */
  async readInfo(id: string): Promise<Record<string, unknown> | undefined> {
    const name = this.domainName(id);
    try {
      return parseInfoMetadata(await this.virsh.run(['metadata', name, '--uri', METADATA_NAMESPACE, '--config']));
    } catch (err) {
      if (err instanceof VirshError && (err.kind === 'not-found' || /metadata not found|not present/i.test(err.stderr))) return undefined;
      throw err;
    }
  }

  /** `virsh domstats` of the running domain (any URI: the counters come from libvirtd). */
  async stats(id: string): Promise<InstanceStats | undefined> {
    const name = this.domainName(id);
    return runningDomainStats((await this.virsh.runIfExists([...DOMSTATS_ARGS, name])) ?? '', name);
  }

  /** The guest agent (virsh qemu-agent-command) and balloon (virsh dommemstat) of the running domain. */
  async guestReport(id: string): Promise<GuestReport | undefined> {
    const name = this.domainName(id);
    const state = await this.virsh.runIfExists(['domstate', name]);
    if (state === undefined || mapDomState(parseDomState(state)) !== 'running') return undefined;
    // A paused guest cannot answer; don't wait for it.
    if (parseDomState(state) !== 'running') return { agent: false };
    return guestReportViaVirsh((args) => this.virsh.run(args, { timeoutMs: 15_000 }), name);
  }

  /** The guest's serial port: the domain's PTY, raw mode. Only for a libvirtd on this machine. */
  async openSerial(id: string): Promise<Duplex> {
    const name = this.domainName(id);
    if (!this.local) throw new Error(`serial console not available for the remote libvirt URI ${this.virsh.uri} (local URIs only)`);
    return openPtyConsole(name, (await this.virsh.run(['ttyconsole', name])).trim());
  }

  async serialScrollback(id: string, maxBytes: number): Promise<Buffer> {
    if (!this.local) throw new Error(`serial console log not available for the remote libvirt URI ${this.virsh.uri} (local URIs only)`);
    const log = this.consoleLogPath(id);
    return tailOfFiles([`${log}.0`, log], maxBytes);
  }

  // ---- snapshots, resize, rebuild ----

  /** Disk snapshots of stopped and running domains (quiesced via the agent), memory snapshots via virsh save. */
  createSnapshot(id: string, snap: string, options: { memory: boolean }): Promise<SnapshotResult> {
    return this.snapshots.create(id, snap, options);
  }

  restoreSnapshot(id: string, snap: string): Promise<{ running: boolean }> {
    return this.snapshots.restore(id, snap);
  }

  deleteSnapshot(snap: string): Promise<void> {
    return this.snapshots.remove(snap);
  }

  listSnapshots(): Promise<string[]> {
    return this.snapshots.list();
  }

  /** New RAM and vCPUs in the persistent definition (same uuid, MAC, disks), and a grown disk volume. */
  async resize(id: string, to: ResizeTarget): Promise<void> {
    const name = this.domainName(id);
    await this.requireStopped(name, 'resize');
    const xml = await this.virsh.run(['dumpxml', name, '--inactive']);
    await this.define(resizedDomainXml(xml, to));
    await this.pool.grow(`${name}-disk.qcow2`, to.diskGb * 1024 ** 3);
  }

  /**
   * A fresh disk from spec.boot (kernel, initrd or base image uploaded as for a create), a fresh
   * seed, and the domain re-defined from the spec with its uuid and MAC kept (same DHCP lease).
   */
  async rebuild(spec: InstanceSpec): Promise<void> {
    const name = this.domainName(spec.id);
    await this.requireStopped(name, 'rebuild');
    const identity = domainIdentity(await this.virsh.run(['dumpxml', name, '--inactive']));
    await this.pool.ensure();
    await this.pool.remove(`${name}-disk.qcow2`);
    const volumes = await this.prepareVolumes({ ...spec, fromSnapshot: undefined }, name, false);
    await this.define(domainXml(spec, { name, domainType: this.domainType, network: this.network, volumes, consoleLog: this.consoleLogPath(spec.id), info: spec.info, ...identity }));
  }

  private async requireStopped(name: string, what: string): Promise<void> {
    const state = await this.domState(name);
    if (state === undefined) throw new Error(`libvirt domain ${name} is not defined`);
    if (state === 'running') throw new Error(`cannot ${what} the running libvirt domain ${name}: stop it first`);
  }

  // ---- domains ----

  /** 'running' | 'stopped', or undefined when no such domain. */
  private async domState(name: string): Promise<'running' | 'stopped' | undefined> {
    const out = await this.virsh.runIfExists(['domstate', name]);
    return out === undefined ? undefined : mapDomState(parseDomState(out));
  }

  private async leaseAddress(name: string): Promise<string | undefined> {
    try {
      const addrs = parseDomIfAddr(await this.virsh.run(['domifaddr', name, '--source', 'lease']));
      return addrs.find((a) => a.protocol === 'ipv4')?.address ?? addrs[0]?.address;
    } catch (err) {
      if (err instanceof VirshError && err.kind !== 'timeout') return undefined;
      throw err;
    }
  }

  /** ACPI power button (pressed again every 10 s), then wait for the domain to stop. */
  private async shutdown(name: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let nextPress = 0;
    while (Date.now() < deadline) {
      if (Date.now() >= nextPress) {
        nextPress = Date.now() + 10_000;
        try {
          await this.virsh.run(['shutdown', name, '--mode', 'acpi']);
        } catch (err) {
          if (err instanceof VirshError && (err.kind === 'not-running' || err.kind === 'not-found')) return true;
          throw err;
        }
      }
      await sleep(500);
      if ((await this.domState(name)) !== 'running') return true;
    }
    return false;
  }

}

/** QEMU's pid (libvirt's pidfile) and start time, for a libvirtd on this machine. */
async function localProcess(name: string): Promise<{ pid?: number; startedAt?: Date }> {
  try {
    const pid = Number((await readFile(`/run/libvirt/qemu/${name}.pid`, 'utf8')).trim());
    if (!Number.isInteger(pid) || pid <= 1) return {};
    const started = await stat(`/proc/${pid}`);
    return { pid, startedAt: started.mtime };
  } catch {
    return {};
  }
}

/**
 * `virsh domstate --reason` of a paused domain → QEMU's word for the reason (as the qemu driver
 * reports it): "paused (I/O error)" → io-error, "paused (user)" → paused… undefined if not paused.
 */
export function pausedReasonOf(domstateReason: string): string | undefined {
  const m = /^\s*paused\s*(?:\((.*)\))?/i.exec(domstateReason);
  if (!m) return undefined;
  const reason = (m[1] ?? '').trim().toLowerCase();
  const known: Record<string, string> = { 'i/o error': 'io-error', user: 'paused', crashed: 'guest-panicked', 'panicked': 'guest-panicked', watchdog: 'watchdog', 'post-copy failed': 'postmigrate' };
  return known[reason] ?? (reason.replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'paused');
}
