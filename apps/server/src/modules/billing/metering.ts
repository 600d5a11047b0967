import type { FastifyBaseLogger } from 'fastify';
import { Periodic } from '../../lib/periodic.js';
import type { Clock } from '../../lib/time.js';
import type { EventsService } from '../events/events.service.js';
import { HOUR_MS } from '../vms/vm-operations.js';
import type { VmsRepository } from '../vms/vms.repository.js';
import type { LedgerService } from './ledger.service.js';

/**
 * Hourly metering, DigitalOcean style: a VM costs its hourly price for every started hour it
 * exists (running or stopped) until it is destroyed. The first hour is paid at creation; this
 * pass charges each further hour once it begins, in one ledger row per VM per pass.
 */
export class Metering {
  private readonly periodic: Periodic;

  constructor(private readonly d: { vms: VmsRepository; ledger: LedgerService; events: EventsService; clock: Clock; log: FastifyBaseLogger }) {
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
      const hours = Math.floor((now.getTime() - paidUntil) / HOUR_MS) + 1;
      const next = new Date(paidUntil + hours * HOUR_MS).toISOString();
      if (!(await this.d.vms.advanceBilledUntil(vm.id, vm.billed_until!, next))) continue;
      const balance = await this.d.ledger.apply(
        { userId: vm.user_id, amount: -vm.price_hourly * hours, reason: `VM ${vm.name} (#${vm.id}): ${hours} hour${hours > 1 ? 's' : ''}`, actorId: null, now: now.toISOString() },
        { allowNegative: true },
      );
      if (balance < 0) {
        await this.d.events.record({ type: 'system', severity: 'warning', action: 'billing.negative_balance', message: `Balance of user #${vm.user_id} is ${balance} credits after billing VM ${vm.name}`, userId: vm.user_id, vmId: vm.id, details: { balance } });
      }
    }
  }
}
