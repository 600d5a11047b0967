import type { BillingState, BillingSummary, BillingUsage, LedgerEntry, VmUsage } from '@twarga/contract';
import { formatNumber } from '../../format';

/** "1 hour" / "5 hours" / "1.5 credits". */
const plural = (n: number, one: string, many: string) => `${formatNumber(n)} ${n === 1 ? one : many}`;

/** The burn rate as people say it: "3 credits/hour", "0.5 credits/hour", "nothing". */
export function burnText(perHour: number): string {
  if (perHour <= 0) return 'Nothing';
  const rounded = Math.round(perHour * 100) / 100;
  return `${formatNumber(rounded)} ${rounded === 1 ? 'credit' : 'credits'}/hour`;
}

/**
 * How long the balance lasts at the current burn, in words. Rounded down ("about 41 days" when
 * 41.6 remain): a user planning a top-up is better served early than late.
 */
export function runwayText(s: Pick<BillingSummary, 'balance' | 'burn_rate_hourly' | 'runway_hours'>): string {
  if (s.burn_rate_hourly <= 0 || s.runway_hours === null) return 'Nothing is billing right now: your balance stays as it is.';
  if (s.balance <= 0 || s.runway_hours <= 0) return 'Your balance is used up.';
  const h = s.runway_hours;
  if (h < 1) return 'Covers less than an hour.';
  if (h < 48) return `Covers about ${plural(Math.floor(h), 'hour', 'hours')}.`;
  return `Covers about ${plural(Math.floor(h / 24), 'day', 'days')}.`;
}

export const STATE_LABELS: Record<BillingState, string> = {
  ok: 'In good standing',
  low: 'Low balance',
  grace: 'Grace period',
  suspended: 'Suspended',
};

export const STATE_TONES: Record<BillingState, 'success' | 'warning' | 'error'> = {
  ok: 'success',
  low: 'warning',
  grace: 'error',
  suspended: 'error',
};

/** A calendar month ("2026-11") as words, in UTC like the server's months: "November 2026". */
const monthFmt = new Intl.DateTimeFormat(undefined, { month: 'long', year: 'numeric', timeZone: 'UTC' });
export function monthLabel(month: string): string {
  const [y, m] = month.split('-').map(Number);
  if (!y || !m) return month;
  return monthFmt.format(new Date(Date.UTC(y, m - 1, 1)));
}

/** The current month, UTC ("2026-11"): the server's billing months are UTC months. */
export const currentMonth = (now = new Date()) => now.toISOString().slice(0, 7);

/** The months to offer: every month with ledger rows, and this month even before its first row; newest first. */
export function monthOptions(months: readonly string[], now = currentMonth()): string[] {
  return [...new Set([now, ...months])].sort().reverse();
}

export const MONTH_RE = /^[0-9]{4}-(0[1-9]|1[0-2])$/;

/** What a ledger row is, in the terms of the ledger filter (LedgerQuery.kind). */
export type LedgerKind = 'usage' | 'credit' | 'debit' | 'refund';
export const LEDGER_KINDS: readonly LedgerKind[] = ['usage', 'credit', 'debit', 'refund'];
export const LEDGER_KIND_LABELS: Record<LedgerKind, string> = { usage: 'VM usage', credit: 'Credit', debit: 'Debit', refund: 'Refund' };

/** usage and first_hour rows are charges for a VM; first_hour_refund gives one back; the rest are grants or deductions. */
export function entryKind(e: Pick<LedgerEntry, 'kind' | 'amount'>): LedgerKind {
  if (e.kind === 'first_hour_refund') return 'refund';
  if (e.kind === 'usage' || e.kind === 'first_hour') return 'usage';
  return e.amount >= 0 ? 'credit' : 'debit';
}

/**
 * One VM's line on a statement: hours × price, and what was given back (a refunded first hour)
 * so that the line adds up to the credits actually charged.
 */
export function usageLine(vm: Pick<VmUsage, 'hours' | 'price_hourly' | 'credits'>): { gross: number; adjustment: number } {
  const gross = vm.hours * vm.price_hourly;
  return { gross, adjustment: vm.credits - gross };
}

/**
 * A month's totals as a statement shows them. `other` is whatever moved the balance that is
 * neither usage nor a credit (an administrator's deduction), so the statement always adds up:
 * opening + added − usage + other = closing.
 */
export function statementTotals(u: Pick<BillingUsage, 'opening_balance' | 'closing_balance' | 'credits_added' | 'total_credits'>) {
  const other = u.closing_balance - u.opening_balance - u.credits_added + u.total_credits;
  return { opening: u.opening_balance, added: u.credits_added, usage: u.total_credits, other, closing: u.closing_balance };
}

/** The monthly cap of a VM in credits: the most it can cost in a calendar month. */
export const monthlyCapCredits = (priceHourly: number, capHours: number) => priceHourly * capHours;

/** "672 hours (28 days)": the cap as hours and days. */
export function capText(capHours: number): string {
  const days = capHours / 24;
  return `${plural(capHours, 'hour', 'hours')}${Number.isInteger(days) ? ` (${plural(days, 'day', 'days')})` : ''}`;
}

/** "24 hours" / "2 days" for a grace period or a destroy delay. */
export function hoursText(hours: number): string {
  if (hours >= 48 && hours % 24 === 0) return plural(hours / 24, 'day', 'days');
  return plural(Math.round(hours * 100) / 100, 'hour', 'hours');
}
