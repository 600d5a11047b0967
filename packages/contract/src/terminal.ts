import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from './common.js';
import { TERMINAL_END_REASONS, TERMINAL_KINDS } from './terminal-protocol.js';

export const TerminalKindSchema = Type.Union(TERMINAL_KINDS.map((k) => Type.Literal(k)));
export const TerminalEndReasonSchema = Type.Union(TERMINAL_END_REASONS.map((r) => Type.Literal(r)));

export const StartTerminalRequest = Type.Object(
  {
    kind: Type.Optional(TerminalKindSchema),
    cols: Type.Optional(Type.Integer({ minimum: 10, maximum: 500 })),
    rows: Type.Optional(Type.Integer({ minimum: 4, maximum: 200 })),
  },
  { additionalProperties: false, title: 'StartTerminalRequest' },
);
export type StartTerminalRequest = Static<typeof StartTerminalRequest>;

/** A single-use ticket: open the websocket at websocket_path and send it in the first message. */
export const TerminalTicket = Type.Object(
  {
    ticket: Type.String(),
    expires_at: Timestamp,
    websocket_path: Type.String(),
    protocol: Type.String(),
    vm_id: Type.Integer(),
    kind: TerminalKindSchema,
  },
  { title: 'TerminalTicket' },
);
export type TerminalTicket = Static<typeof TerminalTicket>;

export const TerminalSession = Type.Object(
  {
    id: Type.Integer(),
    vm_id: Type.Integer(),
    vm_name: Type.Union([Type.String(), Type.Null()]),
    user_id: Type.Integer(),
    username: Type.Union([Type.String(), Type.Null()]),
    kind: TerminalKindSchema,
    active: Type.Boolean(),
    started_at: Timestamp,
    ended_at: Type.Union([Timestamp, Type.Null()]),
    end_reason: Type.Union([TerminalEndReasonSchema, Type.Null()]),
    source_ip: Type.Union([Type.String(), Type.Null()]),
    cols: Type.Integer(),
    rows: Type.Integer(),
    bytes_in: Type.Integer(),
    bytes_out: Type.Integer(),
    /** When the session ends by itself if nothing is typed or printed. */
    idle_timeout_seconds: Type.Integer(),
    max_duration_seconds: Type.Integer(),
    recording: Type.Object({
      available: Type.Boolean(),
      bytes: Type.Integer(),
      truncated: Type.Boolean(),
    }),
  },
  { title: 'TerminalSession' },
);
export type TerminalSession = Static<typeof TerminalSession>;

export const VmTerminalSessions = Type.Object(
  {
    vm_id: Type.Integer(),
    active: Type.Array(TerminalSession),
    /** Ended sessions, newest first (at most 50). */
    recent: Type.Array(TerminalSession),
  },
  { title: 'VmTerminalSessions' },
);
export type VmTerminalSessions = Static<typeof VmTerminalSessions>;

export const EndedSessions = Type.Object({ ended: Type.Integer() }, { title: 'EndedSessions' });
export type EndedSessions = Static<typeof EndedSessions>;
