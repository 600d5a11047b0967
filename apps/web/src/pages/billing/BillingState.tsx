import type { BillingState, BillingSummary } from '@twarga/contract';
import { Link } from 'react-router';
import { Alert } from '../../components/Alert';
import { link } from '../../components/ui';
import { formatDateTime } from '../../format';
import { STATE_LABELS } from './billing';
import { useBilling } from './queries';

const BADGE: Record<BillingState, string> = {
  ok: 'bg-emerald-100 text-emerald-800 dark:bg-emerald-900/50 dark:text-emerald-200',
  low: 'bg-amber-100 text-amber-900 dark:bg-amber-900/50 dark:text-amber-100',
  grace: 'bg-red-100 text-red-800 dark:bg-red-900/50 dark:text-red-200',
  suspended: 'bg-red-100 text-red-800 dark:bg-red-900/50 dark:text-red-200',
};
const DOT: Record<BillingState, string> = { ok: 'bg-emerald-500', low: 'bg-amber-500', grace: 'bg-red-500 animate-pulse', suspended: 'bg-red-500' };

export function BillingStateBadge({ state }: { state: BillingState }) {
  return (
    <span data-testid="billing-state" className={`inline-flex items-center gap-1.5 whitespace-nowrap rounded-full px-2.5 py-0.5 text-xs font-semibold ${BADGE[state]}`}>
      <span aria-hidden="true" className={`h-1.5 w-1.5 rounded-full ${DOT[state]}`} />
      {STATE_LABELS[state]}
    </span>
  );
}

/** Who tops up: there is no self-service payment, an administrator adds credits. */
const TOP_UP = 'An administrator adds credits to your account.';

/**
 * What the state means for the user's VMs, in plain words; null when there is nothing to say.
 * Used on the billing page and (grace and suspended only) above the VM list.
 */
export function BillingStateNotice({ summary, withLink = false, className = '' }: { summary: BillingSummary; withLink?: boolean; className?: string }) {
  const more = withLink && (
    <>
      {' '}
      <Link to="/billing" className={link}>
        See billing
      </Link>
    </>
  );
  if (summary.state === 'grace') {
    return (
      <Alert tone="error" title="Your balance has run out" className={className}>
        Your VMs will be stopped at <strong>{summary.grace_ends_at ? formatDateTime(summary.grace_ends_at) : 'the end of the grace period'}</strong> unless credits are added. {TOP_UP}
        {more}
      </Alert>
    );
  }
  if (summary.state === 'suspended') {
    return (
      <Alert tone="error" title="Your VMs were stopped" className={className}>
        Your VMs were stopped for lack of credits{summary.suspended_at ? ` on ${formatDateTime(summary.suspended_at)}` : ''}: add credits to start them again. Until then, new VMs and starts are refused. {TOP_UP}
        {summary.destroy_at && (
          <>
            {' '}They will be <strong>destroyed at {formatDateTime(summary.destroy_at)}</strong> if no credits are added by then.
          </>
        )}
        {more}
      </Alert>
    );
  }
  if (summary.state === 'low' && !withLink) {
    return (
      <Alert tone="warning" title="Your balance is low" className={className}>
        Add credits before it reaches zero: at zero a grace period starts, and then your VMs are stopped. {TOP_UP}
      </Alert>
    );
  }
  return null;
}

/** Above the VM list: said loudly when VMs are about to be, or were, stopped for lack of credits. */
export function BillingBanner() {
  const billing = useBilling();
  if (!billing.data || (billing.data.state !== 'grace' && billing.data.state !== 'suspended')) return null;
  return <BillingStateNotice summary={billing.data} withLink className="mb-6" />;
}
