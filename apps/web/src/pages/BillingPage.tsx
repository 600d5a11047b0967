import { useCallback, useMemo } from 'react';
import { useSearchParams } from 'react-router';
import { errorMessage } from '../api';
import { Alert } from '../components/Alert';
import { PageHeader } from '../components/PageHeader';
import { SkeletonRows } from '../components/Spinner';
import { link } from '../components/ui';
import { useTitle } from '../useTitle';
import { MONTH_RE } from './billing/billing';
import { readLedgerFilters, writeLedgerFilters, type LedgerFilters } from './billing/ledgerFilters';
import { LedgerSection } from './billing/LedgerSection';
import { useBilling, useBillingUsage } from './billing/queries';
import { PolicySection, SummarySection } from './billing/SummarySection';
import { UsageSection } from './billing/UsageSection';
import { useVms } from './vms/queries';

/**
 * Balance, burn and runway; the rules; usage per VM and month; the credit history. The usage
 * month (`usage`) and the history's filters live in the query string, so a view can be shared.
 */
export function BillingPage() {
  useTitle('Billing');
  const [params, setParams] = useSearchParams();
  const billing = useBilling();
  const current = useBillingUsage(undefined);
  const vms = useVms();

  const usageParam = params.get('usage');
  const usageMonth = usageParam && MONTH_RE.test(usageParam) ? usageParam : undefined;
  const filters = useMemo(() => readLedgerFilters(params), [params]);
  const setFilters = useCallback((f: LedgerFilters) => setParams((prev) => writeLedgerFilters(prev, f)), [setParams]);
  const setUsageMonth = useCallback(
    (m: string | undefined) =>
      setParams((prev) => {
        const next = new URLSearchParams(prev);
        if (m) next.set('usage', m);
        else next.delete('usage');
        return next;
      }),
    [setParams],
  );

  // Every VM the user had (destroyed ones still have history), by id.
  const vmList = useMemo(() => {
    const byId = new Map<number, string>();
    for (const v of billing.data?.vms ?? []) byId.set(v.vm_id, v.name);
    for (const v of vms.data ?? []) byId.set(v.id, v.name);
    return [...byId].map(([id, name]) => ({ id, name })).sort((a, b) => a.name.localeCompare(b.name));
  }, [billing.data, vms.data]);

  return (
    <>
      <PageHeader title="Billing" description="What your VMs cost, how long your credits last, and every change to your balance." />
      <div className="space-y-6">
        {billing.isPending && <SkeletonRows label="Loading your balance…" rows={2} />}
        {billing.isError && (
          <Alert title="Could not load your billing">
            {errorMessage(billing.error)}{' '}
            <button type="button" className={`${link} underline`} onClick={() => void billing.refetch()}>
              Try again
            </button>
          </Alert>
        )}
        {billing.data && <SummarySection billing={billing.data} />}
        <UsageSection month={usageMonth} onMonth={setUsageMonth} />
        <LedgerSection filters={filters} onChange={setFilters} vms={vmList} months={current.data?.months ?? []} />
        {billing.data && <PolicySection policy={billing.data.policy} />}
      </div>
    </>
  );
}
