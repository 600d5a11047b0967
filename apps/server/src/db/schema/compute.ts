import type { ColumnType, Generated } from 'kysely';
import type { Flag, Timestamp } from './columns.js';

/** VMs, their actions and logs, images, compute hosts, console keys and terminal sessions. */

export interface VmsTable {
  id: Generated<number>;
  user_id: number;
  name: string;
  status: string;
  os_type: string;
  image: string;
  size: string | null;
  ram: number;
  cpu: number;
  disk: number;
  price_hourly: number;
  driver: string;
  ip_address: string | null;
  ssh_port: number | null;
  ssh_user: string;
  /** JSON array of the OpenSSH public keys installed at creation. */
  ssh_keys: string;
  user_data: string | null;
  locked: Flag;
  error: string | null;
  /** Why the VM is in its status, from its hypervisor: e.g. 'io-error' for a paused guest. */
  status_reason: string | null;
  booted_at: Timestamp | null;
  destroyed_at: Timestamp | null;
  /** Hours are paid up to here; the billing pass charges the next hour when it is reached. */
  billed_until: Timestamp | null;
  host_id: number | null;
  guest_ssh_host: string | null;
  guest_ssh_port: number | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** booting | responsive | unresponsive (013); see modules/health-watch. */
  health: string | null;
  health_since: Timestamp | null;
  /** The booted_at the health belongs to: a different booted_at means a new boot (health booting). */
  health_boot: Timestamp | null;
  /** 'guest-agent' | 'ssh': what proved the guest alive in this boot. */
  health_source: string | null;
  /** Opt-in: reset once per boot when unresponsive. */
  watchdog_reset: Flag;
  /** When the watchdog reset this boot's guest (at most once per boot). */
  watchdog_reset_at: Timestamp | null;
  /** The snapshot this VM was created from (018). */
  snapshot_id: number | null;
  /** How its creation started it: 'instant' (warm snapshot) or 'cold' (a boot); NULL before (018). */
  boot_path: string | null;
}

/** Point-in-time copies of a VM's disk and RAM (018); kept after the VM's destroy. */
export interface SnapshotsTable {
  id: Generated<number>;
  user_id: number;
  /** NULL once the VM is destroyed. */
  vm_id: number | null;
  vm_name: string;
  name: string;
  /** creating | available | deleting | error */
  status: string;
  memory: Flag;
  quiesced: Flag;
  size_bytes: number;
  image: string;
  os_type: string;
  /** The source VM's disk (GiB): a VM made from the snapshot needs at least this. */
  disk: number;
  ram: number;
  cpu: number;
  driver: string;
  host_id: number | null;
  error: string | null;
  /** Storage is paid up to here (per started day). */
  billed_until: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: Timestamp | null;
}

export interface ActionsTable {
  id: Generated<number>;
  vm_id: number;
  user_id: number;
  type: string;
  status: string;
  started_at: Timestamp;
  completed_at: Timestamp | null;
  error: string | null;
  /** 1 when a stop or reboot skipped the graceful step (021). */
  forced: Generated<Flag>;
  /** The server process running it, and until when it vouches for it (022). */
  runner: string | null;
  lease_expires_at: Timestamp | null;
}

export interface ActionLogTable {
  id: Generated<number>;
  action_id: number;
  at: Timestamp;
  line: string;
}

export interface ImagesTable {
  slug: string;
  name: string;
  distribution: string;
  version: string;
  /** Seed OS name it answers to (tiny, ubuntu, debian…). */
  os_type: string;
  min_disk: number;
  /** builtin: ships with the server (tiny); built: built on this host (debian-12, 019); url: downloaded. */
  kind: 'builtin' | 'built' | 'url';
  url: string | null;
  sha256: string | null;
  /** A distribution's SHA256SUMS file to verify against when sha256 is not given. */
  checksums_url: string | null;
  format: 'qcow2' | 'raw' | null;
  size_bytes: number | null;
  status: 'available' | 'pending' | 'downloading' | 'building' | 'error';
  progress: number | null;
  error: string | null;
  created_at: Timestamp;
  /** The user its VMs log in as over SSH (019; 'root' for older rows and the tiny image). */
  ssh_user: string;
  /** A stable integer id (020; DO clients address images by id); the repository numbers new rows. */
  id: ColumnType<number, number | undefined, never>;
}

/** A VM's tags (020; DO droplet tags). */
export interface VmTagsTable {
  vm_id: number;
  tag: string;
}

export interface ComputeHostsTable {
  id: Generated<number>;
  name: string;
  driver: 'qemu' | 'libvirt' | 'vagrant';
  uri: string | null;
  /** libvirt storage pool of this host's volumes; null: config.libvirtPool. */
  pool: string | null;
  ram_mb: number;
  vcpus: number;
  enabled: Flag;
  draining: Flag;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface VmConsoleKeysTable {
  vm_id: number;
  public_key: string;
  private_key_enc: string;
  host_key_sha256: string | null;
  created_at: Timestamp;
}

export interface TerminalSessionsTable {
  id: Generated<number>;
  vm_id: number;
  user_id: number;
  kind: 'serial' | 'ssh';
  source_ip: string | null;
  cols: number;
  rows: number;
  started_at: Timestamp;
  ended_at: Timestamp | null;
  end_reason: string | null;
  bytes_in: Generated<number>;
  bytes_out: Generated<number>;
  recording_bytes: Generated<number>;
  recording_truncated: Generated<Flag>;
  recording_deleted_at: Timestamp | null;
  /** The server process holding the live session (024); null for sessions before it. */
  process_id: Generated<string | null>;
}
