import { Type } from '@sinclair/typebox';
import { LedgerEntry } from '@twarga/contract';
import { errorResponses } from '../../http/errors.js';
import { identityOf, type App } from '../../http/types.js';
import type { LedgerRepository } from './ledger.repository.js';

export async function ledgerRoutes(app: App, { ledger }: { ledger: LedgerRepository }) {
  app.get('/api/account/ledger', {
    config: { access: 'user' },
    schema: {
      tags: ['account'],
      summary: 'Your credit history, newest first',
      response: { 200: Type.Array(LedgerEntry), ...errorResponses },
    },
    handler: async (request) => ledger.listForUser(identityOf(request).user.id),
  });
}
