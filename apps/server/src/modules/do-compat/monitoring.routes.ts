import { Type } from '@sinclair/typebox';
import { notFound } from '../../http/errors.js';
import { identityOf, type App } from '../../http/types.js';
import { unprocessable } from './do-http.js';
import { doMetricPlan, fromDoAlertPolicy, isDoVisible, toDoAlertPolicy, toPrometheusMatrix } from './monitoring-view.js';
import { paginate, PageQuery } from './pagination.js';
import type { DoRoutesOptions } from './wiring.js';

const MetricParams = Type.Object({ metric: Type.String({ maxLength: 40 }) });
const MetricQuery = Type.Object({
  host_id: Type.String({ pattern: '^[0-9]{1,15}$', description: 'the droplet id' }),
  start: Type.String({ pattern: '^[0-9]{1,12}$', description: 'Unix seconds' }),
  end: Type.String({ pattern: '^[0-9]{1,12}$', description: 'Unix seconds' }),
  interface: Type.Optional(Type.String({ maxLength: 20 })),
  direction: Type.Optional(Type.String({ maxLength: 20 })),
});
const PolicyBody = Type.Object({
  type: Type.String({ maxLength: 100 }),
  description: Type.Optional(Type.String({ maxLength: 200 })),
  compare: Type.String({ maxLength: 20 }),
  value: Type.Number(),
  window: Type.String({ maxLength: 10 }),
  entities: Type.Optional(Type.Array(Type.String({ maxLength: 20 }), { maxItems: 100 })),
  tags: Type.Optional(Type.Array(Type.String({ maxLength: 255 }), { maxItems: 64 })),
  alerts: Type.Optional(Type.Object({
    email: Type.Optional(Type.Array(Type.String({ maxLength: 254 }), { maxItems: 20 })),
    slack: Type.Optional(Type.Array(Type.Object({ url: Type.Optional(Type.String()), channel: Type.Optional(Type.String()) }), { maxItems: 20 })),
  })),
  enabled: Type.Optional(Type.Boolean()),
});
const PolicyRef = Type.Object({ uuid: Type.String({ maxLength: 64 }) });

/**
 * /v2/monitoring: droplet metrics from our stored history (Prometheus range format) and alert
 * policies over AlertsService. What we do not collect or cannot honour is a 422 that says so.
 */
export async function monitoringRoutes(app: App, { deps, route }: DoRoutesOptions) {
  const { metrics, alerts, config } = deps;
  const tags = ['do-compat'];

  app.get('/monitoring/metrics/droplet/:metric', {
    config: route('user'),
    schema: { tags, summary: 'DO: a droplet metric over time (Prometheus matrix)', params: MetricParams, querystring: MetricQuery },
    handler: async (request) => {
      const q = request.query;
      const plan = doMetricPlan(request.params.metric, q);
      const start = Number(q.start);
      const end = Number(q.end);
      if (!(end > start)) throw unprocessable('end must be after start');
      const hostId = Number(q.host_id);
      // vmHistory checks the caller may see the VM (404 otherwise) and how far back history goes.
      const history = await metrics.vmHistory(identityOf(request), hostId, {
        metric: plan.metrics,
        from: new Date(start * 1000).toISOString(),
        to: new Date(end * 1000).toISOString(),
      });
      return toPrometheusMatrix(hostId, plan, history);
    },
  });

  const visiblePolicy = async (request: Parameters<typeof identityOf>[0], uuid: string) => {
    if (!/^[0-9]{1,15}$/.test(uuid)) throw notFound('Alert policy');
    const p = await alerts.getPolicy(identityOf(request), Number(uuid));
    if (!isDoVisible(p)) throw notFound('Alert policy');
    return p;
  };

  app.get('/monitoring/alerts', {
    config: route('user'),
    schema: { tags, summary: 'DO: your droplet alert policies', querystring: PageQuery },
    handler: async (request) => {
      const identity = identityOf(request);
      // Own VM policies only: an admin's host and system policies have no DO form.
      const own = (await alerts.listPolicies(identity)).filter((p) => p.user_id === identity.user.id && isDoVisible(p));
      const page = paginate(request, own.map(toDoAlertPolicy), request.query, config.publicUrl);
      return { policies: page.items, links: page.links, meta: page.meta };
    },
  });

  app.post('/monitoring/alerts', {
    config: route('user'),
    schema: { tags, summary: 'DO: create a droplet alert policy', body: PolicyBody },
    handler: async (request) => ({ policy: toDoAlertPolicy(await alerts.createPolicy(identityOf(request), fromDoAlertPolicy(request.body))) }),
  });

  app.get('/monitoring/alerts/:uuid', {
    config: route('user'),
    schema: { tags, summary: 'DO: one alert policy', params: PolicyRef },
    handler: async (request) => ({ policy: toDoAlertPolicy(await visiblePolicy(request, request.params.uuid)) }),
  });

  app.put('/monitoring/alerts/:uuid', {
    config: route('user'),
    schema: { tags, summary: 'DO: replace an alert policy', params: PolicyRef, body: PolicyBody },
    handler: async (request) => {
      const p = await visiblePolicy(request, request.params.uuid);
      const { entity: _entity, ...fields } = fromDoAlertPolicy(request.body);
      return { policy: toDoAlertPolicy(await alerts.updatePolicy(identityOf(request), p.id, fields)) };
    },
  });

  app.delete('/monitoring/alerts/:uuid', {
    config: route('user'),
    schema: { tags, summary: 'DO: delete an alert policy', params: PolicyRef },
    handler: async (request, reply) => {
      const p = await visiblePolicy(request, request.params.uuid);
      await alerts.deletePolicy(identityOf(request), p.id);
      return reply.status(204).send();
    },
  });
}
