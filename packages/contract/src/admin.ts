import { Type, type Static } from '@sinclair/typebox';
import { User } from './auth.js';
import { LedgerEntry } from './account.js';
import { BillingSummary } from './billing.js';
import { exportQueryOf, Timestamp } from './common.js';
import { Event } from './events.js';
import { Vm, VmHealth, VmStatus } from './vms.js';

/** The seed's admin user fields, plus what an operator needs to find and judge an account. */
export const AdminUser = Type.Composite(
  [
    User,
    Type.Object({
      vm_count: Type.Integer(),
      last_login_at: Type.Union([Timestamp, Type.Null()]),
      /** Set when the account was deleted (its history stays). */
      deleted_at: Type.Union([Timestamp, Type.Null()]),
      billing_state: Type.Union([Type.Literal('ok'), Type.Literal('low'), Type.Literal('grace'), Type.Literal('suspended')]),
    }),
  ],
  { title: 'AdminUser' },
);
export type AdminUser = Static<typeof AdminUser>;

export const AdminUserSorts = ['id', 'username', 'email', 'credits', 'created_at', 'last_login_at', 'vm_count'] as const;

/** GET /api/admin/users: a page of users (X-Total-Count says how many match). */
export const AdminUsersQuery = Type.Object(
  {
    /** Matches username or e-mail (substring, case-insensitive). */
    q: Type.Optional(Type.String({ maxLength: 100 })),
    status: Type.Optional(Type.Union(['active', 'inactive', 'admin', 'deleted', 'all'].map((s) => Type.Literal(s)), { description: 'Default: every user but deleted ones' })),
    sort: Type.Optional(Type.Union(AdminUserSorts.map((s) => Type.Literal(s)))),
    order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
  },
  { additionalProperties: false },
);
export type AdminUsersQuery = Static<typeof AdminUsersQuery>;

export const UpdateUserRequest = Type.Object(
  { is_active: Type.Optional(Type.Boolean()), is_admin: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateUserRequest = Static<typeof UpdateUserRequest>;

const CreditAmount = Type.Integer({ minimum: -1_000_000_000, maximum: 1_000_000_000, not: { const: 0 } });
const Reason = Type.String({ minLength: 1, maxLength: 200 });

export const AdjustCreditsRequest = Type.Object({ amount: CreditAmount, reason: Reason }, { additionalProperties: false });
export type AdjustCreditsRequest = Static<typeof AdjustCreditsRequest>;

export const AdjustCreditsResponse = Type.Object({
  user_id: Type.Integer(),
  new_balance: Type.Integer(),
  adjustment: Type.Integer(),
});
export type AdjustCreditsResponse = Static<typeof AdjustCreditsResponse>;

/**
 * An overridable limit: a number, or null for "the server-wide limit". One `type: [integer, null]`
 * rather than anyOf: the server's validator coerces types, and in an anyOf the integer branch
 * would turn null into 0 (an override of zero) before the null branch is tried.
 */
const Limit = (maximum: number) => Type.Unsafe<number | null>({ type: ['integer', 'null'], minimum: 0, maximum });

/** Limits an admin set for one user; null means the server-wide limit applies. */
export const QuotaOverrides = Type.Object(
  {
    max_vms: Limit(10_000),
    max_ram_mb: Limit(16_777_216),
    max_vcpus: Limit(100_000),
    max_disk_gb: Limit(1_000_000),
  },
  { title: 'QuotaOverrides' },
);
export type QuotaOverrides = Static<typeof QuotaOverrides>;

/** Every override of one user: the VM limits above and the snapshot limit (issue 13). */
export const UserQuotaOverrides = Type.Object({ ...QuotaOverrides.properties, max_snapshots: Limit(10_000) }, { title: 'UserQuotaOverrides' });
export type UserQuotaOverrides = Static<typeof UserQuotaOverrides>;

export const UpdateQuotaRequest = Type.Partial(UserQuotaOverrides, { additionalProperties: false, minProperties: 1 });
export type UpdateQuotaRequest = Static<typeof UpdateQuotaRequest>;

const QuotaValues = Type.Object({ max_vms: Type.Integer(), max_ram_mb: Type.Integer(), max_vcpus: Type.Integer(), max_disk_gb: Type.Integer(), max_snapshots: Type.Integer() });

/** A user's limits: what an admin overrode, what applies, and what the live VMs (and kept snapshots) use of it. */
export const UserQuota = Type.Object(
  {
    overrides: UserQuotaOverrides,
    effective: QuotaValues,
    usage: Type.Object({ vms: Type.Integer(), ram_mb: Type.Integer(), vcpus: Type.Integer(), disk_gb: Type.Integer(), snapshots: Type.Integer() }),
  },
  { title: 'UserQuota' },
);
export type UserQuota = Static<typeof UserQuota>;

/** A VM in the admin's list: every user's, with its owner and host by name. */
export const AdminVm = Type.Composite(
  [Vm, Type.Object({ owner_username: Type.String(), host_name: Type.Union([Type.String(), Type.Null()]) })],
  { title: 'AdminVm' },
);
export type AdminVm = Static<typeof AdminVm>;

/** GET /api/admin/vms: live VMs of every user, filtered (X-Total-Count says how many match). */
export const AdminVmsQuery = Type.Object(
  {
    owner_id: Type.Optional(Type.Integer({ minimum: 1 })),
    host_id: Type.Optional(Type.Integer({ minimum: 1 })),
    status: Type.Optional(VmStatus),
    health: Type.Optional(VmHealth),
    /** Matches the VM's or its owner's name. */
    q: Type.Optional(Type.String({ maxLength: 100 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 200 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
  },
  { additionalProperties: false },
);
export type AdminVmsQuery = Static<typeof AdminVmsQuery>;

export const AdminVmActionRequest = Type.Object(
  {
    action: Type.Union([Type.Literal('stop'), Type.Literal('destroy')]),
    /** stop: power off at once instead of an ACPI shutdown. */
    force: Type.Optional(Type.Boolean()),
    reason: Type.Optional(Reason),
  },
  { additionalProperties: false },
);
export type AdminVmActionRequest = Static<typeof AdminVmActionRequest>;

/** What an emergency stop did: a stop action per running VM, and the VMs it could not stop now. */
export const EmergencyStopResult = Type.Object(
  {
    requested: Type.Array(Type.Object({ vm_id: Type.Integer(), name: Type.String(), user_id: Type.Integer(), action_id: Type.Integer() })),
    skipped: Type.Array(Type.Object({ vm_id: Type.Integer(), name: Type.String(), user_id: Type.Integer(), reason: Type.String() })),
  },
  { title: 'EmergencyStopResult' },
);
export type EmergencyStopResult = Static<typeof EmergencyStopResult>;

/** The phrase an admin types to stop every VM on the service. */
export const EMERGENCY_STOP_ALL_PHRASE = 'STOP ALL VMS';

export const EmergencyStopAllRequest = Type.Object(
  { confirm: Type.String({ description: `Must be exactly "${EMERGENCY_STOP_ALL_PHRASE}"` }), reason: Type.Optional(Reason) },
  { additionalProperties: false },
);
export type EmergencyStopAllRequest = Static<typeof EmergencyStopAllRequest>;

export const EmergencyStopRequest = Type.Object({ reason: Type.Optional(Reason) }, { additionalProperties: false });
export type EmergencyStopRequest = Static<typeof EmergencyStopRequest>;

/** Many users at once, all or nothing: one bad id and nothing changes. */
export const BulkUsersRequest = Type.Object(
  {
    ids: Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1, maxItems: 1000, uniqueItems: true }),
    action: Type.Union([Type.Literal('activate'), Type.Literal('deactivate'), Type.Literal('credit')]),
    /** credit only */
    amount: Type.Optional(CreditAmount),
    /** credit only (required there) */
    reason: Type.Optional(Reason),
  },
  { additionalProperties: false },
);
export type BulkUsersRequest = Static<typeof BulkUsersRequest>;

export const BulkUsersResponse = Type.Object(
  { action: Type.String(), users: Type.Array(AdminUser) },
  { title: 'BulkUsersResponse' },
);
export type BulkUsersResponse = Static<typeof BulkUsersResponse>;

/** DELETE /api/admin/users/{id}: the account is closed, its VMs are being destroyed, history stays. */
export const DeletedUser = Type.Object(
  { user_id: Type.Integer(), deleted_at: Timestamp, destroying: Type.Array(Type.Object({ vm_id: Type.Integer(), name: Type.String(), action_id: Type.Integer() })) },
  { title: 'DeletedUser' },
);
export type DeletedUser = Static<typeof DeletedUser>;

/** Everything an admin looks at for one user. */
export const AdminUserDetail = Type.Object(
  {
    user: AdminUser,
    vms: Type.Array(AdminVm),
    /** The newest ledger rows (the full ledger: GET /api/admin/users/{id}/ledger). */
    ledger: Type.Array(LedgerEntry),
    /** The newest events about the user. */
    events: Type.Array(Event),
    quota: UserQuota,
    billing: BillingSummary,
  },
  { title: 'AdminUserDetail' },
);
export type AdminUserDetail = Static<typeof AdminUserDetail>;

export const ComponentStatus = Type.Union([Type.Literal('healthy'), Type.Literal('degraded'), Type.Literal('failed')]);
export type ComponentStatus = Static<typeof ComponentStatus>;

/** One thing the service depends on, judged healthy, degraded (works, act soon) or failed. */
export const HealthComponent = Type.Object(
  {
    /** e.g. database, data_dir, host:local, job:metering, syslog_receiver, server */
    name: Type.String(),
    kind: Type.Union(['database', 'disk', 'host', 'job', 'syslog', 'server', 'instant'].map((k) => Type.Literal(k))),
    status: ComponentStatus,
    detail: Type.String(),
    /** jobs: when the job last finished a pass, and how often it should */
    last_run_at: Type.Optional(Type.Union([Timestamp, Type.Null()])),
    interval_seconds: Type.Optional(Type.Number()),
    /** Free-form facts (host driver and version, capacity, free bytes…). */
    facts: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { title: 'HealthComponent' },
);
export type HealthComponent = Static<typeof HealthComponent>;

export const AdminHealth = Type.Object(
  {
    /** The worst component's status. */
    status: ComponentStatus,
    checked_at: Timestamp,
    version: Type.String(),
    uptime_seconds: Type.Number(),
    components: Type.Array(HealthComponent),
  },
  { title: 'AdminHealth' },
);
export type AdminHealth = Static<typeof AdminHealth>;

export const AdminStatistics = Type.Object(
  {
    users: Type.Object({ total: Type.Integer(), active: Type.Integer(), admins: Type.Integer(), deleted: Type.Integer(), in_grace: Type.Integer(), suspended: Type.Integer() }),
    vms: Type.Object({
      total: Type.Integer(),
      by_status: Type.Record(Type.String(), Type.Integer()),
      /** Running VMs by health (booting, responsive, unresponsive), as the VM view derives it. */
      by_health: Type.Record(Type.String(), Type.Integer()),
    }),
    credits: Type.Object({
      /** Sum of all users' balances. */
      outstanding: Type.Integer(),
      /** Hourly burn of every live VM together. */
      burn_rate_hourly: Type.Number(),
      /** Usage charged this calendar month (UTC), as a positive number. */
      charged_this_month: Type.Integer(),
      /** Credits admins (and sign-ups) granted this month. */
      granted_this_month: Type.Integer(),
    }),
    events_24h: Type.Object({ info: Type.Integer(), warning: Type.Integer(), critical: Type.Integer() }),
    health: AdminHealth,
  },
  { title: 'AdminStatistics' },
);
export type AdminStatistics = Static<typeof AdminStatistics>;

export const AuditOutcome = Type.Union([Type.Literal('succeeded'), Type.Literal('failed')]);

/** One admin action: who, what, on what, the state before and after, from where, and how it ended. */
export const AuditEntry = Type.Object(
  {
    id: Type.Integer(),
    created_at: Timestamp,
    actor_id: Type.Union([Type.Integer(), Type.Null()]),
    actor_username: Type.Union([Type.String(), Type.Null()]),
    /** A stable code, e.g. user.credits_adjusted, vm.emergency_stop, users.bulk_credit. */
    action: Type.String(),
    method: Type.String(),
    path: Type.String(),
    target_type: Type.Union([Type.String(), Type.Null()]),
    target_id: Type.Union([Type.String(), Type.Null()]),
    target_label: Type.Union([Type.String(), Type.Null()]),
    before: Type.Union([Type.Unknown(), Type.Null()]),
    after: Type.Union([Type.Unknown(), Type.Null()]),
    details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
    outcome: AuditOutcome,
    status_code: Type.Integer(),
    source_ip: Type.Union([Type.String(), Type.Null()]),
    request_id: Type.Union([Type.String(), Type.Null()]),
  },
  { title: 'AuditEntry' },
);
export type AuditEntry = Static<typeof AuditEntry>;

export const AuditQuery = Type.Object(
  {
    actor_id: Type.Optional(Type.Integer({ minimum: 1 })),
    action: Type.Optional(Type.String({ maxLength: 64 })),
    target_type: Type.Optional(Type.String({ maxLength: 32 })),
    target_id: Type.Optional(Type.String({ maxLength: 64 })),
    outcome: Type.Optional(AuditOutcome),
    since: Type.Optional(Timestamp),
    until: Type.Optional(Timestamp),
    /** Substring of the action, target label, path or actor. */
    q: Type.Optional(Type.String({ maxLength: 100 })),
    /** Cursor: entries older than this id (next_cursor of the previous page). */
    before_id: Type.Optional(Type.Integer({ minimum: 1 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
  },
  { additionalProperties: false },
);
export type AuditQuery = Static<typeof AuditQuery>;

export const AuditPage = Type.Object(
  { entries: Type.Array(AuditEntry), next_cursor: Type.Union([Type.Integer(), Type.Null()]) },
  { title: 'AuditPage' },
);
export type AuditPage = Static<typeof AuditPage>;

/** GET /api/admin/audit/export?format=csv|json&<the same filters>: every matching entry, oldest first. */
export const AuditExportQuery = exportQueryOf(AuditQuery);
export type AuditExportQuery = Static<typeof AuditExportQuery>;
