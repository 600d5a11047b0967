import { Type } from '@sinclair/typebox';
import { ErrorBody, LedgerEntry } from '@twarga/contract';
import { identityOf, type App } from '../../http/types.js';
import type { LedgerRepository } from './ledger.repository.js';

export async function ledgerRoutes(app: App, { ledger }: { ledger: LedgerRepository }) {
  app.get('/api/account/ledger', {
    config: { access: 'user' },
    schema: {
      tags: ['account'],
      summary: 'Your credit history, newest first',
      response: { 200: Type.Array(LedgerEntry), '4xx': ErrorBody },
    },
    handler: async (request) => ledger.listForUser(identityOf(request).user.id),
  });
}
