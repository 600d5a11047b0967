import type { MigrateVmResult } from '@twarga/contract';
import { instanceId, type ComputeDriver } from '../../compute/driver.js';
import { migrateStoppedInstance } from '../../compute/libvirt/cold-migration.js';
import { LibvirtDriver } from '../../compute/libvirt/libvirt-driver.js';
import { conflict, notFound } from '../../http/errors.js';
import type { Clock } from '../../lib/time.js';
import type { Identity } from '../auth/identity.js';
import type { EventLog } from '../events/event-log.js';
import type { HostRow, HostsRepository } from './hosts.repository.js';
import { pickHost } from './scheduler.js';

/** The VM's one-action-at-a-time lock (VmsRepository has these): held while its volumes move. */
export interface VmLocks {
  tryLock(id: number, now: string): Promise<boolean>;
  unlock(id: number, now: string): Promise<void>;
}

export interface ColdMigrationDeps {
  hosts: HostsRepository;
  drivers: { forHost(host: HostRow): ComputeDriver };
  locks: VmLocks;
  events: EventLog;
  clock: Clock;
}

/**
 * Moves a stopped VM to another compute host: libvirt → libvirt only (a qemu or Vagrant VM's files
 * are not libvirt volumes). The copy is verified before the source is touched, and the VM's row
 * names the new host only once the domain is defined there (see migrateStoppedInstance).
 */
export class ColdMigrationService {
  constructor(private readonly d: ColdMigrationDeps) {}

  async migrate(actor: Identity, vmId: number, targetId: number, sourceIp: string): Promise<MigrateVmResult> {
    const vm = await this.d.hosts.findVm(vmId);
    if (!vm) throw notFound('VM');
    const target = await this.d.hosts.find(targetId);
    const source = vm.host_id === null ? undefined : await this.d.hosts.find(vm.host_id);
    const refuse = (why: string, field = 'host') => conflict(`VM ${vm.name} cannot move: ${why}`, [{ field, message: why }]);
    if (vm.status !== 'stopped') throw refuse(`it is ${vm.status}; only a stopped VM can be cold-migrated`, 'status');
    if (!target) throw refuse(`there is no compute host #${targetId}`);
    if (!source) throw refuse('it has no compute host');
    if (source.id === target.id) throw refuse(`it is already on ${target.name}`);
    if (source.driver !== 'libvirt' || target.driver !== 'libvirt') {
      throw refuse(`${source.driver} → ${target.driver} is not supported (cold migration moves libvirt VMs between libvirt hosts)`);
    }
    if (!target.enabled || target.draining) throw refuse(`${target.name} takes no new VMs (${target.enabled ? 'draining' : 'disabled'})`);
    const used = (await this.d.hosts.usage()).get(target.id);
    const room = pickHost(
      [{ id: target.id, name: target.name, enabled: true, draining: false, ramMb: target.ram_mb, vcpus: target.vcpus, usedRamMb: used?.ram_mb ?? 0, usedVcpus: used?.vcpus ?? 0 }],
      { ramMb: vm.ram, vcpus: vm.cpu },
    );
    if (!room) throw refuse(`${target.name} has no room for ${vm.ram} MB and ${vm.cpu} vCPU`);
    const [from, to] = [this.d.drivers.forHost(source), this.d.drivers.forHost(target)];
    if (!(from instanceof LibvirtDriver) || !(to instanceof LibvirtDriver)) throw refuse('a host is not driven by libvirt on this server');

    if (!(await this.d.locks.tryLock(vm.id, this.now()))) throw refuse('another action is running on it', 'locked');
    try {
      const moved = await migrateStoppedInstance(from, to, instanceId(vm.id));
      if (!(await this.d.hosts.moveVm(vm.id, source.id, target.id, this.now()))) {
        // Only a write around the lock gets here: the domain is on the target, the row says otherwise.
        throw refuse(`it changed while its volumes were copied; its domain is now defined on ${target.name}`, 'status');
      }
      await moved.removeSourceVolumes();
      await this.d.events.record({
        type: 'admin', action: 'admin.vm_migrated', message: `${actor.user.username} moved VM ${vm.name} from ${source.name} to ${target.name}`,
        userId: actor.user.id, username: actor.user.username, sourceIp, details: { vm_id: vm.id, from_host: source.id, to_host: target.id, volumes: moved.volumes },
      });
      return { vm_id: vm.id, from_host: source.id, to_host: target.id, volumes_copied: moved.volumes.length };
    } finally {
      await this.d.locks.unlock(vm.id, this.now());
    }
  }

  private now(): string {
    return this.d.clock.now().toISOString();
  }
}
