/**
 * The compute-driver contract, after lima's pkg/driver: a small interface, feature flags in
 * info(), idempotent create, graceful stop with a timeout then kill. Orchestration (statuses,
 * locks, retries, events) lives outside drivers, in the VM service.
 */

/** A name the driver may use in paths and process arguments: validated, never user text. */
export const INSTANCE_ID_PATTERN = /^vm-[0-9]{1,12}$/;

/** The instance name of a VM row on every driver. */
export const instanceId = (vmId: number) => `vm-${vmId}`;

export type BootSource =
  /** Direct kernel boot (the built-in tiny image); the VM's disk is a blank data disk. */
  | { kind: 'kernel'; kernel: string; initrd: string; cmdline: string }
  /** A disk image (qcow2/raw cloud image) that the VM's disk is backed by. */
  | { kind: 'disk'; path: string; format: 'qcow2' | 'raw' };

export interface InstanceSpec {
  /** vm-<id> */
  id: string;
  hostname: string;
  memoryMb: number;
  vcpus: number;
  diskGb: number;
  boot: BootSource;
  /** Host port on 127.0.0.1 forwarded to the guest's port 22. */
  sshPort: number;
  /** NoCloud seed contents. */
  seed: { metaData: string; userData: string };
  /** The seed's on-disk record, kept next to the VM. */
  info: Record<string, unknown>;
}

export interface DriverInfo {
  name: string;
  features: {
    /** The guest's serial console can be opened from this server (SerialConsole). */
    console: boolean;
    /** Usage counters can be read (StatsSource). */
    stats: boolean;
    /** Instances keep running when the control plane restarts. */
    survivesRestart: boolean;
    gracefulStop: boolean;
  };
  details: Record<string, unknown>;
}

export type InstanceState = 'running' | 'stopped' | 'missing';

export interface InstanceInspection {
  state: InstanceState;
  pid?: number;
  /** When the running process started. */
  startedAt?: Date;
  /** Address the guest uses on its private network, when known. */
  privateIp?: string;
  /**
   * Where the guest's SSH answers, when the driver knows better than the VM's forwarded host
   * port (libvirt: the guest's address on its network; vagrant: `vagrant ssh-config`).
   */
  sshEndpoint?: { host: string; port: number; username: string };
  /**
   * Set when the process runs but the guest's vCPUs are halted (state stays 'running': the
   * instance exists and holds its resources). reason is the hypervisor's word for why:
   * QEMU's run state ('paused', 'io-error', 'internal-error'…) or libvirt's state reason.
   */
  paused?: { reason: string };
}

export interface StopOptions {
  /** Kill at once instead of asking the guest to power off. */
  force?: boolean;
  /** How long a graceful stop may take before the driver kills the instance. */
  timeoutMs?: number;
}

export interface ComputeDriver {
  info(): DriverInfo;
  /** Prepares disk, seed and record. Safe to call again for the same spec. Does not boot. */
  create(spec: InstanceSpec): Promise<void>;
  start(id: string): Promise<void>;
  stop(id: string, options?: StopOptions): Promise<void>;
  reboot(id: string, options?: { force?: boolean }): Promise<void>;
  /** Stops if needed and removes everything the instance had. Safe to call again. */
  destroy(id: string): Promise<void>;
  inspect(id: string): Promise<InstanceInspection>;
  /** Instance ids the driver has on disk (for the reconciler). */
  list(): Promise<string[]>;
  /** Updates the on-disk record (.vm_info) atomically. */
  writeInfo(id: string, info: Record<string, unknown>): Promise<void>;
}

export function assertInstanceId(id: string): void {
  if (!INSTANCE_ID_PATTERN.test(id)) throw new Error(`invalid instance id: ${JSON.stringify(id)}`);
}

/** What an instance has used since its process started: counters, so a rate needs two samples. */
export interface InstanceStats {
  /** CPU time of the instance's QEMU on its host (guest vCPUs and emulation), nanoseconds. */
  cpuTimeNs: number;
  /** Resident memory of the instance's QEMU on its host, bytes. */
  memoryRssBytes: number;
  /** Bytes the guest read from and wrote to its disks. */
  disk: { readBytes: number; writeBytes: number };
  /** Bytes through the guest's network interfaces; undefined where nothing counts them (QEMU user networking). */
  network?: { rxBytes: number; txBytes: number };
}

/** Optional ability: resource counters of a running instance, from the hypervisor. */
export interface StatsSource {
  /** Undefined when the instance is not running. */
  stats(id: string): Promise<InstanceStats | undefined>;
}

export function hasStats(d: ComputeDriver): d is ComputeDriver & StatsSource {
  return typeof (d as Partial<StatsSource>).stats === 'function' && d.info().features.stats;
}

/** Optional ability: the serial console log is kept bounded by rotation. */
export interface ConsoleLogRotation {
  /** Moves the console log aside (one old generation kept) once it exceeds maxBytes. */
  rotateConsoleLog(id: string, maxBytes: number): Promise<boolean>;
}

export function canRotateConsoleLog(d: ComputeDriver): d is ComputeDriver & ConsoleLogRotation {
  return typeof (d as Partial<ConsoleLogRotation>).rotateConsoleLog === 'function';
}

/** Optional ability: the guest's serial port, for the browser console. */
export interface SerialConsole {
  /** Connects to the serial port. The hypervisor may accept only one connection at a time. */
  openSerial(id: string): Promise<import('node:stream').Duplex>;
  /** The last maxBytes the serial port printed (boot log and earlier sessions), oldest first. */
  serialScrollback(id: string, maxBytes: number): Promise<Buffer>;
}

/** A driver that can open serial consoles here (a remote libvirt host or VirtualBox cannot). */
export function hasSerialConsole(d: ComputeDriver): d is ComputeDriver & SerialConsole {
  return typeof (d as Partial<SerialConsole>).openSerial === 'function' && d.info().features.console;
}

/**
 * What the guest itself reports: the QEMU guest agent (org.qemu.guest_agent.0 on a virtio-serial
 * channel) and the virtio-balloon driver's statistics. A field the guest cannot give is absent,
 * never 0: a VM without a running agent has `agent: false` and nothing else.
 */
export interface GuestReport {
  /** The agent answered guest-ping within the driver's short timeout. */
  agent: boolean;
  /** guest-get-fsinfo: mounted filesystems with their usage. */
  filesystems?: { mountpoint: string; type: string; usedBytes: number; totalBytes: number }[];
  /** guest-network-get-interfaces: addresses and the guest's own byte counters (null where the guest has none). */
  interfaces?: { name: string; addresses: string[]; rxBytes: number | null; txBytes: number | null }[];
  /** virtio-balloon statistics as the guest reports them (not the host's RSS of the VM). */
  memory?: { totalBytes: number; availableBytes: number };
}

/** Optional ability: ask the guest (agent, balloon) how it is doing. */
export interface GuestAgentSource {
  /** Undefined when the instance is not running. Never throws for a silent agent: `agent: false`. */
  guestReport(id: string): Promise<GuestReport | undefined>;
}

/**
 * Optional ability: the guest's syslog channel, a stream of the lines the guest's syslog forwards
 * (QEMU: guestfwd into a socket of the instance's own). Whatever arrives on it is that instance's:
 * the SOC attributes lines by the channel, never by their content.
 */
export interface SyslogChannelSource {
  /** Connects to the channel; rejects when the instance is not running (or its channel not up yet). */
  openSyslogChannel(id: string): Promise<import('node:stream').Duplex>;
}

export function hasSyslogChannel(d: ComputeDriver): d is ComputeDriver & SyslogChannelSource {
  return typeof (d as Partial<SyslogChannelSource>).openSyslogChannel === 'function';
}

export function hasGuestAgent(d: ComputeDriver): d is ComputeDriver & GuestAgentSource {
  return typeof (d as Partial<GuestAgentSource>).guestReport === 'function';
}
