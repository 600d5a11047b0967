import { createHash } from 'node:crypto';
import type { Event, RuleMatch, SocRule } from '@twarga/contract';
import { canonicalAddress } from '../blocks/address.js';

export type FieldValue = string | number | null;

/** Longest value kept for a group or a counted value (details come from guests' logs). */
const MAX_VALUE = 200;

/** Each event's canonical source address, worked out once for all the rules that group by it. */
const canonical = new WeakMap<Event, string>();

function sourceOf(e: Event): string | null {
  if (e.source_ip === null) return null;
  let c = canonical.get(e);
  if (c === undefined) canonical.set(e, (c = canonicalAddress(e.source_ip) ?? e.source_ip.slice(0, 64)));
  return c;
}

/** The value of a rule field (RuleFieldPattern) in an event; null when the event has none. */
export function fieldValue(e: Event, field: string): FieldValue {
  switch (field) {
    case 'source_ip':
      return sourceOf(e);
    case 'vm_id':
      return e.vm_id;
    case 'user_id':
      return e.user_id;
    case 'username':
      return e.username;
    case 'code':
      return e.code;
  }
  if (!field.startsWith('details.')) return null;
  const v = e.details[field.slice('details.'.length)];
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v.slice(0, MAX_VALUE);
  if (typeof v === 'number') return v;
  return JSON.stringify(v).slice(0, MAX_VALUE);
}

/** Every given part of the match holds: one of the codes, and each details key equal to its value. */
export function matches(m: RuleMatch, e: Event): boolean {
  if (!m.codes.includes(e.code)) return false;
  for (const [key, want] of Object.entries(m.details ?? {})) if (e.details[key] !== want) return false;
  return true;
}

export interface Group {
  /** The group-by fields and their values in this event. */
  values: Record<string, FieldValue>;
  /** A short, stable key for the (rule, values) pair: indexes and maps use it. */
  key: string;
}

export function groupOf(rule: Pick<SocRule, 'group_by'>, e: Event): Group {
  const values: Record<string, FieldValue> = {};
  for (const field of rule.group_by) values[field] = fieldValue(e, field);
  const key = createHash('sha256').update(JSON.stringify(rule.group_by.map((f) => [f, values[f]]))).digest('hex');
  return { values, key };
}
