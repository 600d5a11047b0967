import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import type { AccountBilling, BillingUsage, LedgerEntry } from '@twarga/contract';
import { client, keys } from '../../api';
import { ledgerSearch, nextCursor, type LedgerFilters } from './ledgerFilters';

/**
 * Billing answers are keyed under the ledger's key (['account', 'ledger', …]): the balance, burn
 * and usage are all derived from the ledger, so whatever invalidates it (a VM's charge pushed on
 * the live stream, an admin crediting themselves) refreshes these too.
 */
const billingKeys = {
  summary: [...keys.ledger, 'billing'] as const,
  usage: (month: string | undefined) => [...keys.ledger, 'usage', month ?? 'current'] as const,
  pages: (f: LedgerFilters) => [...keys.ledger, 'pages', f.kind ?? null, f.vm_id ?? null, f.month ?? null, f.q ?? null] as const,
  month: (month: string) => [...keys.ledger, 'month', month] as const,
};

/** Balance, burn, runway, state and policy. Refreshed every minute: the runway moves with the clock. */
export const useBilling = (enabled = true) =>
  useQuery({ queryKey: billingKeys.summary, queryFn: () => client.request<AccountBilling>('GET', '/api/account/billing'), refetchInterval: 60_000, enabled });

/** Usage per VM for a month (undefined: this month), with the month's balances and the months that have rows. */
export const useBillingUsage = (month: string | undefined, enabled = true) =>
  useQuery({
    queryKey: billingKeys.usage(month),
    queryFn: () => client.request<BillingUsage>('GET', `/api/account/billing/usage${month ? `?month=${month}` : ''}`),
    enabled,
  });

const PAGE = 50;

/** One ledger page and the cursor of the next (X-Next-Cursor: the before_id to ask for). */
async function ledgerPage(f: LedgerFilters, beforeId: number | undefined, limit: number) {
  const { body, headers } = await client.exchange<LedgerEntry[]>('GET', `/api/account/ledger${ledgerSearch(f, { before_id: beforeId, limit })}`);
  return { entries: body, next: nextCursor(headers.get('x-next-cursor')) };
}

/** The filtered ledger, newest first, page by page ("Load more"). */
export const useLedgerPages = (f: LedgerFilters) =>
  useInfiniteQuery({
    queryKey: billingKeys.pages(f),
    queryFn: ({ pageParam }) => ledgerPage(f, pageParam, PAGE),
    initialPageParam: undefined as number | undefined,
    getNextPageParam: (last) => last.next ?? undefined,
  });

/** A statement lists every row of its month: follow the cursor to the end (bounded, in case). */
export const useMonthLedger = (month: string, enabled = true) =>
  useQuery({
    queryKey: billingKeys.month(month),
    enabled,
    queryFn: async () => {
      const rows: LedgerEntry[] = [];
      let before: number | undefined;
      for (let i = 0; i < 50; i++) {
        const page = await ledgerPage({ month }, before, 1000);
        rows.push(...page.entries);
        if (page.next === null) return { rows, complete: true };
        before = page.next;
      }
      return { rows, complete: false };
    },
  });
