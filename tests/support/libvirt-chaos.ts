import assert from 'node:assert/strict';
import type { ApiClient, Vm } from '@twarga/contract';
import { ChaosChecks, sleep, type VmBillingRow } from './chaos.js';
import { domainState, virsh, volumeNames, type VirshRunner } from './libvirt.js';

/**
 * The chaos checks (chaos.ts) for VMs on libvirt hosts: what the database says must agree with the
 * domains and volumes libvirt has, and with the ledger.
 */
export interface LibvirtChaosOptions {
  /** The server's data dir (ChaosChecks settles VMs through the API; no QEMU of it is looked for here). */
  dataDir: string;
  api: () => ApiClient;
  vmRows: () => Promise<VmBillingRow[]>;
  /** How long a VM may stay transitional without an action on it (the reconciler's reach). */
  graceMs: number;
  /** The server's TWARGA_LIBVIRT_PREFIX: every domain and volume of its VMs starts with it. */
  prefix: string;
  /** The storage pools of the hosts the VMs are on. */
  pools: string[];
  /** virsh on the libvirtd the VMs are on (default: this run's). */
  virsh?: VirshRunner;
}

export class LibvirtChaosChecks {
  /** Tracks the VMs (expected live or destroyed) and waits for them to be steady. */
  readonly vms: ChaosChecks;

  private readonly run: VirshRunner;

  constructor(readonly o: LibvirtChaosOptions) {
    this.run = o.virsh ?? virsh;
    this.vms = new ChaosChecks({ dataDir: o.dataDir, api: o.api, vmRows: o.vmRows, graceMs: o.graceMs });
  }

  /** Domains of this run's VMs that libvirt has, by VM id. */
  domainIds(): number[] {
    const ours = this.run('list', '--all', '--name').split('\n').map((n) => n.trim()).filter((n) => n.startsWith(`${this.o.prefix}vm-`));
    return ours.map((n) => Number(n.slice(this.o.prefix.length + 3)));
  }

  /** Volumes of this run's VMs (disks, seeds), in every pool. */
  vmVolumes(): string[] {
    return this.o.pools.flatMap((p) => volumeNames(p, this.run)).filter((v) => v.startsWith(`${this.o.prefix}vm-`));
  }

  /** Settles every VM, then checks agreement; a drift may need one more reconciler period. */
  async check(what: string, since: number, t: { diagnostic(m: string): void }): Promise<Vm[]> {
    const vms = await this.vms.settle(since, what);
    try {
      await this.agree(vms, what);
      return vms;
    } catch (err) {
      t.diagnostic(`${what}: not yet consistent (${(err as Error).message.split('\n')[0]}); checking again after a reconciler period`);
      await sleep(this.o.graceMs);
      const again = await this.vms.settle(Date.now(), what);
      await this.agree(again, what);
      return again;
    }
  }

  private async agree(vms: Vm[], what: string): Promise<void> {
    const byId = new Map(vms.map((v) => [v.id, v]));
    const volumes = this.vmVolumes();
    for (const vm of vms) {
      const name = `${this.o.prefix}vm-${vm.id}`;
      const state = domainState(name, this.run);
      assert.equal(vm.status === 'destroyed' ? 'destroyed' : 'live', this.vms.expected.get(vm.id), `${what}: VM ${vm.id} is ${vm.status}`);
      if (vm.status === 'running' || vm.status === 'paused') assert.match(state ?? 'no domain', /^(running|paused)/, `${what}: VM ${vm.id} is ${vm.status}, its domain ${state ?? 'does not exist'}`);
      else if (vm.status === 'stopped') assert.equal(state, 'shut off', `${what}: VM ${vm.id} is stopped, its domain ${state ?? 'does not exist'}`);
      else if (vm.status === 'error') assert.notEqual(state, 'running', `${what}: VM ${vm.id} is in error (${vm.error}) while its domain runs`);
      else if (vm.status === 'destroyed') {
        assert.equal(state, undefined, `${what}: VM ${vm.id} is destroyed but its domain is ${state}`);
        assert.deepEqual(volumes.filter((v) => v.startsWith(`${name}-`)), [], `${what}: VM ${vm.id} is destroyed but its volumes are left`);
      }
    }
    for (const id of this.domainIds()) assert.ok(byId.has(id) && byId.get(id)!.status !== 'destroyed', `${what}: orphan domain of VM ${id} (${byId.get(id)?.status ?? 'not ours'})`);
    await this.vms.agreeOnMoney(byId, what);
  }
}
