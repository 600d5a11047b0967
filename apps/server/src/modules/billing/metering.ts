import type { FastifyBaseLogger } from 'fastify';
import { Periodic } from '../../lib/periodic.js';
import type { Clock } from '../../lib/time.js';
import type { EventLog } from '../events/event-log.js';
import { HOUR_MS } from '../vms/vm-operations.js';
import type { VmsRepository } from '../vms/vms.repository.js';
import type { LedgerService } from './ledger.service.js';

/**
 * Hourly metering, DigitalOcean style: a VM costs its hourly price for every started hour it
 * exists (running or stopped) from when its process first started until it is destroyed. The
 * first hour is paid when the launch is admitted (refunded if the VM never runs); the billing
 * clock (billed_until) starts at the real start of its process; this pass charges each further
 * hour once it begins, in one ledger row per VM per pass, also for a VM destroyed since.
 */
export class Metering {
  private readonly periodic: Periodic;

  /** The periodic pass, for the admin's system health (when it last ran). */
  get job(): Periodic {
    return this.periodic;
  }

  constructor(private readonly d: { vms: VmsRepository; ledger: LedgerService; events: EventLog; clock: Clock; log: FastifyBaseLogger }) {
    this.periodic = new Periodic('metering', () => this.charge(), d.log);
  }

  start(intervalMs = 60_000): void {
    this.periodic.start(intervalMs);
  }

  stop(): void {
    this.periodic.stop();
  }

  pass(): Promise<void> {
    return this.periodic.run();
  }

  private async charge(): Promise<void> {
    const now = this.d.clock.now();
    for (const vm of await this.d.vms.dueForBilling(now.toISOString())) {
      const paidUntil = Date.parse(vm.billed_until!);
      const hours = startedHours(paidUntil, vm.destroyed_at ? Date.parse(vm.destroyed_at) : undefined, now.getTime());
      if (hours <= 0) continue;
      const next = new Date(paidUntil + hours * HOUR_MS).toISOString();
      // The mark and the charge together: a crash between them must neither lose nor repeat an hour.
      const balance = await this.d.vms.transaction(async (trx) => {
        if (!(await this.d.vms.advanceBilledUntil(vm.id, vm.billed_until!, next, trx))) return undefined;
        return this.d.ledger.apply(
          { userId: vm.user_id, amount: -vm.price_hourly * hours, reason: `VM ${vm.name} (#${vm.id}): ${hours} hour${hours > 1 ? 's' : ''}`, actorId: null, now: now.toISOString() },
          { allowNegative: true, trx },
        );
      });
      if (balance !== undefined && balance < 0) {
        await this.d.events.record({ type: 'system', severity: 'warning', action: 'billing.negative_balance', message: `Balance of user #${vm.user_id} is ${balance} credits after billing VM ${vm.name}`, userId: vm.user_id, vmId: vm.id, details: { balance } });
      }
    }
  }
}

/**
 * Hours begun from paidUntil on: up to now for a live VM (the hour beginning at paidUntil
 * counts), up to its destruction for a destroyed one (an hour beginning exactly when it was
 * destroyed does not). A VM destroyed between two passes still pays the hour it lived into.
 */
export function startedHours(paidUntil: number, destroyedAt: number | undefined, now: number): number {
  if (destroyedAt !== undefined) return destroyedAt <= paidUntil ? 0 : Math.ceil((destroyedAt - paidUntil) / HOUR_MS);
  return now < paidUntil ? 0 : Math.floor((now - paidUntil) / HOUR_MS) + 1;
}
