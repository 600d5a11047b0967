import { billedGb } from '../../lib/snapshot-size.js';
import type { Clock } from '../../lib/time.js';
import type { LedgerRepository } from './ledger.repository.js';
import type { BalanceMove, LedgerService } from './ledger.service.js';
import type { DueSnapshot, SnapshotMeteringRepository, StorageCharge } from './snapshot-metering.repository.js';
import { chunks } from './sql-dialect.js';

const DAY_MS = 86_400_000;
const SNAPSHOTS_PER_TRANSACTION = 1000;


/** Midnight UTC of the day holding t. */
export const dayStart = (t: number) => t - (((t % DAY_MS) + DAY_MS) % DAY_MS);

/**
 * The credits one day of a snapshot costs: per month P = GB × price, spread over its D days so
 * that the days add up to P exactly: day d (0-based) pays floor(P(d+1)/D) − floor(Pd/D).
 */
export function dayCharge(monthlyPrice: number, dayStartMs: number): number {
  const date = new Date(dayStartMs);
  const days = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate();
  const d = date.getUTCDate() - 1;
  return Math.floor((monthlyPrice * (d + 1)) / days) - Math.floor((monthlyPrice * d) / days);
}

/**
 * The UTC days a snapshot must now pay for, from its paid-up mark: every day that has begun
 * (a live snapshot) or that it lived into (a deleted one: the day it was deleted in counts).
 */
export function dueDays(billedUntil: number, deletedAt: number | null, now: number): number[] {
  const days: number[] = [];
  for (let t = billedUntil; t <= now && (deletedAt === null || t < deletedAt); t = dayStart(t) + DAY_MS) days.push(dayStart(t));
  return days;
}

export interface SnapshotMeteringDeps {
  repo: SnapshotMeteringRepository;
  ledgerRepo: LedgerRepository;
  ledger: LedgerService;
  clock: Clock;
  /** Credits per GB-month (TWARGA_SNAPSHOT_PRICE_GB_MONTH). */
  priceGbMonth: number;
}

/**
 * Snapshot storage billing, run by the metering pass: a snapshot costs its size in GB (rounded
 * up) × the price per GB-month, charged per started UTC day from when it became available until
 * it is deleted (the day of the deletion included). One ledger row (kind 'snapshot', period =
 * the day's start) per snapshot and day; days costing 0 credits leave no row.
 *
 * Exactly once, like VM usage: in one transaction the paid-up mark moves by compare-and-swap,
 * the rows are written and the balances updated; (snapshot_id, kind, period) is unique. Two
 * passes racing charge each day once: the loser's swap moves nothing, so it writes nothing.
 */
export class SnapshotMetering {
  constructor(private readonly d: SnapshotMeteringDeps) {}

  /** Charges every day begun and not paid; returns each charged user's balance before and after. */
  /**
   * Credits per hour a user's snapshots cost this month (the monthly price spread over the
   * month's hours): part of the burn rate, so the runway and low-balance warnings count storage.
   */
  async hourlyRate(userId: number, now: Date = this.d.clock.now()): Promise<number> {
    const gb = (await this.d.repo.billedSizes(userId)).reduce((total, bytes) => total + billedGb(bytes), 0);
    const days = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 0)).getUTCDate();
    return gb * this.d.priceGbMonth / (days * 24);
  }

  async charge(now: Date = this.d.clock.now()): Promise<Map<number, BalanceMove>> {
    const nowIso = now.toISOString();
    const moves = new Map<number, BalanceMove>();
    for (const part of chunks(await this.d.repo.due(nowIso), SNAPSHOTS_PER_TRANSACTION)) {
      for (const [userId, move] of await this.chargeChunk(part, now.getTime(), nowIso)) {
        const prior = moves.get(userId);
        moves.set(userId, prior ? { before: prior.before, after: move.after } : move);
      }
    }
    return moves;
  }

  private async chargeChunk(due: DueSnapshot[], nowMs: number, nowIso: string): Promise<Map<number, BalanceMove>> {
    const plans = due
      .map((s) => ({ s, days: dueDays(Date.parse(s.billed_until), s.deleted_at ? Date.parse(s.deleted_at) : null, nowMs) }))
      .filter((p) => p.days.length > 0);
    if (plans.length === 0) return new Map();
    const moves = await this.d.repo.transaction(async (trx) => {
      const won = await this.d.repo.advance(plans.map(({ s, days }) => ({ id: s.id, from: s.billed_until, to: new Date(days[days.length - 1]! + DAY_MS).toISOString() })), trx);
      const charges = plans.filter(({ s }) => won.has(s.id)).flatMap(({ s, days }) => this.dayCharges(s, days));
      if (charges.length === 0) return new Map<number, BalanceMove>();
      const deltas = new Map<number, number>();
      for (const c of charges) deltas.set(c.userId, (deltas.get(c.userId) ?? 0) + c.amount);
      const balances = await this.d.ledgerRepo.addToBalances(deltas, nowIso, trx);
      // Each user's rows in order: the last one ends at the new balance.
      const running = new Map<number, number>();
      for (const [userId, after] of balances) running.set(userId, after - deltas.get(userId)!);
      const rows = charges.filter((c) => running.has(c.userId)).map((c) => {
        const after = running.get(c.userId)! + c.amount;
        running.set(c.userId, after);
        return { ...c, balanceAfter: after };
      });
      await this.d.repo.insertCharges(rows, nowIso, trx);
      return new Map([...balances].map(([userId, after]) => [userId, { before: after - deltas.get(userId)!, after }]));
    });
    this.d.ledger.changed(moves.keys());
    return moves;
  }

  private dayCharges(s: DueSnapshot, days: number[]): Omit<StorageCharge, 'balanceAfter'>[] {
    const gb = billedGb(s.size_bytes);
    const monthly = gb * this.d.priceGbMonth;
    return days
      .map((day) => ({ day, credits: dayCharge(monthly, day) }))
      .filter(({ credits }) => credits > 0)
      .map(({ day, credits }) => ({
        userId: s.user_id,
        snapshotId: s.id,
        amount: -credits,
        period: new Date(day).toISOString(),
        reason: `Snapshot ${s.name} of VM ${s.vm_name} (#${s.id}): ${gb} GB stored on ${new Date(day).toISOString().slice(0, 10)}`,
      }));
  }
}
