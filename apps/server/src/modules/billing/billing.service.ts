import type { AccountBilling, BillingSummary, BillingUsage, VmStatus, VmUsage } from '@twarga/contract';
import { notFound } from '../../http/errors.js';
import type { Clock } from '../../lib/time.js';
import { destroyAt, graceEndsAt, type BalancePolicy } from './balance-rules.js';
import { billingStateOf } from './billing-state.js';
import type { BilledVmInfo, BillingRepository, VmMonthUsage } from './billing.repository.js';
import { monthBounds, monthOf } from './metering-plan.js';

/** The billing page's figures: balance, burn and runway, usage per VM and month, the policy. */
export class BillingService {
  constructor(
    private readonly d: {
      repo: BillingRepository;
      clock: Clock;
      policy: BalancePolicy;
      monthlyCapHours: number;
      /** Credits per hour the user's snapshots cost (storage is charged per day; this is its hourly share). */
      storageRate: (userId: number) => Promise<number>;
    },
  ) {}

  /** Balance, burn rate, runway and the low-balance state of a user (the admin's user detail uses it too). */
  async summary(userId: number): Promise<BillingSummary> {
    return (await this.current(userId)).summary;
  }

  /** GET /api/account/billing */
  async account(userId: number): Promise<AccountBilling> {
    const { summary, month, vms } = await this.current(userId);
    const { policy } = this.d;
    return {
      ...summary,
      month,
      month_to_date: { hours: sum(vms, 'hours'), credits: sum(vms, 'credits') },
      vms,
      policy: { monthly_cap_hours: this.d.monthlyCapHours, low_balance_thresholds: policy.thresholds, grace_hours: policy.graceHours, destroy_after_hours: policy.destroyAfterHours, stopped_vms_bill: true },
    };
  }

  /** Credits per hour the user's live VMs (those at the monthly cap cost nothing more) and snapshots cost now. */
  async burnRate(userId: number): Promise<number> {
    const now = this.d.clock.now().getTime();
    const month = monthOf(now);
    const { start, end } = monthBounds(month);
    const usage = await this.d.repo.monthUsage(userId, iso(start), iso(end));
    const live = await this.d.repo.liveVms(userId);
    return withStorage(burn(live, usage, this.d.monthlyCapHours), await this.d.storageRate(userId));
  }

  /** GET /api/account/billing/usage?month=YYYY-MM: one month's statement (default: this month). */
  async usage(userId: number, month?: string): Promise<BillingUsage> {
    const now = this.d.clock.now().getTime();
    const current = monthOf(now);
    const m = month ?? current;
    const { start, end } = monthBounds(m);
    const usage = await this.d.repo.monthUsage(userId, iso(start), iso(end));
    const vms = await this.vmUsage(userId, usage, m === current);
    // The current month closes now; a future one opens and closes at today's balance.
    const [opening, closing, added, months] = await Promise.all([
      this.d.repo.balanceBefore(userId, iso(Math.min(start, now + 1))),
      this.d.repo.balanceBefore(userId, iso(Math.min(end, now + 1))),
      this.d.repo.creditsAdded(userId, iso(start), iso(end)),
      this.d.repo.months(userId),
    ]);
    return {
      month: m,
      vms,
      total_hours: sum(vms, 'hours'),
      total_credits: sum(vms, 'credits'),
      credits_added: added,
      opening_balance: opening,
      closing_balance: closing,
      months: months.includes(current) ? months : [current, ...months],
    };
  }

  private async current(userId: number): Promise<{ summary: BillingSummary; month: string; vms: VmUsage[] }> {
    const user = await this.d.repo.state(userId);
    if (!user) throw notFound('User');
    const now = this.d.clock.now().getTime();
    const month = monthOf(now);
    const { start, end } = monthBounds(month);
    const usage = await this.d.repo.monthUsage(userId, iso(start), iso(end));
    const live = await this.d.repo.liveVms(userId);
    const rate = withStorage(burn(live, usage, this.d.monthlyCapHours), await this.d.storageRate(userId));
    const { policy } = this.d;
    const summary: BillingSummary = {
      balance: user.credits,
      burn_rate_hourly: rate,
      runway_hours: rate > 0 ? Math.floor((Math.max(0, user.credits) / rate) * 10) / 10 : null,
      state: billingStateOf(user),
      grace_ends_at: user.grace_started_at && !user.suspended_at ? graceEndsAt(user.grace_started_at, policy) : null,
      suspended_at: user.suspended_at,
      destroy_at: user.suspended_at ? destroyAt(user.suspended_at, policy) : null,
    };
    return { summary, month, vms: await this.vmUsage(userId, usage, true, live) };
  }

  /** The month's VMs with their hours and credits; the current month also lists live VMs not charged yet. */
  private async vmUsage(userId: number, usage: VmMonthUsage[], includeLive: boolean, live?: BilledVmInfo[]): Promise<VmUsage[]> {
    const byVm = new Map(usage.map((u) => [u.vm_id, u]));
    const liveVms = includeLive ? (live ?? (await this.d.repo.liveVms(userId))) : [];
    const ids = [...new Set([...byVm.keys(), ...liveVms.map((v) => v.id)])];
    const info = await this.d.repo.vmsOf(userId, ids);
    return info.map((vm) => {
      const u = byVm.get(vm.id);
      const hours = u?.hours ?? 0;
      return { vm_id: vm.id, name: vm.name, status: vm.status as VmStatus, price_hourly: vm.price_hourly, hours, credits: u?.credits ?? 0, capped: hours >= this.d.monthlyCapHours, destroyed_at: vm.destroyed_at };
    });
  }
}

function burn(live: BilledVmInfo[], usage: VmMonthUsage[], cap: number): number {
  const hours = new Map(usage.map((u) => [u.vm_id, u.hours]));
  return live.filter((vm) => (hours.get(vm.id) ?? 0) < cap).reduce((total, vm) => total + vm.price_hourly, 0);
}

/** VMs' hourly prices plus snapshot storage's hourly share, to the hundredth of a credit. */
const withStorage = (vms: number, storage: number) => Math.round((vms + storage) * 100) / 100;

const iso = (ms: number) => new Date(ms).toISOString();
const sum = <K extends 'hours' | 'credits'>(vms: VmUsage[], key: K) => vms.reduce((t, v) => t + v[key], 0);
