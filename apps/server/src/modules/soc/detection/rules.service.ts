import type { SocRule, UpdateSocRule } from '@twarga/contract';
import { badRequest, notFound } from '../../../http/errors.js';
import type { Clock } from '../../../lib/time.js';
import type { Identity, RequestContext } from '../../auth/identity.js';
import type { EventLog } from '../../events/event-log.js';
import type { RulesRepository } from './rules.repository.js';

/**
 * Detection rules: anyone signed in may read them (what is watched is no secret); admins enable,
 * disable and tune them (severity, window, threshold, response). Their match conditions are
 * fixed: they are code-level knowledge of which events mean what. The engine re-reads them on
 * every change.
 */
export class RulesService {
  constructor(private readonly d: { repo: RulesRepository; events: Pick<EventLog, 'record'>; clock: Clock; reload: () => Promise<void> }) {}

  list(): Promise<SocRule[]> {
    return this.d.repo.list();
  }

  async update(identity: Identity, id: string, patch: UpdateSocRule, ctx: RequestContext): Promise<SocRule> {
    const rule = await this.d.repo.find(id);
    if (!rule) throw notFound('Rule');
    const block = patch.response?.block;
    // A block needs the address (and for scope vm the VM) to be one value per incident: part of the group.
    if (block && !rule.group_by.includes('source_ip')) {
      throw badRequest(`Rule ${id} does not group by source_ip: its incidents have no single address to block`, [{ field: 'response.block', message: 'needs a rule grouped by source_ip' }]);
    }
    if (block?.scope === 'vm' && !rule.group_by.includes('vm_id')) {
      throw badRequest(`Rule ${id} does not group by vm_id: scope vm needs the VM`, [{ field: 'response.block.scope', message: 'vm needs a rule grouped by vm_id' }]);
    }
    const updated = (await this.d.repo.update(id, patch, this.d.clock.now().toISOString()))!;
    const changes = Object.fromEntries(
      Object.keys(patch).map((k) => [k, { from: rule[k as keyof SocRule] ?? null, to: updated[k as keyof SocRule] ?? null }]),
    );
    await this.d.events.record({
      type: 'admin', severity: 'info', action: 'soc.rule_updated',
      message: `${identity.user.username} changed detection rule ${id}: ${describe(patch)}`.slice(0, 500),
      userId: identity.user.id, username: identity.user.username, sourceIp: ctx.ip,
      details: { rule_id: id, changes },
    });
    await this.d.reload();
    return updated;
  }
}

function describe(p: UpdateSocRule): string {
  const parts: string[] = [];
  if (p.enabled !== undefined) parts.push(p.enabled ? 'enabled' : 'disabled');
  if (p.severity) parts.push(`severity ${p.severity}`);
  if (p.window_seconds !== undefined) parts.push(`window ${p.window_seconds} s`);
  if (p.threshold !== undefined) parts.push(`threshold ${p.threshold}`);
  if (p.response) parts.push(p.response.block ? `blocks (${p.response.block.scope}, ${p.response.block.duration_seconds} s)` : 'no block');
  return parts.join(', ');
}
