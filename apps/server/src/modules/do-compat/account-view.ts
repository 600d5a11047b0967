import { createHash } from 'node:crypto';
import type { BillingSummary } from '@twarga/contract';
import type { UserRow } from '../users/users.repository.js';

/** DO's account (godo account.go). */
export interface DoAccount {
  droplet_limit: number;
  floating_ip_limit: number;
  reserved_ip_limit: number;
  volume_limit: number;
  email: string;
  name: string;
  uuid: string;
  email_verified: boolean;
  status: 'active' | 'warning' | 'locked';
  status_message: string;
}

/** DO's balance (godo balance.go): decimal strings, positive = owed, negative = credit. */
export interface DoBalance {
  month_to_date_balance: string;
  account_balance: string;
  month_to_date_usage: string;
  generated_at: string;
}

/** An RFC 4122 name-based (version 5, SHA-1) UUID in the URL namespace. */
function uuidV5(name: string): string {
  const URL_NAMESPACE = '6ba7b8119dad11d180b400c04fd430c8';
  const h = createHash('sha1').update(Buffer.from(URL_NAMESPACE, 'hex')).update(name).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * A stable UUID per user without a new column: derived from the id and the account's creation
 * time, so it never changes for a user, and users of two servers (both with a user 1) differ.
 */
export const accountUuid = (user: Pick<UserRow, 'id' | 'created_at'>) => uuidV5(`twarga:user:${user.id}:${new Date(user.created_at).toISOString()}`);

/**
 * The caller's account in DO's shape. droplet_limit is the user's effective VM quota; there are
 * no floating IPs or volumes (0). Status: disabled by an admin or suspended for lack of credits
 * → locked; in the low-balance grace period → warning. We do not verify e-mail addresses, so
 * email_verified is false (the truth).
 */
export function toDoAccount(user: UserRow, dropletLimit: number, billing: Pick<BillingSummary, 'state' | 'grace_ends_at'>): DoAccount {
  let status: DoAccount['status'] = 'active';
  let status_message = '';
  if (user.is_active !== 1) {
    status = 'locked';
    status_message = 'The account is disabled by an administrator';
  } else if (billing.state === 'suspended') {
    status = 'locked';
    status_message = 'The account is suspended: its credits ran out';
  } else if (billing.state === 'grace') {
    status = 'warning';
    status_message = `Credits ran out: VMs will be stopped${billing.grace_ends_at ? ` at ${billing.grace_ends_at}` : ''} unless credits are added`;
  }
  return {
    droplet_limit: dropletLimit,
    floating_ip_limit: 0,
    reserved_ip_limit: 0,
    volume_limit: 0,
    email: user.email,
    name: user.username,
    uuid: accountUuid(user),
    email_verified: false,
    status,
    status_message,
  };
}

const money = (n: number) => (n + 0).toFixed(2);

/**
 * Our prepaid credits in DO's balance shape, keeping DO's sign (what is owed is positive, a credit
 * negative), from this month's ledger: the balance now (closing), at the month's start (opening)
 * and what was granted since (added). Usage is everything charged this month net of refunds
 * (VM hours and snapshot storage): opening + added − closing. DO's identity
 * month_to_date_balance = account_balance + month_to_date_usage holds: account_balance is the
 * balance before this month's usage. 1 credit is shown as 1.00.
 */
export function toDoBalance(m: { opening_balance: number; closing_balance: number; credits_added: number }, generatedAt: Date): DoBalance {
  const usage = m.opening_balance + m.credits_added - m.closing_balance;
  return {
    month_to_date_balance: money(-m.closing_balance),
    account_balance: money(-m.closing_balance - usage),
    month_to_date_usage: money(usage),
    generated_at: generatedAt.toISOString(),
  };
}
