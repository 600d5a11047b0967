import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ssh2 from 'ssh2';
import { writeFileAtomic } from '../../infra/fs.js';
import { CommandError, run, type RunOptions, type RunResult } from '../../infra/process.js';
import { writeSeedIso } from '../../cloudinit/seed-iso.js';
import type { Duplex } from 'node:stream';
import { assertInstanceId, INSTANCE_ID_PATTERN, type ComputeDriver, type DriverInfo, type GuestAgentSource, type GuestReport, type InstanceInspection, type InstanceSpec, type InstanceStats, type SerialConsole, type StatsSource, type StopOptions } from '../driver.js';
import { openPtyConsole } from '../libvirt/pty-console.js';
import { DOMSTATS_ARGS, isLocalUri, mapDomState, parseDomState, runningDomainStats } from '../libvirt/virsh.js';
import { guestReportViaVirsh } from '../libvirt/guest-agent.js';
import { tailOfFiles } from '../qemu/serial.js';
import { outputTail, parseBoxList, parseSshConfig, parseStatus, type StateClass } from './machine-readable.js';
import { ensureIsolatedNetwork, ensurePool } from './libvirt-resources.js';
import { authorizedKeysOf, withPublicKey } from './seed-keys.js';
import { boxForOsType, DEFAULT_DOMAIN_PREFIX, DEFAULT_MANAGEMENT_NETWORK, domainName, renderVagrantfile, seedVolumeName, templateFor, type ManagementNetwork, type VagrantProvider } from './vagrantfile.js';

/**
 * Runs one command: infra/process.ts `run`, which hands each output line to onLine as it comes
 * (tests pass a scripted runner with the same contract: argv array, timeout, never a shell).
 */
export type CommandRunner = (command: string, args: readonly string[], options: RunOptions & { onLine?: (line: string) => void }) => Promise<RunResult>;

export const defaultRunner: CommandRunner = (command, args, options) => run(command, args, options);

export interface VagrantTimeouts {
  /** `vagrant up` and `vagrant reload` (boot under software emulation takes ~90 s or more). */
  upMs: number;
  /** Graceful budget of a stop before Vagrant powers the domain off. */
  haltMs: number;
  destroyMs: number;
  /** status, ssh-config, box list, virsh. */
  queryMs: number;
}

export interface VagrantDriverOptions {
  /** One directory per VM: Vagrantfile, seed.iso, ssh_key, spec.json, .vm_info, .vagrant/. */
  machinesDir: string;
  /** The box of kernel-booted images (built and added by images/tiny/build-box.sh). */
  tinyBox?: string;
  provider?: VagrantProvider;
  /** libvirt connection (vagrant-libvirt's lv.uri and virsh -c). Default qemu:///system. */
  libvirtUri?: string;
  /** 'qemu' = software emulation (the default: nested KVM does not boot here), 'kvm'. */
  libvirtDomainType?: 'qemu' | 'kvm';
  storagePool?: string;
  /**
   * The libvirt network the guests' management NIC joins, defined by the driver with isolated
   * ports (guests cannot reach each other). Default twarga-vagrant, 192.168.126.0/24.
   */
  managementNetwork?: ManagementNetwork;
  /** libvirt domain = prefix + instance id (default twarga-vagrant-). */
  domainPrefix?: string;
  /**
   * VAGRANT_HOME for every vagrant call. Default: inherited from the server's environment
   * (VAGRANT_HOME, else ~/.vagrant.d), where scripts/setup.sh adds the tiny box.
   */
  vagrantHome?: string;
  /** Let `vagrant up` download a box that is not installed. Off: create fails with a clear error. */
  allowBoxDownload?: boolean;
  timeouts?: Partial<VagrantTimeouts>;
  /** Each line vagrant printed, for an action's log. */
  onProgress?: (instanceId: string, line: string) => void;
  vagrantBinary?: string;
  virshBinary?: string;
  runner?: CommandRunner;
}

/** The boxes made on this host, and the script that makes each (named in the not-installed error). */
const LOCAL_BOX_SCRIPTS: Readonly<Record<string, string>> = {
  'twarga/tiny': ': run images/tiny/build-box.sh',
  'twarga/debian-12': ': run images/debian/build-box.sh (after images/debian/build.sh)',
};

const DEFAULT_TIMEOUTS: VagrantTimeouts = { upMs: 20 * 60_000, haltMs: 60_000, destroyMs: 5 * 60_000, queryMs: 60_000 };

export function machinePaths(machinesDir: string, id: string) {
  assertInstanceId(id);
  const dir = path.join(machinesDir, id);
  return {
    dir,
    vagrantfile: path.join(dir, 'Vagrantfile'),
    seed: path.join(dir, 'seed.iso'),
    key: path.join(dir, 'ssh_key'),
    spec: path.join(dir, 'spec.json'),
    info: path.join(dir, '.vm_info'),
    serialLog: path.join(dir, 'serial.log'),
    dotVagrant: path.join(dir, '.vagrant'),
  };
}

/** Vagrant (vagrant-libvirt by default) driving one Vagrant project directory per VM. */
export class VagrantDriver implements ComputeDriver, SerialConsole, StatsSource, GuestAgentSource {
  private readonly provider: VagrantProvider;
  private readonly tinyBox: string;
  private readonly uri: string;
  private readonly pool: string;
  private readonly network: ManagementNetwork;
  private readonly prefix: string;
  private readonly t: VagrantTimeouts;
  private readonly vagrantBin: string;
  private readonly virshBin: string;
  private readonly runner: CommandRunner;
  /** ssh-config answers per running instance; dropped whenever the instance changes state. */
  private readonly sshCache = new Map<string, InstanceInspection['sshEndpoint']>();

  constructor(private readonly opts: VagrantDriverOptions) {
    this.provider = opts.provider ?? 'libvirt';
    this.tinyBox = opts.tinyBox ?? 'twarga/tiny';
    this.uri = opts.libvirtUri ?? 'qemu:///system';
    this.pool = opts.storagePool ?? 'default';
    this.network = opts.managementNetwork ?? DEFAULT_MANAGEMENT_NETWORK;
    this.prefix = opts.domainPrefix ?? DEFAULT_DOMAIN_PREFIX;
    this.t = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    this.vagrantBin = opts.vagrantBinary ?? 'vagrant';
    this.virshBin = opts.virshBinary ?? 'virsh';
    this.runner = opts.runner ?? defaultRunner;
  }

  info(): DriverInfo {
    return {
      name: 'vagrant',
      features: { console: this.hasConsole(), stats: this.provider === 'libvirt', survivesRestart: true, gracefulStop: true },
      details: { provider: this.provider, tinyBox: this.tinyBox, libvirtUri: this.provider === 'libvirt' ? this.uri : undefined, vagrantHome: this.opts.vagrantHome ?? process.env.VAGRANT_HOME ?? '~/.vagrant.d' },
    };
  }

  private paths(id: string) {
    return machinePaths(this.opts.machinesDir, id);
  }

  async create(spec: InstanceSpec): Promise<void> {
    const p = this.paths(spec.id);
    const box = this.boxFor(spec);
    const tmpl = templateFor(box, this.tinyBox);
    if (!this.opts.allowBoxDownload && !(await this.boxInstalled(box))) {
      throw new Error(`Vagrant box ${box} (${this.provider}) is not installed${LOCAL_BOX_SCRIPTS[box === this.tinyBox ? 'twarga/tiny' : box] ?? ''} (vagrant box add)`);
    }
    await mkdir(p.dir, { recursive: true, mode: 0o700 });
    // Vagrant logs in with a key of this VM's own, never the well-known insecure one.
    if (!existsSync(p.key) || !existsSync(`${p.key}.pub`)) {
      const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: `twarga-vagrant@${spec.id}` });
      await writeFile(`${p.key}.pub`, pair.public.trim() + '\n', { mode: 0o600 });
      await writeFileAtomic(p.key, pair.private);
    }
    const publicKey = (await readFile(`${p.key}.pub`, 'utf8')).trim();
    const seed = { metaData: withPublicKey(spec.seed.metaData, publicKey), userData: spec.seed.userData };
    await writeSeedIso(`${p.seed}.tmp`, seed);
    await rename(`${p.seed}.tmp`, p.seed);
    const vagrantfile = renderVagrantfile({
      instanceId: spec.id,
      box,
      tinyBox: this.tinyBox,
      provider: this.provider,
      hostname: spec.hostname,
      memoryMb: spec.memoryMb,
      vcpus: spec.vcpus,
      diskGb: spec.diskGb,
      kernelBoot: spec.boot.kind === 'kernel' ? { kernel: spec.boot.kernel, initrd: spec.boot.initrd, cmdline: spec.boot.cmdline } : undefined,
      sshPrivateKeyPath: p.key,
      authorizedKeys: tmpl.kind === 'cloud' ? [...authorizedKeysOf(spec.seed.userData), publicKey] : undefined,
      seed: { isoPath: p.seed, libvirtVolume: this.provider === 'libvirt' ? seedVolumeName(spec.id, this.prefix) : undefined },
      libvirt: { uri: this.uri, domainType: this.opts.libvirtDomainType ?? 'qemu', storagePool: this.pool, domainPrefix: this.prefix, serialLog: p.serialLog, managementNetwork: this.network },
    });
    await writeFileAtomic(p.vagrantfile, vagrantfile, 0o644);
    await writeFileAtomic(p.spec, JSON.stringify({ ...spec, box }, null, 2));
    await this.writeInfo(spec.id, spec.info);
  }

  async start(id: string): Promise<void> {
    const p = this.paths(id);
    if (!existsSync(p.vagrantfile)) throw new Error(`${id} has not been created`);
    if ((await this.inspect(id)).state === 'running') return;
    this.sshCache.delete(id);
    if (this.provider === 'libvirt') {
      await this.ensureNetwork();
      await this.uploadSeed(id);
    }
    await this.vagrant(id, ['up', id, `--provider=${this.provider}`], this.t.upMs);
  }

  async stop(id: string, options: StopOptions = {}): Promise<void> {
    if ((await this.status(id)) !== 'running') return;
    this.sshCache.delete(id);
    if (!options.force) {
      // `vagrant halt`: the guest's poweroff, then ACPI, then a power-off once the budget is spent.
      const budgetMs = options.timeoutMs ?? this.t.haltMs;
      const halted = await this.vagrant(id, ['halt', id], budgetMs + this.t.queryMs * 2, { haltSeconds: Math.ceil(budgetMs / 1000) })
        .then(() => true)
        .catch(() => false);
      if (halted && (await this.status(id)) !== 'running') return;
    }
    // Forced: no graceful budget at all, libvirt destroys (powers off) the domain at once.
    await this.vagrant(id, ['halt', '--force', id], this.t.queryMs * 2, { haltSeconds: 0 });
    if ((await this.status(id)) === 'running') throw new Error(`${id} is still running after vagrant halt --force`);
  }

  async reboot(id: string, options: { force?: boolean } = {}): Promise<void> {
    this.sshCache.delete(id);
    if (options.force) {
      await this.stop(id, { force: true });
      await this.start(id);
      return;
    }
    if (this.provider === 'libvirt') await this.uploadSeedIfMissing(id);
    await this.vagrant(id, ['reload', id], this.t.upMs + this.t.haltMs, { haltSeconds: Math.ceil(this.t.haltMs / 1000) });
  }

  async destroy(id: string): Promise<void> {
    const p = this.paths(id);
    this.sshCache.delete(id);
    if (!existsSync(p.dir)) return;
    if (existsSync(p.vagrantfile)) {
      try {
        await this.vagrant(id, ['destroy', '--force', id], this.t.destroyMs, { haltSeconds: 0 });
      } catch (err) {
        // A project Vagrant cannot load any more (box removed, Vagrantfile broken) must still go:
        // remove its libvirt domain directly, then the rest.
        if (this.provider !== 'libvirt' || !(await this.removeDomainDirectly(id))) throw err;
      }
    }
    if (this.provider === 'libvirt') await this.deleteSeedVolume(id);
    await rm(p.dir, { recursive: true, force: true });
  }

  async inspect(id: string): Promise<InstanceInspection> {
    const p = this.paths(id);
    if (!existsSync(p.dir)) return { state: 'missing' };
    const state = await this.status(id);
    if (state !== 'running') {
      this.sshCache.delete(id);
      return { state: 'stopped' };
    }
    const result: InstanceInspection = { state: 'running' };
    if (this.provider === 'libvirt') {
      // libvirt keeps the QEMU's pid in its run directory (readable when we run as root).
      const pidfile = `/run/libvirt/qemu/${domainName(id, this.prefix)}.pid`;
      const pid = Number((await readFile(pidfile, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 1) {
        result.pid = pid;
        result.startedAt = (await stat(pidfile).catch(() => undefined))?.mtime;
      }
    }
    const endpoint = await this.sshEndpoint(id);
    if (endpoint) {
      result.sshEndpoint = endpoint;
      if (this.provider === 'libvirt') result.privateIp = endpoint.host;
    }
    return result;
  }

  async list(): Promise<string[]> {
    const entries = await readdir(this.opts.machinesDir, { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory() && INSTANCE_ID_PATTERN.test(e.name)).map((e) => e.name).sort();
  }

  /** vagrant-libvirt on this machine: the domain's serial PTY is reachable (not VirtualBox, not a remote libvirtd). */
  private hasConsole(): boolean {
    return this.provider === 'libvirt' && isLocalUri(this.uri);
  }

  /** The guest's ttyS0, through the PTY vagrant-libvirt gives the domain. */
  async openSerial(id: string): Promise<Duplex> {
    if (!this.hasConsole()) throw new Error(`no serial console with the ${this.provider} provider at ${this.uri}`);
    const domain = domainName(id, this.prefix);
    const { stdout } = await this.virsh(['ttyconsole', domain]);
    return openPtyConsole(domain, stdout.trim());
  }

  /** The guest agent and balloon of the libvirt domain Vagrant made, as the libvirt driver asks them; undefined when it is not running. */
  async guestReport(id: string): Promise<GuestReport | undefined> {
    if (this.provider !== 'libvirt') throw new Error('the guest agent needs the libvirt provider');
    const domain = domainName(id, this.prefix);
    const state = await this.virsh(['domstate', domain]).then((r) => parseDomState(r.stdout), () => undefined); // no domain yet
    if (state === undefined || mapDomState(state) !== 'running') return undefined;
    if (state !== 'running') return { agent: false };
    return guestReportViaVirsh(async (args) => (await this.virsh(args)).stdout, domain);
  }

  /** `virsh domstats` of the libvirt domain Vagrant made; undefined when it is not running. */
  async stats(id: string): Promise<InstanceStats | undefined> {
    if (this.provider !== 'libvirt') throw new Error('usage counters need the libvirt provider');
    const domain = domainName(id, this.prefix);
    const { stdout } = await this.virsh([...DOMSTATS_ARGS, domain]).catch(() => ({ stdout: '' })); // no domain yet
    return runningDomainStats(stdout, domain);
  }

  /** The boot log: what the kernel printed to ttyS1, which the Vagrantfile sends to serial.log. */
  async serialScrollback(id: string, maxBytes: number): Promise<Buffer> {
    return tailOfFiles([this.paths(id).serialLog], maxBytes);
  }

  async writeInfo(id: string, info: Record<string, unknown>): Promise<void> {
    await writeFileAtomic(this.paths(id).info, JSON.stringify(info, null, 2) + '\n');
  }

  /** `vagrant status` mapped onto the contract; a machine Vagrant never created is stopped. */
  private async status(id: string): Promise<StateClass | 'missing'> {
    const p = this.paths(id);
    if (!existsSync(p.dir)) return 'missing';
    // Vagrant writes the provider's machine id on creation: without it there is nothing to ask.
    if (!existsSync(path.join(p.dotVagrant, 'machines', id, this.provider, 'id'))) return 'stopped';
    const out = await this.vagrant(id, ['status', id, '--machine-readable'], this.t.queryMs, { quiet: true });
    const machine = parseStatus(out).get(id);
    if (!machine) throw new Error(`vagrant status printed no state for ${id}: ${outputTail(out, 3)}`);
    return machine.class === 'running' ? 'running' : 'stopped';
  }

  private async sshEndpoint(id: string): Promise<InstanceInspection['sshEndpoint']> {
    if (this.sshCache.has(id)) return this.sshCache.get(id);
    try {
      const out = await this.vagrant(id, ['ssh-config', id, '--machine-readable'], this.t.queryMs, { quiet: true });
      const cfg = parseSshConfig(out)[0];
      if (!cfg) return undefined;
      const endpoint = { host: cfg.hostName, port: cfg.port, username: cfg.user || 'vagrant' };
      this.sshCache.set(id, endpoint);
      return endpoint;
    } catch {
      // Running but without an address yet (vagrant-libvirt waits for the DHCP lease).
      return undefined;
    }
  }

  private boxFor(spec: InstanceSpec): string {
    if (spec.boot.kind === 'kernel') return this.tinyBox;
    const osType = typeof spec.info.os_type === 'string' ? spec.info.os_type : undefined;
    const box = boxForOsType(osType, this.tinyBox);
    if (!box) throw new Error(`no Vagrant box for os_type ${JSON.stringify(osType)} (known: ubuntu, debian, centos, tiny and the seed's box names)`);
    return box;
  }

  private async boxInstalled(box: string): Promise<boolean> {
    const out = await this.runner(this.vagrantBin, ['box', 'list', '--machine-readable'], { timeoutMs: this.t.queryMs, env: this.env() });
    return parseBoxList(out.stdout).some((b) => b.name === box && b.provider === this.provider);
  }

  private env(dir?: string, haltSeconds?: number): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, VAGRANT_CHECKPOINT_DISABLE: '1', VAGRANT_DEFAULT_PROVIDER: this.provider, VAGRANT_NO_COLOR: '1' };
    if (dir) env.VAGRANT_CWD = dir;
    if (this.opts.vagrantHome) env.VAGRANT_HOME = this.opts.vagrantHome;
    if (this.provider === 'libvirt') env.LIBVIRT_DEFAULT_URI = this.uri;
    if (this.provider === 'virtualbox') env.VAGRANT_EXPERIMENTAL = 'disks';
    if (haltSeconds !== undefined) env.TWARGA_HALT_TIMEOUT = String(haltSeconds);
    return env;
  }

  /** One vagrant command in the VM's project directory; failures carry the tail of its output. */
  private async vagrant(id: string, args: string[], timeoutMs: number, o: { haltSeconds?: number; quiet?: boolean } = {}): Promise<string> {
    const p = this.paths(id);
    const onLine = !o.quiet && this.opts.onProgress ? (line: string) => this.opts.onProgress!(id, line) : undefined;
    try {
      // --no-tty would switch --machine-readable output back to the human format.
      const flags = args.includes('--machine-readable') ? ['--no-color'] : ['--no-color', '--no-tty'];
      const res = await this.runner(this.vagrantBin, [...args, ...flags], { timeoutMs, cwd: p.dir, env: this.env(p.dir, o.haltSeconds), onLine });
      return res.stdout;
    } catch (err) {
      if (!(err instanceof CommandError)) throw err;
      const what = `vagrant ${args.filter((a) => !a.startsWith('--') && a !== id).join(' ')} ${id}`;
      const tail = outputTail(err.stderr);
      throw new Error(err.timedOut ? `${what} timed out after ${Math.round(timeoutMs / 1000)} s${tail ? `: ${tail}` : ''}` : `${what} failed (exit ${err.exitCode ?? 'signal'}): ${tail || 'no output'}`);
    }
  }

  private virsh(args: string[]): Promise<RunResult> {
    return this.runner(this.virshBin, ['-q', '-c', this.uri, ...args], { timeoutMs: this.t.queryMs });
  }

  /** vagrant-libvirt makes the `default` pool on its first `up`; the seed must go in before that. */
  private ensurePool(): Promise<void> {
    return ensurePool((args) => this.virsh(args), this.pool);
  }

  private ensureNetwork(): Promise<void> {
    return ensureIsolatedNetwork((args) => this.virsh(args), this.network);
  }

  /** The NoCloud seed as a raw volume in the pool (disks outside a pool cannot be attached). */
  private async uploadSeed(id: string): Promise<void> {
    const p = this.paths(id);
    const vol = seedVolumeName(id, this.prefix);
    await this.ensurePool();
    const size = (await stat(p.seed)).size;
    await this.virsh(['vol-delete', '--pool', this.pool, vol]).catch(() => undefined);
    await this.virsh(['vol-create-as', this.pool, vol, `${size}B`, '--format', 'raw']);
    await this.virsh(['vol-upload', '--pool', this.pool, vol, p.seed]);
  }

  private async uploadSeedIfMissing(id: string): Promise<void> {
    const exists = await this.virsh(['vol-info', '--pool', this.pool, seedVolumeName(id, this.prefix)]).then(() => true, () => false);
    if (!exists) await this.uploadSeed(id);
  }

  private async deleteSeedVolume(id: string): Promise<void> {
    await this.virsh(['vol-delete', '--pool', this.pool, seedVolumeName(id, this.prefix)]).catch(() => undefined);
  }

  /** Fallback of destroy: the domain by its stable name, with every volume it uses. */
  private async removeDomainDirectly(id: string): Promise<boolean> {
    const dom = domainName(id, this.prefix);
    const exists = await this.virsh(['dominfo', dom]).then(() => true, () => false);
    if (!exists) return true;
    await this.virsh(['destroy', dom]).catch(() => undefined);
    return this.virsh(['undefine', dom, '--remove-all-storage']).then(() => true, () => false);
  }
}
