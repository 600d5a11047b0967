import type { Vm, VmHealth, VmStatus } from '@twarga/contract';
import type { VmRow } from './vms.repository.js';

/** Where the VM's SSH answers: the driver-reported endpoint, else the forwarded port on sshHost. */
export function sshEndpointOf(row: VmRow, sshHost: string): { host: string; port: number | null } {
  return row.guest_ssh_host ? { host: row.guest_ssh_host, port: row.guest_ssh_port ?? 22 } : { host: sshHost, port: row.ssh_port };
}

/**
 * Where the control plane ITSELF reaches the VM's SSH (terminal, banner probes): QEMU's forward
 * always listens on 127.0.0.1 (qemu/args.ts), whatever address users are shown (sshHost may be
 * the SSH gateway's public address, and our own connections must not pass the gateway).
 */
export function internalSshEndpointOf(row: VmRow): { host: string; port: number | null } {
  return sshEndpointOf(row, '127.0.0.1');
}

/**
 * The VM's health as of now: null unless running; a health stored for another boot (the VM was
 * started, stopped or rebooted since: booted_at moved) is stale, and the new boot is booting from
 * its start. The health watcher stores the transitions (modules/health-watch).
 */
export function currentHealth(row: VmRow): { health: VmHealth | null; since: string | null } {
  if (row.status !== 'running') return { health: null, since: null };
  if (row.health === null || row.health_boot !== row.booted_at) return { health: 'booting', since: row.booted_at ?? row.updated_at };
  return { health: row.health as VmHealth, since: row.health_since };
}

/**
 * The API's view of a VM row, with what is derived at read time (uptime, SSH command), and its
 * tags when the caller loaded them (VmsRepository.tagsOf; views without them leave the field out).
 */
export function toVm(row: VmRow, sshHost: string, now: Date, tags?: string[]): Vm {
  // A paused guest's process still runs: its uptime keeps counting.
  const running = (row.status === 'running' || row.status === 'paused') && row.booted_at;
  const ssh = sshEndpointOf(row, sshHost);
  const health = currentHealth(row);
  return {
    id: row.id,
    user_id: row.user_id,
    name: row.name,
    status: row.status as VmStatus,
    os_type: row.os_type,
    image: row.image,
    size: row.size,
    ram: row.ram,
    cpu: row.cpu,
    disk: row.disk,
    price_hourly: row.price_hourly,
    driver: row.driver,
    ip_address: row.ip_address,
    host_id: row.host_id,
    ssh_host: ssh.host,
    ssh_port: ssh.port,
    ssh_user: row.ssh_user,
    ssh_command: ssh.port ? `ssh -p ${ssh.port} ${row.ssh_user}@${ssh.host}` : null,
    locked: row.locked === 1,
    error: row.error,
    status_reason: row.status_reason,
    created_at: row.created_at,
    updated_at: row.updated_at,
    booted_at: row.booted_at,
    uptime_seconds: running ? Math.max(0, Math.floor((now.getTime() - Date.parse(row.booted_at!)) / 1000)) : null,
    health: health.health,
    health_since: health.since,
    watchdog_reset: row.watchdog_reset === 1,
    ...(tags ? { tags } : {}),
  };
}
