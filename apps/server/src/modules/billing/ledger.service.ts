import { AppError, notFound } from '../../http/errors.js';
import type { Db } from '../../db/database.js';
import type { UserChanges } from '../../lib/user-changes.js';
import { isUniqueViolation } from '../auth/auth.service.js';
import { LedgerRepository, type VmChargeKind } from './ledger.repository.js';

export interface CreditChange {
  userId: number;
  amount: number;
  reason: string;
  /** The admin who made the change; null for the system (sign-up grant, billing). */
  actorId: number | null;
  now: string;
}

/** What the ledger needs to know about a VM to charge or refund its first hour. */
export interface BilledVm {
  id: number;
  user_id: number;
  name: string;
  price_hourly: number;
}

interface ApplyOptions {
  /** Lets a debit take the balance below zero (hourly metering of VMs that already run). */
  allowNegative?: boolean;
  /** Makes the change part of a larger transaction. */
  trx?: Db;
  /** Ties the row to a VM's one-off charge; the unique (vm_id, kind) index makes it happen once. */
  vm?: { id: number; kind: VmChargeKind };
}

/** One metering charge: `hours` hours of a VM from `period` on (a usage row). */
export interface UsageCharge {
  userId: number;
  vmId: number;
  amount: number;
  hours: number;
  period: string;
  reason: string;
}

/** A balance before and after a metering pass. */
export interface BalanceMove {
  before: number;
  after: number;
}

/** A debit refused because it would take the balance below zero. */
class NegativeBalance extends AppError {
  constructor(readonly balance: number) {
    super(409, 'conflict', `Balance would become negative (${balance})`);
  }
}

/**
 * The only code that changes a balance: it appends a ledger row and updates the cached
 * balance in the same transaction, so the two can never disagree.
 */
export class LedgerService {
  private readonly repo: LedgerRepository;
  private readonly listeners: ((userId: number) => void)[] = [];

  constructor(
    private readonly db: Db,
    private readonly changes: UserChanges,
  ) {
    this.repo = new LedgerRepository(db);
  }

  /**
   * A debit that would leave the balance below zero is refused (409) unless allowNegative;
   * a credit is always accepted, even when the balance stays negative (a partial top-up).
   */
  async apply(change: CreditChange, options: ApplyOptions = {}): Promise<number> {
    const run = async (trx: Db) => {
      const balance = await this.repo.addToBalance(change.userId, change.amount, change.now, trx);
      if (balance === undefined) throw notFound('User');
      if (balance < 0 && change.amount < 0 && !options.allowNegative) {
        throw new NegativeBalance(balance);
      }
      await this.repo.insert(
        { user_id: change.userId, amount: change.amount, balance_after: balance, reason: change.reason, actor_id: change.actorId, created_at: change.now, vm_id: options.vm?.id ?? null, kind: options.vm?.kind ?? null },
        trx,
      );
      return balance;
    };
    const db = options.trx ?? this.db;
    const balance = await (db.isTransaction ? run(db) : db.transaction().execute(run));
    this.changes.notify(change.userId);
    // The change is done: a listener's failure must not turn it into an error for the caller.
    for (const listener of this.listeners) {
      try {
        listener(change.userId);
      } catch {
        /* the balance watch's sweep catches up on its next pass */
      }
    }
    return balance;
  }

  /**
   * Called after every apply() (a grant, a top-up, an adjustment, a first hour or its refund):
   * the balance watch re-evaluates the user. When apply() ran inside a caller's transaction this
   * fires before that commits, so a listener must not assume it sees the change yet.
   */
  onCredit(listener: (userId: number) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Metering's charges, in bulk inside the caller's transaction (which also moved the VMs'
   * paid-up marks): one balance update per user, one usage row per charge, each with the
   * balance after it. Returns every charged user's balance before and after.
   * The caller calls changed() once the transaction committed.
   */
  async chargeUsage(charges: UsageCharge[], now: string, trx: Db): Promise<Map<number, BalanceMove>> {
    const deltas = new Map<number, number>();
    for (const c of charges) deltas.set(c.userId, (deltas.get(c.userId) ?? 0) + c.amount);
    const balances = await this.repo.addToBalances(deltas, now, trx);
    // Each user's rows in order: the last one ends at the new balance.
    const running = new Map<number, number>();
    for (const [userId, after] of balances) running.set(userId, after - deltas.get(userId)!);
    const rows = charges
      .filter((c) => running.has(c.userId))
      .map((c) => {
        const after = running.get(c.userId)! + c.amount;
        running.set(c.userId, after);
        return { user_id: c.userId, amount: c.amount, balance_after: after, reason: c.reason, actor_id: null, created_at: now, vm_id: c.vmId, kind: 'usage' as const, period: c.period, hours: c.hours };
      });
    await this.repo.insertUsage(rows, trx);
    return new Map([...balances].map(([userId, after]) => [userId, { before: after - deltas.get(userId)!, after }]));
  }

  /** Tells whoever caches balances that these users' balances changed (after a commit). */
  changed(userIds: Iterable<number>): void {
    for (const id of userIds) this.changes.notify(id);
  }

  /**
   * Charges a VM's first hour when its launch is admitted, inside the transaction that inserts
   * the VM: the balance is reserved at once, so a burst of launches cannot all pass a check
   * of the same balance. 402 (and the insert rolls back) when the balance cannot cover it.
   */
  async chargeFirstHour(vm: BilledVm, trx: Db, now: string): Promise<number> {
    try {
      return await this.apply({ userId: vm.user_id, amount: -vm.price_hourly, reason: `VM ${vm.name} (#${vm.id}): first hour`, actorId: null, now }, { trx, vm: { id: vm.id, kind: 'first_hour' } });
    } catch (err) {
      if (err instanceof NegativeBalance) {
        throw new AppError(402, 'insufficient_credits', `This VM costs ${vm.price_hourly} credits per hour and your balance is ${err.balance + vm.price_hourly}`);
      }
      throw err;
    }
  }

  /**
   * Gives back the first hour of a VM that never ran (its creation failed, or the server died
   * before it booted). Idempotent: returns the credits refunded, 0 when there was no first-hour
   * charge (VMs from before it was charged at admission) or it was refunded already.
   */
  async refundFirstHour(vm: Pick<BilledVm, 'id' | 'user_id' | 'name'>, now: string): Promise<number> {
    const charged = await this.repo.vmCharge(vm.id, 'first_hour');
    if (charged === undefined || (await this.repo.vmCharge(vm.id, 'first_hour_refund')) !== undefined) return 0;
    try {
      await this.apply({ userId: vm.user_id, amount: -charged, reason: `VM ${vm.name} (#${vm.id}): first hour refunded (it never ran)`, actorId: null, now }, { vm: { id: vm.id, kind: 'first_hour_refund' } });
      return -charged;
    } catch (err) {
      if (isUniqueViolation(err)) return 0; // refunded at the same moment by another caller
      throw err;
    }
  }
}
