import { Type } from '@sinclair/typebox';
import {
  AdjustCreditsRequest,
  AdjustCreditsResponse,
  AdminUser,
  IdParam,
  UpdateUserRequest,
} from '@twarga/contract';
import { contextOf, identityOf, type App } from '../../http/types.js';
import { errorResponses } from '../../http/errors.js';
import type { AdminService } from './admin.service.js';


export async function adminRoutes(app: App, { admin }: { admin: AdminService }) {
  app.get('/api/admin/users', {
    config: { access: 'admin' },
    schema: { tags: ['admin'], summary: 'Every user, with VM counts', response: { 200: Type.Array(AdminUser), ...errorResponses } },
    handler: async () => admin.listUsers(),
  });

  app.patch('/api/admin/users/:id', {
    config: { access: 'admin' },
    schema: {
      tags: ['admin'],
      summary: 'Activate/deactivate a user or change their role',
      params: IdParam,
      body: UpdateUserRequest,
      response: { 200: AdminUser, ...errorResponses },
    },
    handler: async (request) =>
      admin.updateUser(identityOf(request), request.params.id, request.body, contextOf(request)),
  });

  app.post('/api/admin/users/:id/credits', {
    config: { access: 'admin' },
    schema: {
      tags: ['admin'],
      summary: "Adjust a user's credits (written to the ledger)",
      params: IdParam,
      body: AdjustCreditsRequest,
      response: { 200: AdjustCreditsResponse, ...errorResponses },
    },
    handler: async (request) =>
      admin.adjustCredits(identityOf(request), request.params.id, request.body, contextOf(request)),
  });
}
