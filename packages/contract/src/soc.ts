import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from './common.js';
import { Event, EventTypes, Severities } from './events.js';

/**
 * The SOC: security events (the event log, read through /api/soc/events), detection rules as data,
 * the incidents they open, and address blocks. Users see what concerns their account and VMs;
 * admins see everything.
 */
// T is the element type (not the array), so Static<> keeps the literal union instead of widening to string.
const Literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));
const Nullable = <T extends ReturnType<typeof Type.String> | ReturnType<typeof Type.Integer>>(t: T) => Type.Union([t, Type.Null()]);

// ---------------------------------------------------------------------------------------------
// Events: GET /api/soc/events (an array of Event, newest first; the next page's cursor is in the
// X-Next-Cursor response header and a Link rel="next"), GET /api/soc/events/{id} (SocEventDetail),
// GET /api/soc/events/export?format=csv|json&<same filters> (streamed, every matching row).

export const SocEventQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    /** Opaque: the X-Next-Cursor of the previous page. */
    cursor: Type.Optional(Type.String({ maxLength: 64 })),
    type: Type.Optional(Literals(EventTypes)),
    severity: Type.Optional(Literals(Severities)),
    /** An event code (EventCodes), e.g. ssh.login_failed. */
    code: Type.Optional(Type.String({ pattern: '^[a-z_]+(\\.[a-z_]+)*$', maxLength: 64 })),
    vm_id: Type.Optional(Type.Integer({ minimum: 1 })),
    user_id: Type.Optional(Type.Integer({ minimum: 1 })),
    source_ip: Type.Optional(Type.String({ maxLength: 64 })),
    from: Type.Optional(Timestamp),
    to: Type.Optional(Timestamp),
    /** Full-text search over message, code, user name, address and details (words; all must match). */
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type SocEventQuery = Static<typeof SocEventQuery>;

/** GET /api/soc/events/{id}: the event and recent events related to it (each list newest first, limited). */
export const SocEventDetail = Type.Object(
  {
    event: Event,
    related: Type.Object({
      /** Other events from the same source address. */
      same_source: Type.Array(Event),
      /** Other events about the same VM. */
      same_vm: Type.Array(Event),
      /** Other events of the incidents this event belongs to. */
      same_incident: Type.Array(Event),
    }),
  },
  { title: 'SocEventDetail' },
);
export type SocEventDetail = Static<typeof SocEventDetail>;

export const SocExportFormats = ['csv', 'json'] as const;
export type SocExportFormat = (typeof SocExportFormats)[number];

/** GET /api/soc/statistics (the seed's shape, plus a few breakdowns for the charts). */
export const SocStatistics = Type.Object(
  {
    total_events: Type.Integer(),
    info_count: Type.Integer(),
    warning_count: Type.Integer(),
    critical_count: Type.Integer(),
    by_type: Type.Record(Type.String(), Type.Integer()),
    /** Events per hour over the last 24 h, oldest first: [{hour, info, warning, critical}]. */
    by_hour: Type.Array(Type.Object({ hour: Timestamp, info: Type.Integer(), warning: Type.Integer(), critical: Type.Integer() })),
    /** Source addresses with the most warning/critical events in the last 24 h. */
    top_sources: Type.Array(Type.Object({ source_ip: Type.String(), count: Type.Integer() })),
    open_incidents: Type.Integer(),
    active_blocks: Type.Integer(),
  },
  { title: 'SocStatistics' },
);
export type SocStatistics = Static<typeof SocStatistics>;

// ---------------------------------------------------------------------------------------------
// Rules as data, modelled on Sigma's correlation rules.

/**
 * Sigma's correlation types, plus new_value: fires when value_field takes a value never seen before
 * in the group (e.g. an admin's sign-in from a new address); the group's first value is learned
 * without firing. It needs state that outlives the window, so it is its own kind.
 */
export const RuleKinds = ['event_count', 'value_count', 'temporal_ordered', 'new_value'] as const;
export type RuleKind = (typeof RuleKinds)[number];
/** Fields an event can be grouped by or counted on. `details.<key>` names a key of its details. */
export const RuleFieldPattern = '^(source_ip|vm_id|user_id|username|code|details\\.[a-z_]{1,32})$';
export const BlockScopes = ['vm', 'all_vms', 'control_plane'] as const;
export type BlockScope = (typeof BlockScopes)[number];

/** Which events a rule (or one step of a temporal rule) looks at. Every given part must match. */
export const RuleMatch = Type.Object(
  {
    codes: Type.Array(Type.String({ pattern: '^[a-z_]+(\\.[a-z_]+)*$' }), { minItems: 1, maxItems: 20 }),
    /** details.<key> equal to the value, e.g. {"reason": "admin_only"}. */
    details: Type.Optional(Type.Record(Type.String({ pattern: '^[a-z_]{1,32}$' }), Type.Union([Type.String(), Type.Number(), Type.Boolean()]))),
  },
  { additionalProperties: false },
);
export type RuleMatch = Static<typeof RuleMatch>;

/** What a firing rule does besides opening (or adding to) an incident. */
export const RuleResponse = Type.Object(
  {
    /** Block the group's source address: on the VM it attacked, on every VM, or on the control plane. */
    block: Type.Optional(Type.Object({ scope: Literals(BlockScopes), duration_seconds: Type.Integer({ minimum: 60, maximum: 30 * 86400 }) }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);
export type RuleResponse = Static<typeof RuleResponse>;

export const SocRule = Type.Object(
  {
    /** Stable slug, e.g. ssh_brute_force. */
    id: Type.String(),
    title: Type.String(),
    description: Type.String(),
    severity: Literals(Severities),
    /** MITRE ATT&CK technique, e.g. T1110.001. */
    mitre: Type.String(),
    kind: Literals(RuleKinds),
    /** event_count and value_count: the events counted. */
    match: Type.Optional(RuleMatch),
    /** value_count: the field whose distinct values are counted (e.g. details.user); new_value: the field watched for new values. */
    value_field: Type.Optional(Type.String({ pattern: RuleFieldPattern })),
    /** temporal_ordered: the steps, in order; each needs `min_count` matches (default 1) before the next. */
    sequence: Type.Optional(Type.Array(Type.Object({ match: RuleMatch, min_count: Type.Optional(Type.Integer({ minimum: 1 })) }), { minItems: 2, maxItems: 5 })),
    /** The events of one group share these fields' values (e.g. source_ip, vm_id). */
    group_by: Type.Array(Type.String({ pattern: RuleFieldPattern }), { maxItems: 4 }),
    window_seconds: Type.Integer({ minimum: 1, maximum: 7 * 86400 }),
    /** event_count: events; value_count: distinct values; temporal_ordered and new_value: unused (1). */
    threshold: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    response: RuleResponse,
    enabled: Type.Boolean(),
    updated_at: Timestamp,
  },
  { title: 'SocRule' },
);
export type SocRule = Static<typeof SocRule>;

/** PATCH /api/soc/rules/{id} (admins): enable, disable and tune. */
export const UpdateSocRule = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean()),
    severity: Type.Optional(Literals(Severities)),
    window_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 7 * 86400 })),
    threshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    response: Type.Optional(RuleResponse),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateSocRule = Static<typeof UpdateSocRule>;
export const RuleIdParam = Type.Object({ id: Type.String({ pattern: '^[a-z][a-z0-9_]{1,63}$' }) });
export type RuleIdParam = Static<typeof RuleIdParam>;

// ---------------------------------------------------------------------------------------------
// Incidents: alerts of one rule and one entity (its group) while open.

export const IncidentStatuses = ['open', 'acknowledged', 'resolved', 'false_positive'] as const;
export type IncidentStatus = (typeof IncidentStatuses)[number];

export const IncidentHistoryEntry = Type.Object({
  at: Timestamp,
  /** opened, event (more matching events), acknowledged, resolved, false_positive, reopened, comment, blocked */
  action: Type.String(),
  /** null: the system (the rule engine, an automatic block). */
  actor_user_id: Nullable(Type.Integer()),
  actor_username: Nullable(Type.String()),
  comment: Nullable(Type.String()),
});
export type IncidentHistoryEntry = Static<typeof IncidentHistoryEntry>;

export const SocIncident = Type.Object(
  {
    id: Type.Integer(),
    rule_id: Type.String(),
    title: Type.String(),
    severity: Literals(Severities),
    mitre: Type.String(),
    status: Literals(IncidentStatuses),
    /** The group's values, e.g. {"source_ip": "198.51.100.7", "vm_id": 12}. */
    group: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Null()])),
    source_ip: Nullable(Type.String()),
    vm_id: Nullable(Type.Integer()),
    /** The owner of what was attacked (the VM's owner, the targeted account); null: admins only. */
    user_id: Nullable(Type.Integer()),
    event_count: Type.Integer(),
    first_seen: Timestamp,
    last_seen: Timestamp,
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { title: 'SocIncident' },
);
export type SocIncident = Static<typeof SocIncident>;

export const SocIncidentDetail = Type.Intersect([
  SocIncident,
  Type.Object({ history: Type.Array(IncidentHistoryEntry), event_ids: Type.Array(Type.Integer()) }),
]);
export type SocIncidentDetail = Static<typeof SocIncidentDetail>;

export const IncidentQuery = Type.Object(
  {
    status: Type.Optional(Literals(IncidentStatuses)),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
  },
  { additionalProperties: false },
);
export type IncidentQuery = Static<typeof IncidentQuery>;

/** POST /api/soc/incidents/{id}/actions: change status and/or comment, optionally block its address. */
export const IncidentAction = Type.Object(
  {
    status: Type.Optional(Literals(IncidentStatuses)),
    comment: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type IncidentAction = Static<typeof IncidentAction>;

/** POST /api/soc/incidents/{id}/block: block the incident's source address (scope vm: on the incident's VM). */
export const IncidentBlockRequest = Type.Object(
  {
    scope: Literals(BlockScopes),
    /** Omitted: until lifted. */
    duration_seconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 365 * 86400 })),
    reason: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
export type IncidentBlockRequest = Static<typeof IncidentBlockRequest>;

// ---------------------------------------------------------------------------------------------
// Blocks: a source address refused for a while on one VM's SSH, every VM's SSH, or the control plane.

export const SocBlock = Type.Object(
  {
    id: Type.Integer(),
    address: Type.String(),
    scope: Literals(BlockScopes),
    /** scope vm: the VM. */
    vm_id: Nullable(Type.Integer()),
    reason: Type.String(),
    incident_id: Nullable(Type.Integer()),
    rule_id: Nullable(Type.String()),
    /** null: blocked automatically by a rule. */
    created_by: Nullable(Type.Integer()),
    created_at: Timestamp,
    /** null: until lifted. */
    expires_at: Nullable(Timestamp),
    lifted_at: Nullable(Timestamp),
    lifted_by: Nullable(Type.Integer()),
    /** How many times this address has been blocked in the look-back period (repeat offenders get longer blocks). */
    offence: Type.Integer({ minimum: 1 }),
    active: Type.Boolean(),
  },
  { title: 'SocBlock' },
);
export type SocBlock = Static<typeof SocBlock>;

export const BlockQuery = Type.Object(
  { active: Type.Optional(Type.Boolean()), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })) },
  { additionalProperties: false },
);
export type BlockQuery = Static<typeof BlockQuery>;

/** POST /api/soc/blocks. Users may block addresses on their own VMs (scope vm); other scopes are for admins. */
export const CreateSocBlock = Type.Object(
  {
    address: Type.String({ minLength: 2, maxLength: 64, description: 'An IPv4 or IPv6 address' }),
    scope: Literals(BlockScopes),
    vm_id: Type.Optional(Type.Integer({ minimum: 1 })),
    /** Omitted: until lifted. */
    duration_seconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 365 * 86400 })),
    reason: Type.Optional(Type.String({ maxLength: 500 })),
    incident_id: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);
export type CreateSocBlock = Static<typeof CreateSocBlock>;
