import { HOUR_MS } from '../vms/vm-operations.js';

/**
 * The pure arithmetic of a metering pass: which hours of a VM began, how they split into
 * calendar months (UTC), and how many of them the monthly cap still lets us charge.
 */

/** A calendar month, UTC, as YYYY-MM (the key of the monthly cap and of statements). */
export const monthOf = (ms: number): string => new Date(ms).toISOString().slice(0, 7);

/** First instant of the month (UTC) and of the next one, in ms. */
export function monthBounds(month: string): { start: number; end: number } {
  const [y, m] = month.split('-').map(Number);
  return { start: Date.UTC(y!, m! - 1, 1), end: Date.UTC(y!, m!, 1) };
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

/** One ledger row to write: `hours` charged hours starting at `period` (all in one month). */
export interface UsageRow {
  period: string;
  hours: number;
  month: string;
}

export interface VmPlan {
  /** The new paid-up mark: every begun hour, charged or capped. */
  next: string;
  rows: UsageRow[];
  /** Months in which this pass brings the VM to the cap (each announced once). */
  capReached: string[];
  /** Hours advanced but not charged because of the cap. */
  cappedHours: number;
}

/**
 * Plans one VM's charge: `hours` begun hours from paidUntil, split by the month each hour
 * begins in; in each month at most `cap` hours are charged in total (`charged` holds what the
 * month already has, and is updated). Undefined when no hour began.
 */
export function planVm(paidUntil: number, hours: number, charged: Map<string, number>, cap: number): VmPlan | undefined {
  if (hours <= 0) return undefined;
  const plan: VmPlan = { next: new Date(paidUntil + hours * HOUR_MS).toISOString(), rows: [], capReached: [], cappedHours: 0 };
  let t = paidUntil;
  let left = hours;
  while (left > 0) {
    const month = monthOf(t);
    // Hours that begin before the month ends (paidUntil need not sit on a whole hour).
    const inMonth = Math.min(left, Math.ceil((monthBounds(month).end - t) / HOUR_MS));
    const already = charged.get(month) ?? 0;
    const charge = Math.max(0, Math.min(inMonth, cap - already));
    if (charge > 0) plan.rows.push({ period: new Date(t).toISOString(), hours: charge, month });
    if (already < cap && already + charge >= cap) plan.capReached.push(month);
    plan.cappedHours += inMonth - charge;
    charged.set(month, already + charge);
    t += inMonth * HOUR_MS;
    left -= inMonth;
  }
  return plan;
}

/**
 * Whether the cap can matter for a VM in this pass: in the months it touches it cannot have been
 * charged more hours than have begun since the month (or the VM) started, plus its first hour.
 * When that bound stays under the cap, the pass skips the per-VM ledger lookup.
 */
export function capMayApply(fromMs: number, createdMs: number, untilMs: number, cap: number): boolean {
  const monthStart = monthBounds(monthOf(fromMs)).start;
  const since = Math.max(monthStart, Math.min(createdMs, fromMs) - HOUR_MS);
  return Math.ceil((untilMs - since) / HOUR_MS) + 1 >= cap;
}

/**
 * Hours a VM was charged in the month its paid-up mark `fromMs` is in, without reading that
 * month's rows. Its hourly timeline is contiguous from its first usage hour (firstUsageMs) to
 * fromMs, and every hour of it was charged unless the cap stopped it; its first hour (charged
 * at admission, firstHourMs) counts in the month it was charged. So it is the cap, or the hours
 * of the timeline that began in the month plus that first hour, whichever is less.
 */
export function chargedInMonth(fromMs: number, firstUsageMs: number | null, firstHourMs: number | null, cap: number): number {
  const month = monthOf(fromMs);
  const { start } = monthBounds(month);
  let hours = firstHourMs !== null && monthOf(firstHourMs) === month ? 1 : 0;
  if (firstUsageMs !== null && fromMs > firstUsageMs) {
    const lo = Math.max(start, firstUsageMs);
    hours += Math.max(0, Math.round((fromMs - firstUsageMs) / HOUR_MS) - Math.ceil((lo - firstUsageMs) / HOUR_MS));
  }
  return Math.min(cap, hours);
}
