import type { Vm, VmStatus } from '@twarga/contract';
import type { VmRow } from './vms.repository.js';

/** The API's view of a VM row, with what is derived at read time (uptime, SSH command). */
export function toVm(row: VmRow, sshHost: string, now: Date): Vm {
  const running = row.status === 'running' && row.booted_at;
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
    ssh_host: sshHost,
    ssh_port: row.ssh_port,
    ssh_user: row.ssh_user,
    ssh_command: row.ssh_port ? `ssh -p ${row.ssh_port} ${row.ssh_user}@${sshHost}` : null,
    locked: row.locked === 1,
    error: row.error,
    created_at: row.created_at,
    updated_at: row.updated_at,
    booted_at: row.booted_at,
    uptime_seconds: running ? Math.max(0, Math.floor((now.getTime() - Date.parse(row.booted_at!)) / 1000)) : null,
  };
}
