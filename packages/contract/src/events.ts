import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from './common.js';

export const EventTypes = ['auth', 'security', 'vm', 'system', 'terminal', 'admin'] as const;
export type EventType = (typeof EventTypes)[number];
export const Severities = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof Severities)[number];

export const Event = Type.Object(
  {
    id: Type.Integer(),
    type: Type.Union(EventTypes.map((t) => Type.Literal(t))),
    severity: Type.Union(Severities.map((s) => Type.Literal(s))),
    /** Short machine-readable action, e.g. login.failed, token.created */
    action: Type.String(),
    message: Type.String(),
    timestamp: Timestamp,
    user_id: Type.Union([Type.Integer(), Type.Null()]),
    username: Type.Union([Type.String(), Type.Null()]),
    vm_id: Type.Union([Type.Integer(), Type.Null()]),
    source_ip: Type.Union([Type.String(), Type.Null()]),
    details: Type.Record(Type.String(), Type.Unknown()),
    /** How many times it happened: identical security events within a minute share one row. */
    count: Type.Integer({ minimum: 1 }),
    /** When it last happened (the timestamp when count is 1). */
    last_seen: Timestamp,
  },
  { title: 'Event' },
);
export type Event = Static<typeof Event>;
