import type { Selectable } from 'kysely';
import type { RuleMatch, RuleResponse, SocRule } from '@twarga/contract';
import type { Db } from '../../../db/database.js';
import type { SocRulesTable } from '../../../db/schema.js';

function toRule(r: Selectable<SocRulesTable>): SocRule {
  return {
    id: r.id,
    title: r.title,
    description: r.description,
    severity: r.severity as SocRule['severity'],
    mitre: r.mitre,
    kind: r.kind as SocRule['kind'],
    ...(r.match ? { match: JSON.parse(r.match) as RuleMatch } : {}),
    ...(r.value_field ? { value_field: r.value_field } : {}),
    ...(r.sequence ? { sequence: JSON.parse(r.sequence) as SocRule['sequence'] } : {}),
    group_by: JSON.parse(r.group_by) as string[],
    window_seconds: Number(r.window_seconds),
    threshold: Number(r.threshold),
    response: JSON.parse(r.response) as RuleResponse,
    enabled: r.enabled === 1,
    updated_at: r.updated_at,
  };
}

export type RulePatch = Partial<Pick<SocRule, 'enabled' | 'severity' | 'window_seconds' | 'threshold' | 'response'>>;

/** Detection rules and what new_value rules have seen. */
export class RulesRepository {
  constructor(private readonly db: Db) {}

  async list(): Promise<SocRule[]> {
    return (await this.db.selectFrom('soc_rules').selectAll().orderBy('id').execute()).map(toRule);
  }

  async find(id: string): Promise<SocRule | undefined> {
    const row = await this.db.selectFrom('soc_rules').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toRule(row);
  }

  async update(id: string, patch: RulePatch, now: string): Promise<SocRule | undefined> {
    const { enabled, response, ...rest } = patch;
    await this.db
      .updateTable('soc_rules')
      .set({
        ...rest,
        ...(enabled !== undefined ? { enabled: enabled ? 1 : 0 } : {}),
        ...(response !== undefined ? { response: JSON.stringify(response) } : {}),
        updated_at: now,
      })
      .where('id', '=', id)
      .execute();
    return this.find(id);
  }

  async hasSeen(ruleId: string, groupKey: string): Promise<boolean> {
    const row = await this.db.selectFrom('soc_seen_values').select('value').where('rule_id', '=', ruleId).where('group_key', '=', groupKey).limit(1).executeTakeFirst();
    return row !== undefined;
  }

  /** Remembers a value for the group; true when it was not known before. */
  async remember(ruleId: string, groupKey: string, value: string, now: string): Promise<boolean> {
    const row = await this.db
      .insertInto('soc_seen_values')
      .values({ rule_id: ruleId, group_key: groupKey, value: value.slice(0, 200), first_seen: now })
      .onConflict((oc) => oc.columns(['rule_id', 'group_key', 'value']).doNothing())
      .returning('value')
      .executeTakeFirst();
    return row !== undefined;
  }
}
