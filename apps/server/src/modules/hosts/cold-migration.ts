import type { Action } from '@twarga/contract';
import { instanceId, type ComputeDriver } from '../../compute/driver.js';
import { migrateStoppedInstance } from '../../compute/libvirt/cold-migration.js';
import { LibvirtDriver } from '../../compute/libvirt/libvirt-driver.js';
import { conflict, notFound } from '../../http/errors.js';
import type { Clock } from '../../lib/time.js';
import type { Identity } from '../auth/identity.js';
import type { EventLog } from '../events/event-log.js';
import type { VmsService } from '../vms/vms.service.js';
import type { HostRow, HostsRepository } from './hosts.repository.js';
import { pickHost } from './scheduler.js';

export interface ColdMigrationDeps {
  hosts: HostsRepository;
  drivers: { forHost(host: HostRow): ComputeDriver };
  /** Runs the move as the VM's `migrate` action (lock, lease, log, takeover). */
  vms: Pick<VmsService, 'move'>;
  events: EventLog;
  clock: Clock;
}

/** What a move needs to know of the VM. */
interface MovingVm {
  id: number;
  name: string;
  status: string;
  host_id: number | null;
  ram: number;
  cpu: number;
}

interface Plan {
  source: HostRow;
  target: HostRow;
  from: LibvirtDriver;
  to: LibvirtDriver;
}

/**
 * Moves a stopped VM to another compute host: libvirt → libvirt only (a qemu or Vagrant VM's files
 * are not libvirt volumes). The rules are checked when asked (a clear 409 at once) and again under
 * the VM's lock and the admission lock when its action starts; the copy then runs as that action.
 * The copy is verified before the source is touched, and the VM's row names the new host only once
 * the domain is defined there (see migrateStoppedInstance).
 */
export class ColdMigrationService {
  constructor(private readonly d: ColdMigrationDeps) {}

  async migrate(actor: Identity, vmId: number, targetId: number, sourceIp: string): Promise<Action> {
    const vm = await this.d.hosts.findVm(vmId);
    if (!vm) throw notFound('VM');
    await this.plan(vm, targetId);
    const { username } = actor.user;
    const by = { userId: actor.user.id, username, sourceIp, message: `${username} asked to migrate VM ${vm.name} to host #${targetId}` };
    return this.d.vms.move(vm.id, by, async (current, step) => {
      const plan = await this.plan(current, targetId);
      return { work: () => this.copy(current, plan, step, { actor, sourceIp }) };
    });
  }

  /** Every rule a move must pass, as a 409 naming what is wrong; the two hosts and their drivers. */
  private async plan(vm: MovingVm, targetId: number): Promise<Plan> {
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
    return { source, target, from, to };
  }

  /** The action's work: copy and verify, point the row at the target, then clean the source. */
  private async copy(vm: MovingVm, { source, target, from, to }: Plan, step: (text: string) => void, asked: { actor: Identity; sourceIp: string }): Promise<void> {
    step(`Copying the volumes of ${vm.name} from ${source.name} to ${target.name}`);
    const moved = await migrateStoppedInstance(from, to, instanceId(vm.id));
    step(`${moved.volumes.length} volume(s) copied and read back; the VM is defined on ${target.name}`);
    if (!(await this.d.hosts.moveVm(vm.id, source.id, target.id, this.d.clock.now().toISOString()))) {
      // The action holds the VM's lock: only a write around it gets here.
      throw new Error(`the VM changed while its volumes were copied; its domain is now defined on ${target.name}`);
    }
    // From here on the VM is on the target: nothing below may fail the action.
    await moved.removeSourceVolumes().then(
      () => step(`Removed its volumes from ${source.name}`),
      (err: unknown) => step(`Its old volumes on ${source.name} could not be removed (${err instanceof Error ? err.message : String(err)}): remove them there by hand`),
    );
    const { user } = asked.actor;
    await this.d.events
      .record({
        type: 'admin', action: 'admin.vm_migrated', message: `${user.username} moved VM ${vm.name} from ${source.name} to ${target.name}`,
        userId: user.id, username: user.username, sourceIp: asked.sourceIp, details: { vm_id: vm.id, from_host: source.id, to_host: target.id, volumes: moved.volumes },
      })
      .catch(() => {});
  }
}
