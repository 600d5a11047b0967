import { Type } from '@sinclair/typebox';
import { CreateSshKeyRequest, IdParam, SshKey } from '@twarga/contract';
import { contextOf, identityOf, type App } from '../../http/types.js';
import { errorResponses } from '../../http/errors.js';
import type { KeysService } from './keys.service.js';


export async function keysRoutes(app: App, { keys }: { keys: KeysService }) {
  app.get('/api/account/keys', {
    config: { access: 'user' },
    schema: { tags: ['account'], summary: 'List your SSH keys', response: { 200: Type.Array(SshKey), ...errorResponses } },
    handler: async (request) => keys.list(identityOf(request)),
  });

  app.get('/api/account/keys/:id', {
    config: { access: 'user' },
    schema: { tags: ['account'], summary: 'One SSH key', params: IdParam, response: { 200: SshKey, ...errorResponses } },
    handler: async (request) => keys.get(identityOf(request), request.params.id),
  });

  app.post('/api/account/keys', {
    config: { access: 'user' },
    schema: {
      tags: ['account'],
      summary: 'Add an OpenSSH public key',
      body: CreateSshKeyRequest,
      response: { 201: SshKey, ...errorResponses },
    },
    handler: async (request, reply) =>
      reply.status(201).send(await keys.add(identityOf(request), request.body, contextOf(request))),
  });

  app.delete('/api/account/keys/:id', {
    config: { access: 'user' },
    schema: { tags: ['account'], summary: 'Delete an SSH key', params: IdParam, response: { 204: Type.Null(), ...errorResponses } },
    handler: async (request, reply) => {
      await keys.remove(identityOf(request), request.params.id, contextOf(request));
      return reply.status(204).send(null);
    },
  });
}
