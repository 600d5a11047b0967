import type { Config } from '../../config/config.js';
import { HOUR_MS } from '../vms/vm-operations.js';

/** The server's low-balance rules (config). */
export interface BalancePolicy {
  /** Descending, distinct, positive. */
  thresholds: number[];
  graceHours: number;
  /** 0: never destroy. */
  destroyAfterHours: number;
}

export function balancePolicy(config: Pick<Config, 'lowBalanceThresholds' | 'billingGraceHours' | 'billingDestroyAfterHours'>): BalancePolicy {
  const thresholds = [...new Set(config.lowBalanceThresholds.split(',').filter((t) => t !== '').map(Number))].filter((t) => t > 0).sort((a, b) => b - a);
  return { thresholds, graceHours: config.billingGraceHours, destroyAfterHours: config.billingDestroyAfterHours };
}

/** The columns the watch keeps on a user. */
export interface BalanceState {
  credits: number;
  /** Whether the user has VMs that bill (not destroyed): with none, nothing is announced or started. */
  has_vms: boolean;
  billing_warned_below: number | null;
  grace_started_at: string | null;
  suspended_at: string | null;
}

export interface Decision {
  /** Columns to write (only those that change). */
  patch: Partial<Omit<BalanceState, 'credits' | 'has_vms'>>;
  /** A threshold crossed downwards: announce it. */
  lowBelow?: number;
  /** Grace began now; the VMs will be stopped at graceEndsAt. */
  graceEndsAt?: string;
  /** Grace ended now: suspend (stop the VMs). */
  suspend?: boolean;
  /** A top-up ended grace or suspension. */
  restoredFrom?: 'grace' | 'suspended';
  /** Suspended (now or before) with the balance still at or below zero: no VM may run. */
  keepStopped: boolean;
  /** Suspended long enough that the VMs are to be destroyed (opt-in). */
  destroy: boolean;
}

export const graceEndsAt = (graceStartedAt: string, p: BalancePolicy) => new Date(Date.parse(graceStartedAt) + p.graceHours * HOUR_MS).toISOString();
export const destroyAt = (suspendedAt: string, p: BalancePolicy) => (p.destroyAfterHours > 0 ? new Date(Date.parse(suspendedAt) + p.destroyAfterHours * HOUR_MS).toISOString() : null);

/**
 * The low-balance sequence as a pure function of the user's columns, the time and the policy:
 * warnings once per threshold crossed (a top-up above a threshold re-arms it), grace at zero,
 * suspension when grace ends, destruction after the longer wait (opt-in), and a top-up above
 * zero ending grace or suspension. Calling it again on its own result changes nothing.
 * A user without VMs is not warned and no grace starts (nothing would be stopped): a sign-up
 * balance of 0 is not an emergency. Their first VM's charge re-evaluates them.
 */
export function decide(s: BalanceState, nowMs: number, p: BalancePolicy): Decision {
  const now = new Date(nowMs).toISOString();
  const balance = Number(s.credits);
  const warned = s.billing_warned_below === null ? null : Number(s.billing_warned_below);
  const d: Decision = { patch: {}, keepStopped: false, destroy: false };

  // The lowest threshold the balance is below (null: above them all).
  const below = p.thresholds.filter((t) => balance < t).pop() ?? null;
  if (below === null) {
    if (warned !== null) d.patch.billing_warned_below = null;
  } else if ((warned === null || below < warned) && s.has_vms) {
    d.patch.billing_warned_below = below;
    // At zero the grace announcement says it all; the warning is only for a positive balance.
    if (balance > 0) d.lowBelow = below;
  } else if (warned !== null && below > warned) {
    d.patch.billing_warned_below = below; // re-armed: the lower thresholds may fire again
  }

  if (balance > 0) {
    if (s.suspended_at !== null || s.grace_started_at !== null) {
      d.patch.grace_started_at = null;
      d.patch.suspended_at = null;
      d.restoredFrom = s.suspended_at !== null ? 'suspended' : 'grace';
    }
    return d;
  }

  let graceStarted = s.grace_started_at;
  if (graceStarted === null && s.suspended_at === null && s.has_vms) {
    graceStarted = now;
    d.patch.grace_started_at = now;
    d.graceEndsAt = graceEndsAt(now, p);
  }
  let suspendedAt = s.suspended_at;
  if (suspendedAt === null && graceStarted !== null && nowMs >= Date.parse(graceEndsAt(graceStarted, p))) {
    suspendedAt = now;
    d.patch.suspended_at = now;
    d.suspend = true;
  }
  if (suspendedAt !== null) {
    d.keepStopped = true;
    const destroyTime = destroyAt(suspendedAt, p);
    d.destroy = destroyTime !== null && nowMs >= Date.parse(destroyTime);
  }
  return d;
}

export const hasChanges = (d: Decision) => Object.keys(d.patch).length > 0;
