import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../lib/time.js';
import type { EventLog } from '../events/event-log.js';
import type { Notification, Notifier } from '../notifications/notification.js';
import type { VmsService } from '../vms/vms.service.js';
import { decide, hasChanges, type BalancePolicy, type Decision } from './balance-rules.js';
import type { BillingRepository, UserBalanceRow } from './billing.repository.js';

export interface BalanceWatchDeps {
  repo: BillingRepository;
  vms: Pick<VmsService, 'stopAll' | 'enforce'>;
  events: EventLog;
  notifier: Notifier;
  clock: Clock;
  log: FastifyBaseLogger;
  policy: BalancePolicy;
  /** Credits per hour the user's VMs burn now (for the warning's "covers about N hours"). */
  burnRate(userId: number): Promise<number>;
}

const SYSTEM = { userId: null, username: null } as const;

/**
 * The low-balance watch: low → grace → suspended (→ destroyed, opt-in), and back on a top-up.
 * It runs after every credit change (touch) and after every metering pass (sweep, which also
 * ends grace periods that expire without any charge).
 *
 * Each user's transition is decided and written in one transaction that holds the user's row
 * (FOR UPDATE on PostgreSQL), so two evaluations, even in two processes, never announce the same
 * step twice. What follows the commit (events, notifications, stopping VMs) can fail without
 * undoing it: a notification is queued and never awaited, and its failure is only logged.
 */
export class BalanceWatch {
  private readonly queue = new Map<number, { running: Promise<void>; again: boolean }>();

  constructor(private readonly d: BalanceWatchDeps) {}

  /** Re-evaluates a user soon (after a credit change); evaluations of one user never overlap. */
  touch(userId: number): void {
    const entry = this.queue.get(userId);
    if (entry) {
      entry.again = true;
      return;
    }
    const run = async (): Promise<void> => {
      try {
        await this.evaluate(userId);
      } catch (err) {
        this.d.log.error({ err, userId }, 'balance watch failed');
      }
      const current = this.queue.get(userId)!;
      if (current.again) {
        current.again = false;
        return run();
      }
      this.queue.delete(userId);
    };
    // Deferred a tick: the change that triggered it may still be committing.
    const state = { running: Promise.resolve(), again: false };
    this.queue.set(userId, state);
    state.running = new Promise<void>((resolve) => setImmediate(resolve)).then(run);
  }

  /** Resolves when every touched user has been evaluated (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.queue.size > 0) await Promise.all([...this.queue.values()].map((q) => q.running));
  }

  /**
   * The periodic pass: every user who may need a step (low, in grace, suspended), from one
   * query; only those whose state must change (or who are suspended) are evaluated one by one.
   */
  async sweep(): Promise<void> {
    const now = this.d.clock.now().getTime();
    const highest = this.d.policy.thresholds[0] ?? 0;
    for (const user of await this.d.repo.candidates(highest)) {
      const d = decide(user, now, this.d.policy);
      if (!hasChanges(d) && !d.keepStopped) continue;
      try {
        await this.evaluate(user.id);
      } catch (err) {
        this.d.log.error({ err, userId: user.id }, 'balance watch failed');
      }
    }
  }

  /** Decides and writes the user's next step, then carries it out. */
  async evaluate(userId: number): Promise<void> {
    const nowMs = this.d.clock.now().getTime();
    const outcome = await this.d.repo.transaction(async (trx) => {
      const user = await this.d.repo.lockState(userId, trx);
      if (!user) return undefined;
      const decision = decide(user, nowMs, this.d.policy);
      if (hasChanges(decision)) await this.d.repo.writeState(userId, decision.patch, trx);
      return { user, decision };
    });
    if (outcome) await this.carryOut(outcome.user, outcome.decision);
  }

  private async carryOut(user: UserBalanceRow, d: Decision): Promise<void> {
    const balance = user.credits;
    const who = { userId: user.id, username: user.username };
    if (d.lowBelow !== undefined) {
      const burn = await this.d.burnRate(user.id).catch(() => 0);
      const runway = burn > 0 ? ` At the current ${burn} credits per hour it covers about ${Math.floor(balance / burn)} hours.` : '';
      await this.d.events.record({ type: 'system', severity: 'warning', action: 'billing.low_balance', message: `Balance of ${user.username} fell below ${d.lowBelow} credits (${balance})`, ...who, details: { balance, threshold: d.lowBelow, burn_rate_hourly: burn } });
      this.notify({ userId: user.id, topic: 'billing.low_balance', subject: `Your balance is below ${d.lowBelow} credits`, text: `Your balance is ${balance} credits.${runway} Stopped VMs bill too, until destroyed. Add credits to keep your VMs running.`, data: { balance, threshold: d.lowBelow, burn_rate_hourly: burn } });
    }
    if (d.graceEndsAt !== undefined) {
      await this.d.events.record({ type: 'system', severity: 'warning', action: 'billing.grace_started', message: `Balance of ${user.username} reached ${balance} credits: grace period until ${d.graceEndsAt}`, ...who, details: { balance, grace_ends_at: d.graceEndsAt } });
      this.notify({ userId: user.id, topic: 'billing.grace_started', subject: 'Your balance reached zero: your VMs will be stopped', text: `Your balance is ${balance} credits. Your VMs keep running until ${d.graceEndsAt}; then they will be stopped, and new VMs and starts refused, until you add credits.`, data: { balance, grace_ends_at: d.graceEndsAt } });
    }
    if (d.suspend) {
      const stopped = await this.d.vms.stopAll([user.id], { ...SYSTEM, message: `Billing stopped the VMs of ${user.username}: the grace period ended with a balance of ${balance} credits` });
      await this.d.events.record({ type: 'system', severity: 'warning', action: 'billing.suspended', message: `Grace period of ${user.username} ended (balance ${balance}): ${stopped.requested.length} VMs stopped, new VMs and starts refused until a top-up`, ...who, details: { balance, stopped: stopped.requested.map((v) => v.vm_id), skipped: stopped.skipped.map((v) => v.vm_id) } });
      this.notify({ userId: user.id, topic: 'billing.suspended', subject: 'Your VMs were stopped for lack of credits', text: `Your balance is ${balance} credits and the grace period ended: ${stopped.requested.length} of your VMs were stopped. Stopped VMs still bill until destroyed. Add credits to start them again.`, data: { balance, stopped: stopped.requested.map((v) => v.vm_id) } });
    } else if (d.keepStopped) {
      // Suspended earlier: a VM still running (a stop that failed, a crash right after the
      // suspension was written) is stopped now.
      const running = (await this.d.repo.liveVms(user.id)).filter((vm) => vm.status === 'running' || vm.status === 'paused');
      if (running.length > 0) await this.d.vms.stopAll([user.id], { ...SYSTEM, message: `Billing stopped the VMs of ${user.username}: suspended for lack of credits` });
    }
    if (d.destroy) await this.destroyAll(user);
    if (d.restoredFrom !== undefined) {
      await this.d.events.record({ type: 'system', severity: 'info', action: 'billing.restored', message: `A top-up ended the ${d.restoredFrom === 'suspended' ? 'suspension' : 'grace period'} of ${user.username} (balance ${balance})`, ...who, details: { balance, from: d.restoredFrom } });
      this.notify({ userId: user.id, topic: 'billing.restored', subject: 'Your balance is positive again', text: `Your balance is ${balance} credits.${d.restoredFrom === 'suspended' ? ' You can start your VMs and create new ones again.' : ' Your VMs will not be stopped.'}`, data: { balance, from: d.restoredFrom } });
    }
  }

  /** Destroys a long-suspended user's VMs (opt-in); those another action holds wait for the next pass. */
  private async destroyAll(user: UserBalanceRow): Promise<void> {
    const destroyed: number[] = [];
    for (const vm of await this.d.repo.liveVms(user.id)) {
      if (vm.status === 'destroying') continue;
      try {
        await this.d.vms.enforce(vm.id, 'destroy', true, { ...SYSTEM, message: `Billing destroyed VM ${vm.name} of ${user.username}: suspended for lack of credits for too long` });
        destroyed.push(vm.id);
      } catch (err) {
        this.d.log.warn({ err, vmId: vm.id }, 'billing could not destroy a VM (next pass retries)');
      }
    }
    if (destroyed.length === 0) return;
    await this.d.events.record({ type: 'system', severity: 'critical', action: 'billing.vms_destroyed', message: `${destroyed.length} VMs of ${user.username} destroyed after a suspension of ${this.d.policy.destroyAfterHours} hours (balance ${user.credits})`, userId: user.id, username: user.username, details: { vms: destroyed } });
    this.notify({ userId: user.id, topic: 'billing.vms_destroyed', subject: 'Your VMs were destroyed for lack of credits', text: `Your account stayed without credits for ${this.d.policy.destroyAfterHours} hours after your VMs were stopped: ${destroyed.length} VMs were destroyed.`, data: { vms: destroyed } });
  }

  /** Queued, never awaited: a failing or slow notifier never holds up or undoes billing. */
  private notify(n: Notification): void {
    try {
      void this.d.notifier.notify(n).catch((err: unknown) => this.d.log.error({ err, topic: n.topic }, 'billing notification failed'));
    } catch (err) {
      this.d.log.error({ err, topic: n.topic }, 'billing notification failed');
    }
  }
}
