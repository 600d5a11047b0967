import type { BlockScope } from '@twarga/contract';
import type { Clock } from '../../../lib/time.js';
import type { Blocklist } from '../ports.js';
import { canonicalAddress } from './address.js';

interface Entry {
  id: number;
  scope: BlockScope;
  vmId: number | null;
  /** ms; null: until lifted. */
  expiresAt: number | null;
}

/**
 * The active blocks in memory, answering every connection and request without the database.
 * Kept in step with soc_blocks by the blocks service: loaded at start, changed on every create,
 * lift and expiry. An expired entry is ignored by time even before the sweep removes it.
 */
export class MemoryBlocklist implements Blocklist {
  private readonly byAddress = new Map<string, Entry[]>();

  constructor(private readonly clock: Clock) {}

  add(b: { id: number; address: string; scope: BlockScope; vm_id: number | null; expires_at: string | null }): void {
    const address = canonicalAddress(b.address) ?? b.address;
    const entries = (this.byAddress.get(address) ?? []).filter((e) => e.id !== b.id);
    entries.push({ id: b.id, scope: b.scope, vmId: b.vm_id, expiresAt: b.expires_at === null ? null : Date.parse(b.expires_at) });
    this.byAddress.set(address, entries);
  }

  remove(b: { id: number; address: string }): void {
    const address = canonicalAddress(b.address) ?? b.address;
    const entries = (this.byAddress.get(address) ?? []).filter((e) => e.id !== b.id);
    if (entries.length > 0) this.byAddress.set(address, entries);
    else this.byAddress.delete(address);
  }

  /** Replaces everything (the start-up load). */
  reset(blocks: Parameters<MemoryBlocklist['add']>[0][]): void {
    this.byAddress.clear();
    for (const b of blocks) this.add(b);
  }

  blocksVm(address: string, vmId: number): boolean {
    return this.find(address, (e) => e.scope === 'all_vms' || (e.scope === 'vm' && e.vmId === vmId));
  }

  blocksControlPlane(address: string): boolean {
    return this.find(address, (e) => e.scope === 'control_plane');
  }

  /** An active block of the address in exactly this place (a rule firing again need not ask the database). */
  holds(address: string, scope: BlockScope, vmId: number | null): boolean {
    return this.find(address, (e) => e.scope === scope && e.vmId === (scope === 'vm' ? vmId : null));
  }

  private find(address: string, applies: (e: Entry) => boolean): boolean {
    if (this.byAddress.size === 0) return false;
    const entries = this.byAddress.get(canonicalAddress(address) ?? address);
    if (!entries) return false;
    const now = this.clock.now().getTime();
    return entries.some((e) => (e.expiresAt === null || e.expiresAt > now) && applies(e));
  }
}
