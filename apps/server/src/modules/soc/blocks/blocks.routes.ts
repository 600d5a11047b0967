import { Type } from '@sinclair/typebox';
import { BlockQuery, CreateSocBlock, IdParam, SocBlock } from '@twarga/contract';
import { errorResponses } from '../../../http/errors.js';
import { identityOf, type App } from '../../../http/types.js';
import { noteAudit } from '../../audit/audit-note.js';
import type { BlocksService } from './blocks.service.js';

export async function socBlocksRoutes(app: App, { blocks }: { blocks: BlocksService }) {
  app.get('/api/soc/blocks', {
    config: { access: 'user' },
    schema: { tags: ['soc'], summary: 'Address blocks, newest first: on your VMs (admins: all)', querystring: BlockQuery, response: { 200: Type.Array(SocBlock), ...errorResponses } },
    handler: async (request) => blocks.list(identityOf(request), request.query),
  });

  app.post('/api/soc/blocks', {
    // An admin's blocks (any VM, the control plane) go to the audit log.
    config: { access: 'user', audit: true },
    schema: {
      tags: ['soc'],
      summary: "Block an address: on one of your VMs' SSH (scope vm); admins also on every VM or the control plane. Repeat offenders get doubled durations",
      body: CreateSocBlock,
      response: { 201: SocBlock, ...errorResponses },
    },
    handler: async (request, reply) => {
      noteAudit(request, { action: 'soc.block_created', target: { type: 'address', id: request.body.address } });
      const block = await blocks.create(identityOf(request), request.body, request.ip);
      noteAudit(request, { target: { type: 'block', id: block.id, label: block.address }, after: block });
      return reply.status(201).send(block);
    },
  });

  app.delete('/api/soc/blocks/:id', {
    config: { access: 'user', audit: true },
    schema: { tags: ['soc'], summary: 'Lift a block (audited as soc.block_lifted)', params: IdParam, response: { 204: Type.Null(), ...errorResponses } },
    handler: async (request, reply) => {
      noteAudit(request, { action: 'soc.block_lifted' });
      await blocks.lift(identityOf(request), request.params.id, request.ip);
      return reply.status(204).send(null);
    },
  });
}
