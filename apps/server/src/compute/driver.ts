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
  /**
   * A snapshot (snap-<id>) whose disk the new instance's disk starts as a copy of, instead of a
   * blank or image-backed one. Its identity still comes from seed (new instance-id: the guest makes
   * new host keys and runs per-instance steps again).
   */
  fromSnapshot?: string;
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

// --- snapshots, resize, rebuild, instant start -------------------------------------------------

/** A name the driver may use for a snapshot's files: validated, never user text. */
export const SNAPSHOT_ID_PATTERN = /^snap-[0-9]{1,12}$/;
export const snapshotId = (id: number) => `snap-${id}`;

export function assertSnapshotId(id: string): void {
  if (!SNAPSHOT_ID_PATTERN.test(id)) throw new Error(`invalid snapshot id: ${JSON.stringify(id)}`);
}

export interface SnapshotResult {
  /** Bytes the snapshot's files take (disk copy plus RAM state). */
  sizeBytes: number;
  /** The RAM state was saved too (only when asked and the instance ran). */
  memory: boolean;
  /** The guest's filesystems were frozen through the agent while the disk was copied. */
  quiesced: boolean;
}

/**
 * Optional ability: point-in-time copies of an instance's disk, and of its RAM when asked. A
 * snapshot is independent of its instance: it survives the instance's destroy and can seed new
 * instances (InstanceSpec.fromSnapshot).
 */
export interface SnapshotStore {
  /**
   * Copies the disk (running: quiesced through the guest agent's fsfreeze when it answers; the
   * copy is point-in-time either way) and, with memory and a running instance, its RAM state.
   * Leaves the instance in the state it found it. Safe to call again for the same snap (replaces it).
   */
  createSnapshot(id: string, snap: string, options: { memory: boolean }): Promise<SnapshotResult>;
  /**
   * Puts the instance back to the snapshot. A disk snapshot: the instance is stopped (forced) and
   * its disk replaced; it stays stopped. A memory snapshot: the instance runs again from the saved
   * RAM, as it was when the snapshot was taken. Returns whether it runs afterwards.
   */
  restoreSnapshot(id: string, snap: string): Promise<{ running: boolean }>;
  /** Removes the snapshot's files. Safe to call again. */
  deleteSnapshot(snap: string): Promise<void>;
  /** Snapshot ids the driver has files for (for the reconciler). */
  listSnapshots(): Promise<string[]>;
}

export function hasSnapshots(d: ComputeDriver): d is ComputeDriver & SnapshotStore {
  return typeof (d as Partial<SnapshotStore>).createSnapshot === 'function';
}

export interface ResizeTarget {
  memoryMb: number;
  vcpus: number;
  /** Never smaller than today's disk: disks only grow. */
  diskGb: number;
}

/** Optional ability: new RAM, vCPUs and a larger disk for a stopped instance (seen by the guest at its next boot). */
export interface Resizable {
  resize(id: string, to: ResizeTarget): Promise<void>;
}

export function canResize(d: ComputeDriver): d is ComputeDriver & Resizable {
  return typeof (d as Partial<Resizable>).resize === 'function';
}

/**
 * Optional ability: reinstall a stopped instance. Its disk is replaced by a fresh one from
 * spec.boot (everything on it is lost); the rest of the spec (id, SSH port, seed with the same
 * keys) is kept. The instance stays stopped.
 */
export interface Rebuildable {
  rebuild(spec: InstanceSpec): Promise<void>;
}

export function canRebuild(d: ComputeDriver): d is ComputeDriver & Rebuildable {
  return typeof (d as Partial<Rebuildable>).rebuild === 'function';
}

/** Why an instant start did not happen; the caller cold-boots instead and logs the reason. */
export type InstantStartOutcome =
  | { started: true; /** ms from the hypervisor process's start to the identity applied */ restoreMs: number }
  | { started: false; reason: string };

/**
 * Optional ability: start a new instance from a warm snapshot of its image (booted once, saved
 * while it waited for an identity) instead of booting it. The identity (hostname, keys, host keys,
 * instance-id, user-data, clock, random seed) is applied through the guest agent before the guest
 * starts its SSH server.
 */
export interface InstantStart {
  /**
   * Creates and starts the instance from the warm snapshot for its image and shape. When none is
   * ready (missing, stale, building, failed restore) it leaves no instance behind and says why:
   * the caller then calls create() and start() as usual.
   */
  startInstant(spec: InstanceSpec): Promise<InstantStartOutcome>;
  /** Builds the warm snapshot for this spec's image and shape in the background if none is ready. */
  prepareWarm(spec: InstanceSpec): void;
  /** Where the warm snapshot for this spec's image and shape stands (for the admin's health page). */
  warmState?(spec: InstanceSpec): Promise<{ state: 'ready' | 'building' | 'missing' | 'failed'; reason?: string }>;
}

export function canStartInstantly(d: ComputeDriver): d is ComputeDriver & InstantStart {
  return typeof (d as Partial<InstantStart>).startInstant === 'function';
}
