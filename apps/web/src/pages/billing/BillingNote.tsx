import { Link } from 'react-router';
import { link } from '../../components/ui';
import { credits } from '../../format';
import { capText, monthlyCapCredits } from './billing';
import { useBilling } from './queries';

/**
 * The two facts a VM's price needs next to it: a stopped VM still bills until destroyed, and the
 * most it can cost in a month (the monthly cap).
 */
export function StoppedBillsNote({ priceHourly, className = '' }: { priceHourly: number; className?: string }) {
  const billing = useBilling();
  const cap = billing.data?.policy.monthly_cap_hours;
  return (
    <p className={`text-sm text-slate-600 dark:text-slate-400 ${className}`} data-testid="stopped-bills-note">
      A stopped VM still bills until you destroy it.
      {cap !== undefined && (
        <>
          {' '}It costs at most <strong className="font-semibold">{credits(monthlyCapCredits(priceHourly, cap))}</strong> a month: billing stops each calendar month at the monthly cap of {capText(cap)}.
        </>
      )}{' '}
      <Link to="/billing" className={link}>
        See billing
      </Link>
    </p>
  );
}
