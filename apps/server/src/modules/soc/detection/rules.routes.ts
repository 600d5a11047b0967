import { Type } from '@sinclair/typebox';
import { RuleIdParam, SocRule, UpdateSocRule } from '@twarga/contract';
import { errorResponses } from '../../../http/errors.js';
import { contextOf, identityOf, type App } from '../../../http/types.js';
import { noteAudit } from '../../audit/audit-note.js';
import type { RulesService } from './rules.service.js';

export async function socRulesRoutes(app: App, { rules }: { rules: RulesService }) {
  app.get('/api/soc/rules', {
    config: { access: 'user' },
    schema: { tags: ['soc'], summary: 'Detection rules (what is watched, thresholds, MITRE ATT&CK technique, response)', response: { 200: Type.Array(SocRule), ...errorResponses } },
    handler: async () => rules.list(),
  });

  app.patch('/api/soc/rules/:id', {
    config: { access: 'admin' },
    schema: { tags: ['soc'], summary: 'Enable, disable or tune a detection rule (admins; audited as soc.rule_updated)', params: RuleIdParam, body: UpdateSocRule, response: { 200: SocRule, ...errorResponses } },
    handler: async (request) => {
      const before = (await rules.list()).find((r) => r.id === request.params.id);
      noteAudit(request, { action: 'soc.rule_updated', target: { type: 'soc_rule', id: request.params.id, label: before?.title }, before });
      const after = await rules.update(identityOf(request), request.params.id, request.body, contextOf(request));
      noteAudit(request, { after });
      return after;
    },
  });
}
