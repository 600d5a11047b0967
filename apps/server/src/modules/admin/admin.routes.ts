import { Type } from '@sinclair/typebox';
import {
  AdjustCreditsRequest,
  AdjustCreditsResponse,
  AdminUser,
  AdminUserDetail,
  AdminUsersQuery,
  BulkUsersRequest,
  BulkUsersResponse,
  DeletedUser,
  IdParam,
  LedgerEntry,
  LedgerQuery,
  UpdateQuotaRequest,
  UpdateUserRequest,
  UserQuota,
} from '@twarga/contract';
import { contextOf, identityOf, type App } from '../../http/types.js';
import { errorResponses } from '../../http/errors.js';
import { noteAudit } from '../audit/audit-note.js';
import type { AdminAccountsService } from './admin-accounts.service.js';
import type { AdminService } from './admin.service.js';
import { noteFor } from './admin-views.js';

/** The admin's user routes (the seed's paths and shapes, plus search, detail, quota, deletion, bulk). */
export async function adminRoutes(app: App, { admin, accounts }: { admin: AdminService; accounts: AdminAccountsService }) {
  app.get('/api/admin/users', {
    config: { access: 'admin' },
    schema: {
      tags: ['admin'],
      summary: 'Users with VM counts, last login and billing state: search (q), status (deleted hidden by default), sort, paging; X-Total-Count says how many match',
      querystring: AdminUsersQuery,
      response: { 200: Type.Array(AdminUser), ...errorResponses },
    },
    handler: async (request, reply) => {
      const { users, total } = await admin.list(request.query);
      reply.header('x-total-count', String(total));
      return users;
    },
  });

  app.post('/api/admin/users/bulk', {
    config: { access: 'admin' },
    schema: {
      tags: ['admin'],
      summary: 'Activate, deactivate or credit many users in one transaction: one bad id and nothing changes',
      body: BulkUsersRequest,
      response: { 200: BulkUsersResponse, ...errorResponses },
    },
    handler: async (request) => accounts.bulk(identityOf(request), request.body, contextOf(request), noteFor(request)),
  });

  app.get('/api/admin/users/:id', {
    config: { access: 'admin' },
    schema: {
      tags: ['admin'],
      summary: "One user: their VMs, newest ledger rows and events, quota and billing",
      params: IdParam,
      response: { 200: AdminUserDetail, ...errorResponses },
    },
    handler: async (request) => {
      return admin.detail(request.params.id, noteFor(request));
    },
  });

  app.get('/api/admin/users/:id/ledger', {
    config: { access: 'admin' },
    schema: {
      tags: ['admin'],
      summary: "A user's ledger, newest first, with the same filters as their own; the next page: before_id = X-Next-Cursor",
      params: IdParam,
      querystring: LedgerQuery,
      response: { 200: Type.Array(LedgerEntry), ...errorResponses },
    },
    handler: async (request, reply) => {
      const page = await admin.ledgerOf(request.params.id, request.query, noteFor(request));
      if (page.next !== undefined) reply.header('x-next-cursor', String(page.next));
      return page.entries;
    },
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
    handler: async (request) => {
      noteAudit(request, { action: 'user.updated', details: { ...request.body } });
      return admin.updateUser(identityOf(request), request.params.id, request.body, contextOf(request), noteFor(request));
    },
  });

  app.delete('/api/admin/users/:id', {
    config: { access: 'admin' },
    schema: {
      tags: ['admin'],
      summary: 'Delete a user: their VMs are destroyed first, they can no longer sign in, their ledger, events and VM history stay',
      params: IdParam,
      response: { 200: DeletedUser, ...errorResponses },
    },
    handler: async (request) => {
      noteAudit(request, { action: 'user.deleted' });
      return accounts.deleteUser(identityOf(request), request.params.id, contextOf(request), noteFor(request));
    },
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
    handler: async (request) => {
      noteAudit(request, { action: 'user.credits_adjusted' });
      return admin.adjustCredits(identityOf(request), request.params.id, request.body, contextOf(request), noteFor(request));
    },
  });

  app.patch('/api/admin/users/:id/quota', {
    config: { access: 'admin' },
    schema: {
      tags: ['admin'],
      summary: "Set a user's quota overrides (null: back to the server-wide limit); applies to their next launches",
      params: IdParam,
      body: UpdateQuotaRequest,
      response: { 200: UserQuota, ...errorResponses },
    },
    handler: async (request) => {
      noteAudit(request, { action: 'user.quota_changed', details: { ...request.body } });
      return admin.setQuota(identityOf(request), request.params.id, request.body, contextOf(request), noteFor(request));
    },
  });
}
