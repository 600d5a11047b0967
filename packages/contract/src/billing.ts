import { Type, type Static } from '@sinclair/typebox';
import { exportQueryOf, Timestamp } from './common.js';
import { VmStatus } from './vms.js';

/**
 * ok: nothing to announce; low: below a low-balance threshold; grace: the balance reached zero
 * and the grace period runs (VMs keep running until grace_ends_at); suspended: grace ended, the
 * user's VMs were stopped, and new VMs and starts get 402 until a top-up.
 */
export const BillingStates = ['ok', 'low', 'grace', 'suspended'] as const;
export type BillingState = (typeof BillingStates)[number];
export const BillingState = Type.Union(BillingStates.map((s) => Type.Literal(s)));

/** A calendar month, UTC: 2026-11 */
export const Month = Type.String({ pattern: '^[0-9]{4}-(0[1-9]|1[0-2])$' });

/** Balance, burn and runway: the three numbers a user needs to never be surprised. */
export const BillingSummary = Type.Object(
  {
    balance: Type.Integer(),
    /** Credits per hour the user's live VMs cost now (running or stopped: both bill until destroyed; a VM at its monthly cap costs nothing more this month). */
    burn_rate_hourly: Type.Number(),
    /** How many hours the balance covers at that burn; null when nothing burns. */
    runway_hours: Type.Union([Type.Number(), Type.Null()]),
    state: BillingState,
    /** grace: when the grace period ends and the VMs will be stopped. */
    grace_ends_at: Type.Union([Timestamp, Type.Null()]),
    suspended_at: Type.Union([Timestamp, Type.Null()]),
    /** With destroy-after-grace on: when a suspended user's VMs will be destroyed. */
    destroy_at: Type.Union([Timestamp, Type.Null()]),
  },
  { title: 'BillingSummary' },
);
export type BillingSummary = Static<typeof BillingSummary>;

/** One VM's usage in a month. */
export const VmUsage = Type.Object(
  {
    vm_id: Type.Integer(),
    name: Type.String(),
    status: VmStatus,
    price_hourly: Type.Number(),
    /** Hours charged in the month (the first hour included). */
    hours: Type.Integer(),
    /** Credits charged in the month, as a positive number (refunds subtracted). */
    credits: Type.Integer(),
    /** The VM reached the monthly cap: it costs nothing more this month. */
    capped: Type.Boolean(),
    destroyed_at: Type.Union([Timestamp, Type.Null()]),
  },
  { title: 'VmUsage' },
);
export type VmUsage = Static<typeof VmUsage>;

/** GET /api/account/billing/usage?month=YYYY-MM */
export const BillingUsage = Type.Object(
  {
    month: Month,
    vms: Type.Array(VmUsage),
    total_hours: Type.Integer(),
    total_credits: Type.Integer(),
    /** Credits granted or adjusted in the month (positive rows that are not refunds). */
    credits_added: Type.Integer(),
    /** Balance at the start and at the end of the month (now, for the current month). */
    opening_balance: Type.Integer(),
    closing_balance: Type.Integer(),
    /** Every month with ledger rows, newest first (the statement's month picker). */
    months: Type.Array(Month),
  },
  { title: 'BillingUsage' },
);
export type BillingUsage = Static<typeof BillingUsage>;

export const BillingUsageQuery = Type.Object({ month: Type.Optional(Month) }, { additionalProperties: false });
export type BillingUsageQuery = Static<typeof BillingUsageQuery>;

/** GET /api/account/billing */
export const AccountBilling = Type.Composite(
  [
    BillingSummary,
    Type.Object({
      month: Month,
      month_to_date: Type.Object({ hours: Type.Integer(), credits: Type.Integer() }),
      vms: Type.Array(VmUsage),
      /** The server's billing rules, shown to the user as they are. */
      policy: Type.Object({
        /** A VM is charged at most this many hours per calendar month (672 at DigitalOcean). */
        monthly_cap_hours: Type.Integer(),
        low_balance_thresholds: Type.Array(Type.Integer()),
        grace_hours: Type.Number(),
        /** 0: VMs are never destroyed for lack of credits. */
        destroy_after_hours: Type.Number(),
        stopped_vms_bill: Type.Literal(true),
      }),
    }),
  ],
  { title: 'AccountBilling' },
);
export type AccountBilling = Static<typeof AccountBilling>;

/** GET /api/account/ledger: filters and a cursor (X-Next-Cursor header carries the next before_id). */
export const LedgerQuery = Type.Object(
  {
    kind: Type.Optional(Type.Union(['usage', 'credit', 'debit', 'refund'].map((k) => Type.Literal(k)), { description: 'usage: VM charges; credit: grants and top-ups; debit: other deductions; refund: first hours given back' })),
    vm_id: Type.Optional(Type.Integer({ minimum: 1 })),
    month: Type.Optional(Month),
    since: Type.Optional(Timestamp),
    until: Type.Optional(Timestamp),
    q: Type.Optional(Type.String({ maxLength: 100 })),
    before_id: Type.Optional(Type.Integer({ minimum: 1 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 200 })),
  },
  { additionalProperties: false },
);
export type LedgerQuery = Static<typeof LedgerQuery>;

export const LedgerExportQuery = exportQueryOf(LedgerQuery);
export type LedgerExportQuery = Static<typeof LedgerExportQuery>;
