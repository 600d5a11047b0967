import { createHash } from 'node:crypto';
import { createReadStream, constants as fsConstants, open as openFd } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tty from 'node:tty';
import type { Duplex } from 'node:stream';
import { writeSeedIso } from '../../cloudinit/seed-iso.js';
import { assertInstanceId, INSTANCE_ID_PATTERN, type ComputeDriver, type DriverInfo, type InstanceInspection, type InstanceSpec, type SerialConsole, type StopOptions } from '../driver.js';
import { tailOfFiles } from '../qemu/serial.js';
import { domainXml, infoMetadataElement, METADATA_KEY, METADATA_NAMESPACE, parseInfoMetadata, type DomainType } from './domain-xml.js';
import { isLocalUri, mapDomState, parseDomIfAddr, parseDomState, parseKeyValues, parseNameList, parseVolInfo, parseVolList, Virsh, VirshError } from './virsh.js';

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

/** Shared-volume uploads in flight, by pool/volume: concurrent creates wait for one upload. */
const sharedUploads = new Map<string, Promise<string>>();

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
export class LibvirtDriver implements ComputeDriver, SerialConsole {
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
  /** sha256 prefixes of local files, by path + size + mtime. */
  private readonly hashes = new Map<string, string>();

  constructor(opts: LibvirtDriverOptions) {
    this.virsh = new Virsh(opts.uri, { binary: opts.virshBinary, timeoutMs: 60_000 });
    this.local = isLocalUri(opts.uri);
    this.poolName = checkOption('pool name', opts.poolName ?? 'twarga', NAME_PATTERN);
    this.poolDir = checkOption('pool directory', opts.poolDir ?? `/var/lib/libvirt/images/${this.poolName}`, ABS_PATH_PATTERN);
    this.network = checkOption('network', opts.network ?? 'default', NAME_PATTERN);
    this.domainType = opts.domainType ?? 'qemu';
    if (this.domainType !== 'qemu' && this.domainType !== 'kvm') throw new Error(`invalid libvirt domain type: ${String(this.domainType)}`);
    this.namePrefix = checkOption('name prefix', opts.namePrefix ?? 'twarga-', /^[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$/);
    this.consoleLogDir = checkOption('console log directory', opts.consoleLogDir ?? '/var/log/libvirt/qemu', ABS_PATH_PATTERN);
    this.stopTimeoutMs = opts.stopTimeoutMs ?? 60_000;
    this.leaseTimeoutMs = opts.leaseTimeoutMs ?? 120_000;
  }

  info(): DriverInfo {
    return {
      name: 'libvirt',
      features: { console: this.local, survivesRestart: true, gracefulStop: true },
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
    await this.ensurePool();
    const state = await this.domState(name);
    const volumes: { disk: string; seed: string; kernel?: string; initrd?: string } = { disk: '', seed: '' };
    if (spec.boot.kind === 'kernel') {
      volumes.kernel = await this.volPath(await this.ensureSharedVolume(spec.boot.kernel, 'raw'));
      volumes.initrd = await this.volPath(await this.ensureSharedVolume(spec.boot.initrd, 'raw'));
    }
    volumes.disk = await this.ensureDiskVolume(name, spec);
    // The seed of a running domain is in use; otherwise (re)write it from the spec.
    const seedVol = `${name}-seed.iso`;
    if (state === 'running' && (await this.volExists(seedVol))) volumes.seed = await this.volPath(seedVol);
    else volumes.seed = await this.uploadSeed(seedVol, spec.seed);
    if (this.local) await mkdir(this.consoleLogDir, { recursive: true });

    if (state !== undefined) {
      // Already defined (a repeated create): keep its definition (uuid, MAC → same lease), refresh the record.
      await this.writeInfo(spec.id, spec.info);
      return;
    }
    const xml = domainXml(spec, { name, domainType: this.domainType, network: this.network, volumes, consoleLog: this.consoleLogPath(spec.id), info: spec.info });
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
      if (vol.name.startsWith(`${name}-`)) await this.deleteVolume(vol.name);
    }
    if (this.local) {
      const log = this.consoleLogPath(id);
      await Promise.all(['', '.0', '.1', '.2', '.3'].map((s) => rm(log + s, { force: true })));
    }
  }

  async inspect(id: string): Promise<InstanceInspection> {
    const name = this.domainName(id);
    const state = await this.domState(name);
    if (state === undefined) return { state: 'missing' };
    if (state !== 'running') return { state };
    const result: InstanceInspection = { state };
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

  /** The guest's serial port: the domain's PTY, raw mode. Only for a libvirtd on this machine. */
  async openSerial(id: string): Promise<Duplex> {
    const name = this.domainName(id);
    if (!this.local) throw new Error(`serial console not available for the remote libvirt URI ${this.virsh.uri} (local URIs only)`);
    const pty = (await this.virsh.run(['ttyconsole', name])).trim();
    if (!/^\/dev\/pts\/[0-9]+$/.test(pty)) throw new Error(`libvirt domain ${name} has no serial PTY (${JSON.stringify(pty.slice(0, 100))})`);
    const fd = await new Promise<number>((resolve, reject) =>
      openFd(pty, fsConstants.O_RDWR | fsConstants.O_NOCTTY, (err, fd) => (err ? reject(err) : resolve(fd))),
    );
    const stream = new tty.ReadStream(fd);
    stream.setRawMode(true);
    // When the domain stops, QEMU closes the PTY's master and reads fail with EIO: that is an end, not a crash.
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EIO' && stream.listenerCount('error') === 1) throw err;
    });
    return stream;
  }

  async serialScrollback(id: string, maxBytes: number): Promise<Buffer> {
    if (!this.local) throw new Error(`serial console log not available for the remote libvirt URI ${this.virsh.uri} (local URIs only)`);
    const log = this.consoleLogPath(id);
    return tailOfFiles([`${log}.0`, log], maxBytes);
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

  // ---- storage ----

  /** The dir pool exists, is built, started and autostarts (idempotent). */
  private async ensurePool(): Promise<void> {
    const p = this.poolName;
    let info = await this.virsh.runIfExists(['pool-info', p]);
    if (info === undefined) {
      await this.virsh.run(['pool-define-as', '--name', p, '--type', 'dir', '--target', this.poolDir]).catch(async (err) => {
        if ((await this.virsh.runIfExists(['pool-info', p])) === undefined) throw err; // lost a race: fine
      });
      await this.virsh.run(['pool-build', p]).catch(() => {});
      await this.virsh.run(['pool-autostart', p]).catch(() => {});
      info = await this.virsh.run(['pool-info', p]);
    }
    if (parseKeyValues(info).state !== 'running') {
      await this.virsh.run(['pool-start', p]).catch(async (err) => {
        if (parseKeyValues(await this.virsh.run(['pool-info', p])).state === 'running') return;
        await this.virsh.run(['pool-build', p]);
        await this.virsh.run(['pool-start', p]).catch(() => { throw err; });
      });
    }
  }

  private async volExists(vol: string): Promise<boolean> {
    return (await this.virsh.runIfExists(['vol-info', '--pool', this.poolName, vol, '--bytes'])) !== undefined;
  }

  private async volPath(vol: string): Promise<string> {
    return (await this.virsh.run(['vol-path', '--pool', this.poolName, vol])).trim();
  }

  private async deleteVolume(vol: string): Promise<void> {
    await this.virsh.run(['vol-delete', '--pool', this.poolName, vol], { timeoutMs: 120_000 }).catch(ignoreKind('not-found'));
  }

  /** Creates a volume and uploads a local file into it (deleted again if the upload fails). */
  private async uploadVolume(vol: string, file: string, size: number): Promise<void> {
    await this.virsh.run(['vol-create-as', this.poolName, vol, String(Math.max(size, 1)), '--format', 'raw']);
    try {
      await this.virsh.run(['vol-upload', '--pool', this.poolName, vol, file], { timeoutMs: 120_000 + Math.ceil(size / 1_000_000) * 1_000 });
    } catch (err) {
      await this.deleteVolume(vol).catch(() => {});
      throw err;
    }
  }

  /** A read-only volume with a local file's content, shared by every instance that uses the file. */
  private async ensureSharedVolume(file: string, format: 'raw' | 'qcow2'): Promise<string> {
    const st = await stat(file);
    const key = `${file}:${st.size}:${st.mtimeMs}`;
    let hash = this.hashes.get(key);
    if (!hash) {
      hash = await sha256File(file);
      this.hashes.set(key, hash);
    }
    const vol = `shared-${hash.slice(0, 16)}-${path.basename(file).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60)}`;
    // Process-wide: two hosts may be two connections to one libvirtd (and so one pool).
    const uploadKey = `${this.poolName}/${vol}`;
    let inflight = sharedUploads.get(uploadKey);
    if (!inflight) {
      inflight = (async () => {
        const out = await this.virsh.runIfExists(['vol-info', '--pool', this.poolName, vol, '--bytes']);
        if (out !== undefined) {
          // libvirt reports a qcow2's virtual size as capacity; a complete upload is fully allocated.
          const { capacity, allocation } = parseVolInfo(out);
          if (allocation >= st.size && (format !== 'raw' || capacity === st.size)) return vol;
          await this.deleteVolume(vol);
        }
        await this.uploadVolume(vol, file, st.size);
        return vol;
      })().finally(() => sharedUploads.delete(uploadKey));
      sharedUploads.set(uploadKey, inflight);
    }
    return inflight;
  }

  /** The instance's qcow2 disk: blank (kernel boot) or an overlay of the image volume (disk boot). */
  private async ensureDiskVolume(name: string, spec: InstanceSpec): Promise<string> {
    const vol = `${name}-disk.qcow2`;
    if (!(await this.volExists(vol))) {
      let capacity = spec.diskGb * 1024 ** 3;
      const args = ['vol-create-as', this.poolName, vol];
      const extra: string[] = ['--format', 'qcow2'];
      if (spec.boot.kind === 'disk') {
        const base = await this.ensureSharedVolume(spec.boot.path, spec.boot.format);
        const baseInfo = parseVolInfo(await this.virsh.run(['vol-info', '--pool', this.poolName, base, '--bytes']));
        capacity = Math.max(capacity, baseInfo.capacity);
        extra.push('--backing-vol', await this.volPath(base), '--backing-vol-format', spec.boot.format);
      }
      await this.virsh.run([...args, String(capacity), ...extra], { timeoutMs: 120_000 });
    }
    return this.volPath(vol);
  }

  private async uploadSeed(vol: string, seed: InstanceSpec['seed']): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'twarga-libvirt-seed-'));
    try {
      const iso = path.join(dir, 'seed.iso');
      await writeSeedIso(iso, seed);
      await this.deleteVolume(vol);
      await this.uploadVolume(vol, iso, (await stat(iso)).size);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return this.volPath(vol);
  }
}

function ignoreKind(...kinds: VirshError['kind'][]) {
  return (err: unknown) => {
    if (err instanceof VirshError && kinds.includes(err.kind)) return;
    throw err;
  };
}

function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (d) => hash.update(d))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
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
