import type { FastifyBaseLogger } from 'fastify';
import type { SocIncident } from '@twarga/contract';
import type { Clock } from '../../../lib/time.js';
import type { Notifier } from '../../notifications/notification.js';

/**
 * Notifications of critical incidents: to every admin, and to the VM's owner for an incident on
 * a VM. Rate-capped per recipient and rule: a distributed attack that opens hundreds of incidents
 * sends one notification per interval, and the next one says how many were held back (they are
 * all in the SOC page). The cap lives in memory: a restart may send one more.
 */
export class IncidentNotices {
  private readonly last = new Map<string, { at: number; held: number }>();

  constructor(private readonly d: { notifier: Notifier; clock: Clock; log: FastifyBaseLogger; minIntervalSeconds: number }) {}

  async opened(incident: SocIncident, description: string): Promise<void> {
    if (incident.severity !== 'critical') return;
    const targets: Array<number | 'admins'> = ['admins'];
    if (incident.vm_id !== null && incident.user_id !== null) targets.push(incident.user_id);
    for (const target of targets) await this.send(target, incident, description);
  }

  private async send(target: number | 'admins', incident: SocIncident, description: string): Promise<void> {
    const key = `${target}:${incident.rule_id}`;
    const now = this.d.clock.now().getTime();
    const state = this.last.get(key);
    if (state && now - state.at < this.d.minIntervalSeconds * 1000) {
      state.held++;
      return;
    }
    const held = state?.held ?? 0;
    this.last.set(key, { at: now, held: 0 });
    if (this.last.size > 10_000) this.last.delete(this.last.keys().next().value!);
    const lines = [
      `Critical incident #${incident.id}: ${incident.title}`,
      description,
      `Rule ${incident.rule_id} (MITRE ATT&CK ${incident.mitre}); ${incident.event_count} events since ${incident.first_seen}.`,
      ...(incident.source_ip ? [`Source address: ${incident.source_ip}`] : []),
      ...(held > 0 ? [`${held} more critical incident(s) of this rule were opened since the last notification (at most one every ${this.d.minIntervalSeconds} s); see the SOC page.`] : []),
    ];
    try {
      await this.d.notifier.notify({
        userId: target,
        topic: 'soc.incident_opened',
        subject: `[Twarga] Critical incident: ${incident.title}`.slice(0, 200),
        text: lines.join('\n'),
        data: { incident, held_back: held },
      });
    } catch (err) {
      // The agreed notifier never throws; a broken one must still not stop detection.
      this.d.log.error({ err, incidentId: incident.id }, 'incident notification failed');
    }
  }
}
