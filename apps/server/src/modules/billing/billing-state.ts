import type { BillingState } from '@twarga/contract';
import type { UserRow } from '../users/users.repository.js';

/** Where a user stands in the low-balance sequence, from the columns the balance watch keeps. */
export function billingStateOf(user: Pick<UserRow, 'suspended_at' | 'grace_started_at' | 'billing_warned_below'>): BillingState {
  if (user.suspended_at) return 'suspended';
  if (user.grace_started_at) return 'grace';
  return user.billing_warned_below !== null ? 'low' : 'ok';
}
