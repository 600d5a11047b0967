import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { DOCS_CONTENT_SECURITY_POLICY } from './content-security.js';
import { DOCS_PREFIX } from './guard.js';
import type { App } from './types.js';

/** The OpenAPI document built from the routes' schemas, at /api/openapi.json and browsable at /api/docs. */
export async function registerApiDocs(app: App, version: string): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Twarga Cloud API', version, description: 'Self-hosted mini-cloud. Errors share one body: {code, message, request_id, details?}.' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'Session token from /api/auth/login or a personal API token' },
          cookie: { type: 'apiKey', in: 'cookie', name: 'twarga_session', description: 'Browser session; writes need X-CSRF-Token' },
        },
      },
      security: [{ bearer: [] }, { cookie: [] }],
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: DOCS_PREFIX, staticCSP: DOCS_CONTENT_SECURITY_POLICY });
  app.get('/api/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());
}
