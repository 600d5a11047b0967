import type { FastifyBaseLogger } from 'fastify';
import { Periodic } from '../../lib/periodic.js';
import type { Clock } from '../../lib/time.js';
import type { EventLog } from '../events/event-log.js';
import type { NewEvent } from '../events/events.repository.js';
import type { BalanceMove, LedgerService, UsageCharge } from './ledger.service.js';
import { capMayApply, chargedInMonth, monthOf, planVm, startedHours, type VmPlan } from './metering-plan.js';
import type { DueVm, MeteringRepository } from './metering.repository.js';
import { chunks } from './sql-dialect.js';

export { startedHours } from './metering-plan.js';

/** VMs per transaction: big enough for one statement per chunk, small enough to hold the write lock briefly. */
const VMS_PER_TRANSACTION = 1000;

export interface MeteringDeps {
  repo: MeteringRepository;
  ledger: LedgerService;
  events: EventLog;
  clock: Clock;
  log: FastifyBaseLogger;
  /** A VM is charged at most this many hours per calendar month (UTC). */
  monthlyCapHours: number;
  /** Snapshot storage, charged in the same pass (snapshot-metering.ts): its users join the pass's balance moves. */
  storage?: { charge(now: Date): Promise<Map<number, BalanceMove>> };
  /** Runs after every pass with the users it charged (the balance watch). */
  afterPass?: (charged: Map<number, BalanceMove>) => Promise<void>;
}

/** What one pass did (for tests and the benchmark). */
export interface PassResult {
  vms: number;
  charged: number;
  rows: number;
  cappedHours: number;
}

/**
 * Hourly metering, DigitalOcean style: a VM costs its hourly price for every started hour it
 * exists (running or stopped) from when its process first started until it is destroyed. The
 * first hour is paid when the launch is admitted (refunded if the VM never runs); the billing
 * clock (billed_until) starts at the real start of its process; this pass charges each further
 * hour once it begins, also for a VM destroyed since.
 *
 * Exactly once: in one transaction, the VM's paid-up mark moves by compare-and-swap and its
 * usage rows are written; a usage row's (vm_id, 'usage', period) is a unique key, so even a
 * pass that lost the swap somehow could not write the same hours twice. A crash anywhere rolls
 * back both; two passes (two processes) racing on one database charge each hour once.
 * A run crossing a month boundary pays one row per month; a VM charged monthlyCapHours in a
 * month pays nothing more that month (its mark still advances).
 */
export class Metering {
  private readonly periodic: Periodic;

  /** The periodic pass, for the admin's system health (when it last ran). */
  get job(): Periodic {
    return this.periodic;
  }

  constructor(private readonly d: MeteringDeps) {
    this.periodic = new Periodic('metering', async () => void (await this.charge()), d.log);
  }

  start(intervalMs = 60_000): void {
    this.periodic.start(intervalMs);
  }

  stop(): void {
    this.periodic.stop();
  }

  /** One pass now (skipped if one is running in this process). */
  pass(): Promise<void> {
    return this.periodic.run();
  }

  /** One pass, with what it did (the periodic job runs exactly this). */
  async charge(): Promise<PassResult> {
    const now = this.d.clock.now();
    const nowIso = now.toISOString();
    const due = await this.d.repo.due(nowIso);
    const result: PassResult = { vms: due.length, charged: 0, rows: 0, cappedHours: 0 };
    const moves = new Map<number, BalanceMove>();
    const merge = (done: Map<number, BalanceMove>) => {
      for (const [userId, move] of done) {
        const prior = moves.get(userId);
        moves.set(userId, prior ? { before: prior.before, after: move.after } : move);
      }
    };
    for (const part of chunks(due, VMS_PER_TRANSACTION)) merge(await this.chargeChunk(part, now.getTime(), nowIso, result));
    if (this.d.storage) merge(await this.d.storage.charge(now));
    if (moves.size > 0) await this.negativeBalanceEvents(moves);
    await this.d.afterPass?.(moves);
    return result;
  }

  private async chargeChunk(due: DueVm[], nowMs: number, nowIso: string, result: PassResult): Promise<Map<number, BalanceMove>> {
    const cap = this.d.monthlyCapHours;
    const begun = due
      .map((vm) => ({ vm, from: Date.parse(vm.billed_until), hours: startedHours(Date.parse(vm.billed_until), vm.destroyed_at ? Date.parse(vm.destroyed_at) : undefined, nowMs) }))
      .filter((b) => b.hours > 0);
    if (begun.length === 0) return new Map();
    // Only VMs near the cap need their month's charged hours looked up (late in a month).
    const near = begun.filter((b) => capMayApply(b.from, Date.parse(b.vm.created_at), b.from + b.hours * 3_600_000, cap));
    const starts = near.length === 0 ? new Map() : await this.d.repo.billingStarts(near.map((b) => b.vm.id));
    const plans = begun.map((b) => {
      const s = starts.get(b.vm.id);
      const charged = new Map<string, number>();
      if (s) charged.set(monthOf(b.from), chargedInMonth(b.from, s.firstUsage ? Date.parse(s.firstUsage) : null, s.firstHour ? Date.parse(s.firstHour) : null, cap));
      return { vm: b.vm, plan: planVm(b.from, b.hours, charged, cap)! };
    });

    const { won, moves } = await this.d.repo.transaction(async (trx) => {
      const won = await this.d.repo.advance(plans.map(({ vm, plan }) => ({ id: vm.id, from: vm.billed_until, to: plan.next })), trx);
      const charges = plans.filter(({ vm }) => won.has(vm.id)).flatMap(({ vm, plan }) => usageCharges(vm, plan));
      const moves = charges.length > 0 ? await this.d.ledger.chargeUsage(charges, nowIso, trx) : new Map<number, BalanceMove>();
      return { won, moves };
    });
    this.d.ledger.changed(moves.keys());

    const capEvents: NewEvent[] = [];
    for (const { vm, plan } of plans) {
      if (!won.has(vm.id)) continue;
      result.charged++;
      result.rows += plan.rows.length;
      result.cappedHours += plan.cappedHours;
      for (const month of plan.capReached) {
        capEvents.push({ type: 'system', severity: 'info', action: 'billing.monthly_cap', message: `VM ${vm.name} reached the monthly cap of ${this.d.monthlyCapHours} hours in ${month}: it costs nothing more this month`, userId: vm.user_id, vmId: vm.id, details: { month, cap_hours: this.d.monthlyCapHours } });
      }
    }
    if (capEvents.length > 0) await this.d.events.recordMany(capEvents);
    return moves;
  }

  /** A balance this pass took below zero (once per crossing; the balance watch does the rest). */
  private async negativeBalanceEvents(moves: Map<number, BalanceMove>): Promise<void> {
    const crossed: NewEvent[] = [];
    for (const [userId, { before, after }] of moves) {
      if (before >= 0 && after < 0) crossed.push({ type: 'system', severity: 'warning', action: 'billing.negative_balance', message: `Balance of user #${userId} is ${after} credits after hourly billing`, userId, details: { balance: after } });
    }
    if (crossed.length > 0) await this.d.events.recordMany(crossed);
  }
}

function usageCharges(vm: DueVm, plan: VmPlan): UsageCharge[] {
  return plan.rows.map((row) => ({
    userId: vm.user_id,
    vmId: vm.id,
    amount: -vm.price_hourly * row.hours,
    hours: row.hours,
    period: row.period,
    reason: `VM ${vm.name} (#${vm.id}): ${row.hours} hour${row.hours > 1 ? 's' : ''} from ${row.period.slice(0, 16).replace('T', ' ')} UTC${plan.capReached.includes(row.month) ? ` (monthly cap of ${row.month} reached)` : ''}`,
  }));
}
