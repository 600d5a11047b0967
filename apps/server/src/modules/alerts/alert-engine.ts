import type { FastifyBaseLogger } from 'fastify';
import type { AlertPolicy, StreamEvent } from '@twarga/contract';
import type { Clock } from '../../lib/time.js';
import { ADMINS_ONLY, type BusMessage, type LiveBus } from '../../operations/live-bus.js';
import type { EventLog } from '../events/event-log.js';
import { formatValue, hostAlertValues, MAX_WINDOW_SECONDS, metricLabel, round, vmAlertValues, windowSeconds } from './alert-metrics.js';
import { AlertNotices, type NoticeTarget } from './alert-notices.js';
import { publicAlert, type AlertsRepository, type StoredAlert } from './alerts.repository.js';
import type { Notifier } from './notifier.js';
import { RollingWindow } from './rolling-window.js';

/** VM states in which no samples come: their policy alerts resolve (nothing is measured any more). */
const NOT_SAMPLED = new Set(['paused', 'stopping', 'stopped', 'destroying', 'destroyed', 'error']);

export interface AlertEngineDeps {
  repo: AlertsRepository;
  bus: LiveBus;
  events: Pick<EventLog, 'record'>;
  notifier: Notifier;
  /** VM names for messages (the vms module's repository). */
  vms: { find(id: number): Promise<{ name: string } | undefined> };
  clock: Clock;
  log: FastifyBaseLogger;
  policy: {
    /** Resolve only once the average is back past the threshold by this share of it (percent). */
    hysteresisPercent: number;
    notifyMinIntervalSeconds: number;
  };
}

export const policyKey = (policyId: number, vmId: number | null) => (vmId === null ? `policy:${policyId}:host` : `policy:${policyId}:vm:${vmId}`);
/** A health condition's name is stored as the alert's metric (at most 32 characters). */
const CONDITION_NAME = /^[a-z][a-z0-9_]{0,31}$/;
export const conditionKey = (metric: string, vmId: number) => `condition:${metric}:vm:${vmId}`;

/** Reaching the threshold fires: GreaterThan means "at or above" (the seed's CPU ≥ 90 %). */
export const fires = (p: Pick<AlertPolicy, 'compare' | 'value'>, avg: number) => (p.compare === 'GreaterThan' ? avg >= p.value : avg <= p.value);

/**
 * How stale the engine's policies and open alerts may be: a policy changed, or an alert resolved,
 * through another server process reaches the leader's engine within this (one read per period).
 */
export const RESYNC_MS = 2_000;

/**
 * The evaluator. It follows the collector's samples on the event bus (it does not change the
 * collector), keeps each entity's recent samples, and per enabled policy compares the window
 * average with the threshold: an alert opens once when the average reaches it, stays open while
 * it stays there or within the hysteresis band, and resolves once when the average is back past
 * the threshold by the margin. Every transition is written (the unique index keeps one open alert
 * per key), recorded as an event, pushed on the events channel and notified (rate-capped).
 * All work runs one step at a time, in arrival order.
 */
export class AlertEngine {
  private policies: AlertPolicy[] = [];
  private readonly windows = new Map<string, RollingWindow>();
  private readonly open = new Map<string, StoredAlert>();
  private horizonMs = MAX_WINDOW_SECONDS * 1000;
  private loaded = false;
  /** When policies and open alerts were last read (ms, wall clock). */
  private loadedAt = 0;
  private chain: Promise<void> = Promise.resolve();
  private unsubscribe?: () => void;
  readonly notices: AlertNotices;

  constructor(private readonly d: AlertEngineDeps) {
    this.notices = new AlertNotices({ repo: d.repo, notifier: d.notifier, clock: d.clock, log: d.log, minIntervalSeconds: d.policy.notifyMinIntervalSeconds });
  }

  start(): void {
    // Leader only: the collector's samples (and VM changes from any process) are judged once in the cluster, so
    // no alert opens twice. Taking over, the engine reads policies and open alerts afresh (another process led).
    this.unsubscribe ??= this.d.bus.subscribeLeader((m) => this.onMessage(m), { onLeading: () => void this.enqueue(() => this.reset()).catch(() => undefined) });
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Resolves when every step queued so far is done (tests, shutdown). */
  idle(): Promise<void> {
    return this.chain;
  }

  /** Queues a step; a failing step is logged and the next one runs. */
  enqueue(step: () => Promise<void>): Promise<void> {
    const run = this.chain.then(async () => {
      if (!this.loaded || Date.now() - this.loadedAt > RESYNC_MS) await this.load();
      await step();
    });
    this.chain = run.catch((err) => this.d.log.error({ err }, 'alert evaluation failed'));
    return run;
  }

  /** Re-reads the enabled policies (after a change through the API). */
  reload(): Promise<void> {
    return this.enqueue(() => this.loadPolicies());
  }

  /**
   * A policy changed in a way that makes (some of) its open alerts moot: deleted, disabled or a new
   * condition (all of them), or VMs taken off its list (keep: the VMs still watched). Those resolve
   * with the reason; then the policies are read again.
   */
  policyChanged(policyId: number, reason: string, keep?: (vmId: number | null) => boolean): Promise<void> {
    return this.enqueue(async () => {
      // The leader may have opened alerts of this policy since this process last looked.
      await this.load();
      const target = this.targetOf(policyId);
      for (const [key, a] of [...this.open]) {
        if (a.policy_id === policyId && !keep?.(a.vm_id)) await this.resolve(key, null, reason, target);
      }
      await this.loadPolicies();
    });
  }

  /** Opens a policy-less alert for a health condition of a VM (e.g. 'unresponsive'); a no-op when it is open. */
  raiseCondition(c: { userId: number; vmId: number; metric: string; message: string }): Promise<void> {
    if (!CONDITION_NAME.test(c.metric)) return Promise.reject(new Error(`invalid condition name "${c.metric}"`));
    return this.enqueue(async () => {
      const key = conditionKey(c.metric, c.vmId);
      if (this.open.has(key)) return;
      await this.openAlert({
        policy_id: null, user_id: c.userId, entity: 'vm', vm_id: c.vmId, metric: c.metric, compare: null, threshold: null, value: null,
        message: c.message.slice(0, 500), open_key: key, opened_at: this.d.clock.now().toISOString(),
      }, { userId: c.userId });
    });
  }

  /** Resolves a health condition's alert; a no-op when none is open. */
  clearCondition(c: { vmId: number; metric: string; message: string }): Promise<void> {
    return this.enqueue(async () => {
      const key = conditionKey(c.metric, c.vmId);
      const open = this.open.get(key);
      if (open) await this.resolve(key, null, c.message, { userId: open.user_id ?? 'admins' });
    });
  }

  private onMessage({ ownerId, event }: BusMessage): void {
    if (event.kind === 'metrics') void this.enqueue(() => this.evaluate(ownerId, event)).catch(() => undefined);
    else if (event.kind === 'vm' && NOT_SAMPLED.has(event.vm.status)) {
      const vmId = event.vm.id;
      void this.enqueue(async () => {
        this.windows.delete(`vm:${vmId}`);
        for (const [key, a] of [...this.open]) {
          if (a.vm_id === vmId && a.policy_id !== null) await this.resolve(key, null, `the VM is ${event.vm.status}: nothing is measured any more`, this.targetOf(a.policy_id, a));
        }
      }).catch(() => undefined);
    }
  }

  private async reset(): Promise<void> {
    this.windows.clear();
    await this.load();
  }

  /** Policies and open alerts as the database has them (another server process may have changed either). */
  private async load(): Promise<void> {
    await this.loadPolicies();
    this.open.clear();
    for (const a of await this.d.repo.openAlerts()) this.open.set(a.open_key, a);
    this.loaded = true;
    this.loadedAt = Date.now();
  }

  private async loadPolicies(): Promise<void> {
    this.policies = await this.d.repo.enabledPolicies();
    // Keep as much history as the longest window needs (at least 5 minutes).
    this.horizonMs = 1000 * Math.max(300, ...this.policies.map((p) => windowSeconds(p.window)));
    for (const w of this.windows.values()) w.setHorizon(this.horizonMs);
  }

  private async evaluate(ownerId: number, event: Extract<StreamEvent, { kind: 'metrics' }>): Promise<void> {
    const vmId = event.entity === 'vm' ? event.vm_id : null;
    const t = Date.parse(event.sample.sampled_at ?? '');
    if (Number.isFinite(t)) {
      const entityKey = vmId === null ? 'host' : `vm:${vmId}`;
      let win = this.windows.get(entityKey);
      if (!win) this.windows.set(entityKey, (win = new RollingWindow(this.horizonMs)));
      const values = event.entity === 'host' ? hostAlertValues(event.sample) : vmAlertValues(event.sample);
      if (win.add(t, values)) {
        for (const p of this.policies) {
          if (!applies(p, vmId, ownerId)) continue;
          const avg = win.average(p.metric, windowSeconds(p.window));
          if (avg !== undefined) await this.judge(p, vmId, ownerId, avg);
        }
      }
    }
    await this.notices.flush((key) => this.current(key));
  }

  private async judge(p: AlertPolicy, vmId: number | null, ownerId: number, avg: number): Promise<void> {
    const key = policyKey(p.id, vmId);
    const open = this.open.get(key);
    if (!open) {
      if (fires(p, avg)) await this.openPolicyAlert(p, key, vmId, ownerId, avg);
      return;
    }
    const margin = (Math.abs(p.value) * this.d.policy.hysteresisPercent) / 100;
    const clear = p.compare === 'GreaterThan' ? avg < p.value - margin : avg > p.value + margin;
    if (clear) {
      const bound = p.compare === 'GreaterThan' ? `below ${formatValue(p.metric, p.value - margin)}` : `above ${formatValue(p.metric, p.value + margin)}`;
      await this.resolve(key, round(avg), `${metricLabel(p.metric)} averaged ${formatValue(p.metric, avg)} over ${p.window}, ${bound} (threshold ${formatValue(p.metric, p.value)} less the ${this.d.policy.hysteresisPercent} % hysteresis)`, this.targetOf(p.id));
    } else if (open.last_value !== round(avg)) {
      open.last_value = round(avg);
      await this.d.repo.setLastValue(open.id, open.last_value);
    }
  }

  private async openPolicyAlert(p: AlertPolicy, key: string, vmId: number | null, ownerId: number, avg: number): Promise<void> {
    const subject = vmId === null ? 'Host' : `VM "${(await this.d.vms.find(vmId))?.name ?? vmId}"`;
    const cmp = p.compare === 'GreaterThan' ? 'at or above' : 'at or below';
    const message = `${subject}: ${metricLabel(p.metric)} averaged ${formatValue(p.metric, avg)} over ${p.window}, ${cmp} ${formatValue(p.metric, p.value)}`;
    await this.openAlert({
      policy_id: p.id, user_id: vmId === null ? null : ownerId, entity: p.entity, vm_id: vmId, metric: p.metric, compare: p.compare,
      threshold: p.value, value: round(avg), message, open_key: key, opened_at: this.d.clock.now().toISOString(),
    }, this.targetOf(p.id));
  }

  /** Opens an alert (policy or condition) and announces it; false when one was open already. */
  async openAlert(a: Parameters<AlertsRepository['open']>[0], target: NoticeTarget): Promise<boolean> {
    const alert = await this.d.repo.open(a);
    if (!alert) {
      // Open already (another writer): follow the database.
      const existing = await this.d.repo.findOpen(a.open_key);
      if (existing) this.open.set(a.open_key, existing);
      return false;
    }
    this.open.set(alert.open_key, alert);
    await this.announce(alert, 'opened', alert.message, target);
    return true;
  }

  /** Resolves the open alert of a key once and announces it; false when none was open. */
  async resolve(key: string, lastValue: number | null, reason: string, target: NoticeTarget): Promise<boolean> {
    this.open.delete(key);
    const alert = await this.d.repo.resolve(key, this.d.clock.now().toISOString(), lastValue);
    if (!alert) return false;
    await this.announce(alert, 'resolved', reason, target);
    return true;
  }

  isOpen(key: string): boolean {
    return this.open.has(key);
  }

  private async announce(alert: StoredAlert, what: 'opened' | 'resolved', reason: string, target: NoticeTarget): Promise<void> {
    const message = what === 'opened' ? `Alert opened: ${alert.message}` : `Alert resolved: ${alert.message} — ${reason}`;
    await this.d.events.record({
      type: alert.entity === 'host' ? 'system' : 'vm',
      severity: what === 'opened' ? 'warning' : 'info',
      action: `alert.${what}`,
      message: message.slice(0, 500),
      userId: alert.user_id,
      vmId: alert.vm_id,
      details: { alert_id: alert.id, policy_id: alert.policy_id, metric: alert.metric, threshold: alert.threshold, value: what === 'opened' ? alert.value : alert.last_value },
    });
    this.d.bus.publish(alert.user_id ?? ADMINS_ONLY, { kind: 'alert', alert: publicAlert(alert) });
    await this.notices.transition(alert, what, target, reason);
  }

  /** The alert a held-back notification is about: the open one, else the newest of its key. */
  private async current(key: string): Promise<StoredAlert | undefined> {
    return this.open.get(key) ?? (await this.d.repo.latestForKey(key)).latest;
  }

  /** The policy's owner and channels; a policy gone since: the alert's owner, or the admins for the host. */
  private targetOf(policyId: number, alert?: StoredAlert): NoticeTarget {
    const p = this.policies.find((x) => x.id === policyId);
    if (p) return { userId: p.user_id ?? 'admins', channelIds: p.channel_ids };
    return { userId: alert?.user_id ?? 'admins' };
  }
}

/** Host policies watch the host; VM policies their owner's listed VMs (none listed: all of them). */
function applies(p: AlertPolicy, vmId: number | null, ownerId: number): boolean {
  if (vmId === null) return p.entity === 'host';
  return p.entity === 'vm' && p.user_id === ownerId && (p.vm_ids.length === 0 || p.vm_ids.includes(vmId));
}
