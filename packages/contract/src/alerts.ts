import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from './common.js';

/**
 * Alert policies in DigitalOcean's shape (metric, compare, value, window, entities, enabled),
 * for the user's own VMs or (admins) the host.
 */
export const AlertEntities = ['vm', 'host'] as const;
export type AlertEntity = (typeof AlertEntities)[number];

/** Metrics a policy can watch. Percentages are 0–100; rates are bytes per second. */
export const VmAlertMetrics = [
  'cpu_percent', 'memory_percent', 'fs_percent', 'disk_read_bps', 'disk_write_bps', 'net_rx_bps', 'net_tx_bps',
] as const;
export const HostAlertMetrics = [
  'cpu_percent', 'memory_percent', 'swap_percent', 'fs_percent', 'load1', 'disk_read_bps', 'disk_write_bps', 'net_rx_bps', 'net_tx_bps',
] as const;
export type VmAlertMetric = (typeof VmAlertMetrics)[number];
export type HostAlertMetric = (typeof HostAlertMetrics)[number];

export const AlertCompares = ['GreaterThan', 'LessThan'] as const;
export type AlertCompare = (typeof AlertCompares)[number];
export const AlertWindows = ['5m', '10m', '30m', '1h'] as const;
export type AlertWindow = (typeof AlertWindows)[number];

const Literals = <T extends readonly string[]>(values: T) => Type.Union(values.map((v) => Type.Literal(v)));

export const AlertPolicy = Type.Object(
  {
    id: Type.Integer(),
    /** null: a system policy (the default host policies), managed by admins. */
    user_id: Type.Union([Type.Integer(), Type.Null()]),
    entity: Literals(AlertEntities),
    metric: Type.String({ description: 'one of VmAlertMetrics or HostAlertMetrics, by entity' }),
    compare: Literals(AlertCompares),
    value: Type.Number(),
    window: Literals(AlertWindows),
    /** For entity vm: the watched VMs; empty = all of the owner's VMs, present and future. */
    vm_ids: Type.Array(Type.Integer()),
    /** Notification channels of the owner; empty = every enabled channel of the owner (admins' for system policies). */
    channel_ids: Type.Array(Type.Integer()),
    description: Type.String(),
    enabled: Type.Boolean(),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { title: 'AlertPolicy' },
);
export type AlertPolicy = Static<typeof AlertPolicy>;

export const CreateAlertPolicyRequest = Type.Object(
  {
    entity: Literals(AlertEntities),
    metric: Type.String(),
    compare: Literals(AlertCompares),
    value: Type.Number(),
    window: Type.Optional(Literals(AlertWindows)),
    vm_ids: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { maxItems: 100 })),
    channel_ids: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { maxItems: 20 })),
    description: Type.Optional(Type.String({ maxLength: 200 })),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type CreateAlertPolicyRequest = Static<typeof CreateAlertPolicyRequest>;

export const UpdateAlertPolicyRequest = Type.Partial(Type.Omit(CreateAlertPolicyRequest, ['entity']), { additionalProperties: false });
export type UpdateAlertPolicyRequest = Static<typeof UpdateAlertPolicyRequest>;

export const AlertStates = ['open', 'resolved'] as const;
export type AlertState = (typeof AlertStates)[number];

/** One firing of a policy on one entity (or a health condition, policy_id null): opens once, resolves once. */
export const Alert = Type.Object(
  {
    id: Type.Integer(),
    policy_id: Type.Union([Type.Integer(), Type.Null()]),
    /** The owner the alert is for; null for host alerts (admins). */
    user_id: Type.Union([Type.Integer(), Type.Null()]),
    entity: Literals(AlertEntities),
    vm_id: Type.Union([Type.Integer(), Type.Null()]),
    /** A policy metric, or a health condition such as 'unresponsive'. */
    metric: Type.String(),
    compare: Type.Union([Literals(AlertCompares), Type.Null()]),
    threshold: Type.Union([Type.Number(), Type.Null()]),
    /** The window average that opened it. */
    value: Type.Union([Type.Number(), Type.Null()]),
    /** The latest window average while open; the one that resolved it after. */
    last_value: Type.Union([Type.Number(), Type.Null()]),
    state: Literals(AlertStates),
    message: Type.String(),
    opened_at: Timestamp,
    resolved_at: Type.Union([Timestamp, Type.Null()]),
  },
  { title: 'Alert' },
);
export type Alert = Static<typeof Alert>;

export const AlertsQuery = Type.Object({
  state: Type.Optional(Type.Union([Literals(AlertStates), Type.Literal('all')])),
  vm_id: Type.Optional(Type.Integer({ minimum: 1 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
});
export type AlertsQuery = Static<typeof AlertsQuery>;

/** Pushed on the events channel when an alert opens or resolves (to its owner; host alerts to admins). */
export type AlertStreamEvent = { kind: 'alert'; alert: Alert };
