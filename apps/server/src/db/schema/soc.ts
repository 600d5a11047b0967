import type { Generated } from 'kysely';
import type { Flag, Timestamp } from './columns.js';

/** Events and the SOC: rules, incidents, seen values, blocks. */

/** No foreign keys on purpose: events outlive the users and VMs they mention. */
export interface EventsTable {
  id: Generated<number>;
  type: string;
  severity: string;
  action: string;
  message: string;
  timestamp: Timestamp;
  user_id: number | null;
  username: string | null;
  vm_id: number | null;
  source_ip: string | null;
  details: string;
  /** Occurrences folded into this row (migration 008): identical security events within a minute. */
  count: Generated<number>;
  /** When the last of them happened (equals timestamp for a single occurrence). */
  last_seen: Timestamp | null;
  /** Security events: hash of the fields that make two events identical (migration 016; folding's lookup). Null otherwise. */
  fold_key: string | null;
}

/** Migration 014: detection rules (defaults seeded there). match, sequence, group_by, response: JSON. */
export interface SocRulesTable {
  id: string;
  title: string;
  description: string;
  severity: string;
  mitre: string;
  kind: string;
  match: string | null;
  value_field: string | null;
  sequence: string | null;
  group_by: string;
  window_seconds: number;
  threshold: number;
  response: string;
  enabled: Flag;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** Migration 014: one incident per rule and group (group_key, a hash) while open or acknowledged. */
export interface SocIncidentsTable {
  id: Generated<number>;
  rule_id: string;
  title: string;
  severity: string;
  mitre: string;
  status: string;
  group_key: string;
  /** JSON object: the group's field values. */
  group_values: string;
  source_ip: string | null;
  vm_id: number | null;
  user_id: number | null;
  event_count: number;
  first_seen: Timestamp;
  last_seen: Timestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SocIncidentEventsTable {
  incident_id: number;
  event_id: number;
}

export interface SocIncidentHistoryTable {
  id: Generated<number>;
  incident_id: number;
  at: Timestamp;
  action: string;
  actor_user_id: number | null;
  actor_username: string | null;
  comment: string | null;
}

/** Values a new_value rule has seen, per group. */
export interface SocSeenValuesTable {
  rule_id: string;
  group_key: string;
  value: string;
  first_seen: Timestamp;
}

/** Migration 014: address blocks; lifted_at set with lifted_by null means it expired. */
export interface SocBlocksTable {
  id: Generated<number>;
  address: string;
  scope: string;
  vm_id: number | null;
  /** scope vm: the VM's owner. */
  user_id: number | null;
  reason: string;
  incident_id: number | null;
  rule_id: string | null;
  created_by: number | null;
  created_at: Timestamp;
  expires_at: Timestamp | null;
  lifted_at: Timestamp | null;
  lifted_by: number | null;
  offence: number;
}
