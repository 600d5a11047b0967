import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyBaseLogger } from 'fastify';
import type { SocIncident } from '@twarga/contract';
import type { Notification } from '../../notifications/notification.js';
import { IncidentNotices } from './incident-notices.js';

const quiet = { error() {}, warn() {}, info() {}, debug() {}, trace() {}, fatal() {}, child: () => quiet } as unknown as FastifyBaseLogger;

const incident = (id: number, over: Partial<SocIncident> = {}): SocIncident => ({
  id, rule_id: 'ssh_success_after_failures', title: `t${id}`, severity: 'critical', mitre: 'T1110', status: 'open', group: {}, source_ip: `198.51.100.${id}`,
  vm_id: 7, user_id: 42, event_count: 6, first_seen: '2026-01-01T00:00:00.000Z', last_seen: '2026-01-01T00:00:00.000Z', created_at: '', updated_at: '', ...over,
});

describe('critical incident notifications', () => {
  test('admins and the VM owner; at most one per rule and recipient per interval, the next one counts what was held back; warnings never', async () => {
    const sent: Notification[] = [];
    let now = Date.parse('2026-01-01T00:00:00Z');
    const notices = new IncidentNotices({ notifier: { notify: async (n) => void sent.push(n) }, clock: { now: () => new Date(now) }, log: quiet, minIntervalSeconds: 300 });
    await notices.opened(incident(1), 'first');
    assert.deepEqual(sent.map((n) => n.userId), ['admins', 42]);
    for (let i = 2; i < 5; i++) await notices.opened(incident(i), 'flood');
    assert.equal(sent.length, 2, 'held back under the cap');
    await notices.opened(incident(5, { rule_id: 'terminal_host_key_changed' }), 'another rule');
    assert.equal(sent.length, 4, 'another rule has its own cap');
    await notices.opened(incident(6, { severity: 'warning', rule_id: 'ssh_brute_force' }), 'not critical');
    assert.equal(sent.length, 4);
    await notices.opened(incident(7, { vm_id: null, user_id: 42, rule_id: 'control_plane_brute_force' }), 'account');
    assert.deepEqual(sent.slice(4).map((n) => n.userId), ['admins'], 'not a VM incident: admins only');
    now += 301_000;
    await notices.opened(incident(8), 'later');
    assert.equal(sent.length, 7);
    assert.match(sent[5]!.text, /3 more critical incident\(s\) of this rule/);
    assert.equal(sent[5]!.data.held_back, 3);
  });
});
