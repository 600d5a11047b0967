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

/** A FIFO queue with O(1) push, shift and indexed access (an array and a moving head, compacted now and then). */
class Queue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(x: T): void {
    this.items.push(x);
  }

  at(i: number): T {
    return this.items[this.head + i] as T;
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head];
    this.items[this.head++] = undefined;
    // Compacting when the dead head is over half the array keeps every operation amortized O(1).
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }

  toArray(): T[] {
    return this.items.slice(this.head) as T[];
  }

  /** The first index in [from, length) whose item satisfies `ok`, for a predicate that is monotonic (false…false, true…true). */
  firstWhere(from: number, ok: (x: T) => boolean): number {
    let lo = from;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ok(this.at(mid))) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/** An arrival in one temporal step's queue: its place in the group's arrival order and the step's running total up to it. */
interface StepEntry {
  o: Occurrence;
  seq: number;
  total: number;
}

/**
 * One group's sliding window, kept incrementally so that each arrival costs O(1) amortized
 * (temporal_ordered: O(steps × log n)) however long an attack goes on:
 * - `sum`: the increases of the arrivals inside the window (event_count);
 * - `distinct`: how many different values they hold (value_count: arrivals per value);
 * - per temporal step, the arrivals matching it with running totals, so "the steps in order,
 *   each its min_count" is a few binary searches (`sequence`).
 * Arrivals leave from the front only (older than the window, or beyond MAX_OCCURRENCES), and
 * each leaving one is taken off every running figure.
 */
export class GroupWindow {
  private readonly arrivals = new Queue<Occurrence>();
  /** Made on first use (most groups of a flood of addresses are one or two arrivals of one kind of rule). */
  private values?: Map<FieldValue | undefined, number>;
  private steps?: Queue<StepEntry>[];
  private stepTotals?: number[];
  private seq = 0;
  sum = 0;

  get length(): number {
    return this.arrivals.length;
  }

  get distinct(): number {
    return this.values?.size ?? 0;
  }

  /** The newest arrival's time (the sweep). */
  get lastT(): number {
    return this.arrivals.length === 0 ? -Infinity : this.arrivals.at(this.arrivals.length - 1).t;
  }

  add(o: Occurrence, windowSeconds: number): void {
    this.arrivals.push(o);
    this.sum += o.n;
    if (o.value !== undefined) {
      this.values ??= new Map();
      this.values.set(o.value, (this.values.get(o.value) ?? 0) + 1);
    }
    const seq = this.seq++;
    if (o.steps && o.steps.length > 0) {
      const steps = (this.steps ??= []);
      const totals = (this.stepTotals ??= []);
      for (const s of o.steps) {
        totals[s] = (totals[s] ?? 0) + o.n;
        (steps[s] ??= new Queue<StepEntry>()).push({ o, seq, total: totals[s] });
      }
    }
    // Like a list scanned from the front: arrivals leave in arrival order, up to the first one inside the window.
    const from = o.t - windowSeconds * 1000;
    while (this.arrivals.length > 0 && (this.arrivals.at(0).t < from || this.arrivals.length > MAX_OCCURRENCES)) this.dropFirst();
  }

  /** The arrivals inside the window, oldest first (what an incident is opened with). */
  occurrences(): Occurrence[] {
    return this.arrivals.toArray();
  }

  /**
   * temporal_ordered: the arrivals that make up the rule's steps in order (each step at least
   * min_count, counted from the arrival after the one that completed the step before), or
   * undefined when the sequence is not complete. The same result as temporalSequence() over
   * the window's arrivals: each step completes at the earliest arrival that can complete it.
   */
  sequence(rule: Pick<SocRule, 'sequence'>): Occurrence[] | undefined {
    const steps = rule.sequence ?? [];
    if (steps.length === 0) return undefined;
    let after = -1;
    const spans: [Queue<StepEntry>, number, number][] = [];
    for (let s = 0; s < steps.length; s++) {
      const q = this.steps?.[s];
      if (!q) return undefined;
      const i = q.firstWhere(0, (x) => x.seq > after);
      if (i === q.length) return undefined;
      const first = q.at(i);
      const need = first.total - first.o.n + (steps[s]!.min_count ?? 1);
      const j = q.firstWhere(i, (x) => x.total >= need);
      if (j === q.length) return undefined;
      spans.push([q, i, j]);
      after = q.at(j).seq;
    }
    const used: Occurrence[] = [];
    for (const [q, i, j] of spans) for (let k = i; k <= j; k++) used.push(q.at(k).o);
    return used;
  }

  private dropFirst(): void {
    const o = this.arrivals.shift()!;
    this.sum -= o.n;
    if (o.value !== undefined && this.values) {
      const left = this.values.get(o.value)! - 1;
      if (left > 0) this.values.set(o.value, left);
      else this.values.delete(o.value);
    }
    // The oldest arrival is at the front of every step queue it is in.
    for (const s of o.steps ?? []) this.steps![s]!.shift();
  }
}

/**
 * The sliding windows of one rule: its groups' recent matching arrivals, bounded in both
 * directions (groups per rule, arrivals per group) so a flood of addresses cannot exhaust memory.
 * A Map keeps insertion order: touching a group moves it to the end, so the first is the stalest.
 */
export class RuleWindows {
  private readonly groups = new Map<string, GroupWindow>();

  constructor(private readonly maxGroups = MAX_GROUPS) {}

  get size(): number {
    return this.groups.size;
  }

  /** Adds an arrival to its group's window (arrivals older than the window leave) and returns the window. */
  add(key: string, o: Occurrence, windowSeconds: number): GroupWindow {
    let w = this.groups.get(key);
    if (w) this.groups.delete(key);
    else {
      w = new GroupWindow();
      if (this.groups.size >= this.maxGroups) this.groups.delete(this.groups.keys().next().value!);
    }
    this.groups.set(key, w);
    w.add(o, windowSeconds);
    return w;
  }

  /** Forgets a group (it fired: its arrivals now belong to an incident). */
  clear(key: string): void {
    this.groups.delete(key);
  }

  /** Drops groups with nothing newer than the window (the periodic sweep). */
  sweep(now: number, windowSeconds: number): void {
    const from = now - windowSeconds * 1000;
    for (const [key, w] of this.groups) if (w.length === 0 || w.lastT < from) this.groups.delete(key);
  }
}

/** event_count: the arrivals (with their increases) reach the threshold. */
export function eventCountFires(rule: Pick<SocRule, 'threshold'>, w: GroupWindow): boolean {
  return w.sum >= rule.threshold;
}

/** value_count: the distinct values reach the threshold. */
export function valueCountFires(rule: Pick<SocRule, 'threshold'>, w: GroupWindow): boolean {
  return w.distinct >= rule.threshold;
}

/**
 * temporal_ordered over a plain list of arrivals (the reference the incremental
 * GroupWindow.sequence is tested against): the steps happen in order, each at least min_count
 * times before the next begins. Greedy over arrivals in order (the earliest way to complete each
 * step is never worse). Returns the arrivals that made up the sequence, or undefined.
 */
export function temporalSequence(rule: Pick<SocRule, 'sequence'>, list: Occurrence[]): Occurrence[] | undefined {
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
