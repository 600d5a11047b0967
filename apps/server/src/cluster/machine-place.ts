import { readFileSync, realpathSync } from 'node:fs';
import os from 'node:os';
import type { HostRow } from '../modules/hosts/hosts.repository.js';
import { ConfigError } from '../config/config.js';
import type { ClusterSettingsRepository } from './cluster-settings.repository.js';

/** Where a server process runs: the machine and its data dir (where QEMU and Vagrant VMs' files live). */
export interface MachinePlace {
  hostname: string;
  machineId: string;
  dataDir: string;
}

export function machinePlace(dataDir: string): MachinePlace {
  let machineId = '';
  try {
    machineId = readFileSync('/etc/machine-id', 'utf8').trim();
  } catch {
    /* no systemd machine id: the hostname alone tells machines apart */
  }
  return { hostname: os.hostname(), machineId, dataDir: realpathSync(dataDir) };
}

/**
 * Hosts that exist only from one machine: QEMU and Vagrant keep their VMs in that machine's data
 * dir, and a libvirt URI without a host name (qemu:///system) is that machine's libvirtd.
 */
export function isMachineBound(host: Pick<HostRow, 'driver' | 'uri'>): boolean {
  if (host.driver !== 'libvirt') return true;
  return host.uri === null || /^qemu(\+unix)?:\/\/\//.test(host.uri);
}

const same = (a: MachinePlace, b: MachinePlace) => a.machineId === b.machineId && a.hostname === b.hostname && a.dataDir === b.dataDir;

/**
 * Several processes on one PostgreSQL may drive this machine's QEMU, Vagrant or local libvirt only
 * from this machine and data dir: one elsewhere would find none of those VMs and mark them dead.
 * The first process records its place; a later one elsewhere refuses to start while such a host
 * is enabled, and says what to do instead.
 */
export async function assertSamePlaceForLocalHosts(settings: ClusterSettingsRepository, hosts: () => Promise<HostRow[]>, here: MachinePlace): Promise<void> {
  const recorded = JSON.parse(await settings.claim('machine_place', JSON.stringify(here), new Date().toISOString())) as MachinePlace;
  if (same(recorded, here)) return;
  const bound = (await hosts()).filter((h) => h.enabled === 1 && isMachineBound(h));
  if (bound.length === 0) return;
  const names = bound.map((h) => `${h.name} (${h.driver})`).join(', ');
  throw new ConfigError(
    `compute host ${names} keeps its VMs on ${recorded.hostname} in ${recorded.dataDir}, and this process runs on ${here.hostname} in ${here.dataDir}: ` +
      'it could not reach them. Run every server process on that machine with that data dir, or disable those hosts ' +
      '(Admin > Hosts) to serve from several machines with remote libvirt hosts only.',
  );
}
