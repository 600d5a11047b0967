import { AccountBilling, BillingUsage, BillingUsageQuery } from '@twarga/contract';
import { errorResponses } from '../../http/errors.js';
import { identityOf, type App } from '../../http/types.js';
import type { BillingService } from './billing.service.js';

/** The user's billing page: balance, burn, runway, state and this month; a month's statement. */
export async function billingRoutes(app: App, { billing }: { billing: BillingService }) {
  app.get('/api/account/billing', {
    config: { access: 'user' },
    schema: {
      tags: ['account'],
      summary: 'Your balance, burn rate, runway, low-balance state, usage this month per VM, and the billing rules',
      response: { 200: AccountBilling, ...errorResponses },
    },
    handler: async (request) => billing.account(identityOf(request).user.id),
  });

  app.get('/api/account/billing/usage', {
    config: { access: 'user' },
    schema: {
      tags: ['account'],
      summary: 'One month of usage (default: this month, UTC): hours and credits per VM, credits added, opening and closing balance',
      querystring: BillingUsageQuery,
      response: { 200: BillingUsage, ...errorResponses },
    },
    handler: async (request) => billing.usage(identityOf(request).user.id, request.query.month),
  });
}
