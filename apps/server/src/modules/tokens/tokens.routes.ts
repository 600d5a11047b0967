import { Type } from '@sinclair/typebox';
import { ApiToken, CreateTokenRequest, CreatedApiToken, IdParam, RevokedTokens } from '@twarga/contract';
import { contextOf, identityOf, type App } from '../../http/types.js';
import { errorResponses } from '../../http/errors.js';
import type { TokensService } from './tokens.service.js';


export async function tokensRoutes(app: App, { tokens }: { tokens: TokensService }) {
  app.get('/api/account/tokens', {
    config: { access: 'user' },
    schema: { tags: ['account'], summary: 'List your API tokens', response: { 200: Type.Array(ApiToken), ...errorResponses } },
    handler: async (request) => tokens.list(identityOf(request)),
  });

  app.post('/api/account/tokens', {
    config: { access: 'user' },
    schema: {
      tags: ['account'],
      summary: 'Create an API token (the secret is shown only in this response)',
      body: CreateTokenRequest,
      response: { 201: CreatedApiToken, ...errorResponses },
    },
    handler: async (request, reply) =>
      reply.status(201).send(await tokens.create(identityOf(request), request.body, contextOf(request))),
  });

  app.delete('/api/account/tokens', {
    config: { access: 'user' },
    schema: {
      tags: ['account'],
      summary: 'Revoke all your API tokens at once (the one making the request too)',
      response: { 200: RevokedTokens, ...errorResponses },
    },
    handler: async (request) => tokens.revokeAll(identityOf(request), contextOf(request)),
  });

  app.delete('/api/account/tokens/:id', {
    config: { access: 'user' },
    schema: { tags: ['account'], summary: 'Revoke an API token', params: IdParam, response: { 204: Type.Null(), ...errorResponses } },
    handler: async (request, reply) => {
      await tokens.revoke(identityOf(request), request.params.id, contextOf(request));
      return reply.status(204).send(null);
    },
  });
}
