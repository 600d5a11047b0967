import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../lib/time.js';
import { publicAlert, type AlertsRepository, type StoredAlert } from './alerts.repository.js';
import type { AlertNotification, Notifier } from './notifier.js';

type Transition = 'opened' | 'resolved';

/** Who hears about an alert: the policy's owner (admins for system policies) and its channels. */
export interface NoticeTarget {
  userId: number | 'admins';
  channelIds?: number[];
}

interface Told {
  /** When the key last caused a notification (ms), if ever. */
  at?: number;
  /** Which transition that notification announced. */
  told: Transition | null;
}

/**
 * The per-policy rate cap on notifications, per key (a policy and one of its VMs, or a health
 * condition and its VM): a transition is notified at once unless the key caused a notification
 * less than minIntervalSeconds ago. A held-back transition is not lost: once the interval has
 * passed, if the alert's state then differs from what was last notified, one notification of
 * the current state goes out. So an alert that flaps opens and resolves in the database (and in
 * events) each time, but its owner hears at most once per interval, and the last thing they
 * heard matches the truth. The database keeps when and what was notified (alerts.last_notified_at,
 * alerts.notified), so a restart does not reset the cap; what was held back at a restart is dropped.
 */
export class AlertNotices {
  private readonly told = new Map<string, Told>();
  /** Keys with a transition held back, and where to send it. */
  private readonly pending = new Map<string, NoticeTarget>();

  constructor(
    private readonly d: { repo: AlertsRepository; notifier: Notifier; clock: Clock; log: FastifyBaseLogger; minIntervalSeconds: number },
  ) {}

  /** A transition happened: notify now, or hold it back under the cap. */
  async transition(alert: StoredAlert, what: Transition, target: NoticeTarget, reason: string): Promise<void> {
    const state = await this.state(alert.open_key);
    const now = this.d.clock.now().getTime();
    // They never heard it open (held back under the cap): its end is no news either.
    if (what === 'resolved' && state.told !== 'opened') {
      this.pending.delete(alert.open_key);
      return;
    }
    if (state.at !== undefined && now - state.at < this.d.minIntervalSeconds * 1000) {
      this.pending.set(alert.open_key, target);
      return;
    }
    await this.send(alert, what, target, reason, false);
  }

  /** After the interval: one notification of the current state for each held-back key that needs it. */
  async flush(current: (key: string) => Promise<StoredAlert | undefined>): Promise<void> {
    const now = this.d.clock.now().getTime();
    for (const [key, target] of [...this.pending]) {
      const state = await this.state(key);
      if (state.at !== undefined && now - state.at < this.d.minIntervalSeconds * 1000) continue;
      this.pending.delete(key);
      const alert = await current(key);
      if (!alert) continue;
      const truth: Transition = alert.state === 'open' ? 'opened' : 'resolved';
      // Flapped back to what they were last told (or resolved before they heard it opened): nothing to say.
      if (truth === state.told || (truth === 'resolved' && state.told === null)) continue;
      await this.send(alert, truth, target, truth === 'opened' ? alert.message : 'back within its threshold', true);
    }
  }

  private async state(key: string): Promise<Told> {
    let s = this.told.get(key);
    if (!s) {
      const { notified } = await this.d.repo.latestForKey(key);
      s = notified?.last_notified_at ? { at: Date.parse(notified.last_notified_at), told: notified.notified } : { told: null };
      this.told.set(key, s);
    }
    return s;
  }

  private async send(alert: StoredAlert, what: Transition, target: NoticeTarget, reason: string, delayed: boolean): Promise<void> {
    const now = this.d.clock.now();
    this.told.set(alert.open_key, { at: now.getTime(), told: what });
    this.pending.delete(alert.open_key);
    await this.d.repo.markNotified(alert.id, what, now.toISOString());
    const lines = [
      what === 'opened' ? `Alert opened: ${alert.message}` : `Alert resolved: ${reason}`,
      `Opened at ${alert.opened_at}${alert.resolved_at ? `, resolved at ${alert.resolved_at}` : ''}.`,
    ];
    if (delayed) lines.push(`Notifications of this alert are limited to one every ${this.d.minIntervalSeconds} s; this is its state now.`);
    const n: AlertNotification = {
      userId: target.userId,
      ...(target.channelIds?.length ? { channelIds: target.channelIds } : {}),
      topic: what === 'opened' ? 'alert.opened' : 'alert.resolved',
      subject: `[Twarga] ${what === 'opened' ? 'Alert' : 'Resolved'}: ${alert.message}`.slice(0, 200),
      text: lines.join('\n'),
      data: { alert: publicAlert(alert), transition: what, reason, delayed },
      alertId: alert.id,
    };
    try {
      await this.d.notifier.notify(n);
    } catch (err) {
      // The agreed notifier never throws; a broken one must still not stop alerting.
      this.d.log.error({ err, alertId: alert.id }, 'alert notification failed');
    }
  }
}
