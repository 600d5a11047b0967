import type { SocRule } from '@twarga/contract';
import type { FieldValue } from './rule-fields.js';

/** One arrival of a matching event (a folded repeat arrives again: n is its increase). */
export interface Occurrence {
  t: number;
  n: number;
  eventId: number;
  code: string;
  userId: number | null;
  username: string | null;
  vmId: number | null;
  sourceIp: string | null;
  /** value_count: the counted value. */
  value?: FieldValue;
  /** temporal_ordered: the steps this event matches. */
  steps?: number[];
}

/** Per group, at most this many arrivals are kept (the oldest go first). */
export const MAX_OCCURRENCES = 2000;
/** Per rule, at most this many groups are tracked (the least recently active go first). */
export const MAX_GROUPS = 10_000;

/**
 * The sliding windows of one rule: its groups' recent matching arrivals, bounded in both
 * directions (groups per rule, arrivals per group) so a flood of addresses cannot exhaust memory.
 * A Map keeps insertion order: touching a group moves it to the end, so the first is the stalest.
 */
export class RuleWindows {
  private readonly groups = new Map<string, Occurrence[]>();

  constructor(private readonly maxGroups = MAX_GROUPS) {}

  get size(): number {
    return this.groups.size;
  }

  /** Adds an arrival and returns the group's arrivals still within the window (oldest first). */
  add(key: string, o: Occurrence, windowSeconds: number): Occurrence[] {
    let list = this.groups.get(key);
    if (list) this.groups.delete(key);
    else {
      list = [];
      if (this.groups.size >= this.maxGroups) this.groups.delete(this.groups.keys().next().value!);
    }
    this.groups.set(key, list);
    list.push(o);
    const from = o.t - windowSeconds * 1000;
    let drop = 0;
    while (drop < list.length && list[drop]!.t < from) drop++;
    drop = Math.max(drop, list.length - MAX_OCCURRENCES);
    if (drop > 0) list.splice(0, drop);
    return list;
  }

  /** Forgets a group (it fired: its arrivals now belong to an incident). */
  clear(key: string): void {
    this.groups.delete(key);
  }

  /** Drops groups with nothing newer than the window (the periodic sweep). */
  sweep(now: number, windowSeconds: number): void {
    const from = now - windowSeconds * 1000;
    for (const [key, list] of this.groups) if (list.length === 0 || list[list.length - 1]!.t < from) this.groups.delete(key);
  }
}

/** event_count: the occurrences (with their increases) reach the threshold. */
export function eventCountFires(rule: SocRule, list: Occurrence[]): boolean {
  let sum = 0;
  for (const o of list) sum += o.n;
  return sum >= rule.threshold;
}

/** value_count: the distinct values reach the threshold. */
export function valueCountFires(rule: SocRule, list: Occurrence[]): boolean {
  const seen = new Set<FieldValue | undefined>();
  for (const o of list) seen.add(o.value);
  return seen.size >= rule.threshold;
}

/**
 * temporal_ordered: the steps happen in order, each at least min_count times before the next
 * begins. Greedy over arrivals in order (the earliest way to complete each step is never worse).
 * Returns the arrivals that made up the sequence, or undefined when it is not complete.
 */
export function temporalSequence(rule: SocRule, list: Occurrence[]): Occurrence[] | undefined {
  const steps = rule.sequence ?? [];
  if (steps.length === 0) return undefined;
  let step = 0;
  let count = 0;
  const used: Occurrence[] = [];
  for (const o of list) {
    if (!o.steps?.includes(step)) continue;
    used.push(o);
    count += o.n;
    if (count >= (steps[step]!.min_count ?? 1)) {
      step++;
      count = 0;
      if (step === steps.length) return used;
    }
  }
  return undefined;
}
