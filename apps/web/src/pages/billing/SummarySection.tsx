import type { AccountBilling } from '@twarga/contract';
import type { ReactNode } from 'react';
import { Section } from '../../components/Section';
import { credits, formatNumber } from '../../format';
import { burnText, capText, hoursText, monthLabel, runwayText } from './billing';
import { BillingStateBadge, BillingStateNotice } from './BillingState';

function Stat({ term, children, hint, testId }: { term: string; children: ReactNode; hint?: ReactNode; testId?: string }) {
  return (
    <div className="rounded-lg bg-slate-50 px-4 py-3 dark:bg-slate-800/60">
      <dt className="text-xs font-medium uppercase tracking-wide text-slate-600 dark:text-slate-400">{term}</dt>
      <dd className="mt-1" data-testid={testId}>
        <span className="text-lg font-semibold text-slate-900 dark:text-white">{children}</span>
        {hint && <span className="mt-0.5 block text-xs text-slate-600 dark:text-slate-400">{hint}</span>}
      </dd>
    </div>
  );
}

/** Balance, burn and runway: the three numbers that keep a user from being surprised. */
export function SummarySection({ billing }: { billing: AccountBilling }) {
  return (
    <Section title="Balance and runway">
      <dl className="grid grid-cols-2 gap-3 lg:grid-cols-4">
        <Stat term="Balance" testId="billing-balance">{credits(billing.balance)}</Stat>
        <Stat term="Burn rate" testId="billing-burn" hint="Your VMs, running or stopped">{burnText(billing.burn_rate_hourly)}</Stat>
        <Stat term="Runway" testId="billing-runway">{runwayText(billing)}</Stat>
        <Stat term="Status" hint={`${monthLabel(billing.month)} so far: ${formatNumber(billing.month_to_date.hours)} h, ${credits(billing.month_to_date.credits)}`}>
          <BillingStateBadge state={billing.state} />
        </Stat>
      </dl>
      <BillingStateNotice summary={billing} className="mt-4" />
    </Section>
  );
}

/** The server's rules, as they are configured. */
export function PolicySection({ policy }: { policy: AccountBilling['policy'] }) {
  const thresholds = [...policy.low_balance_thresholds].sort((a, b) => b - a);
  return (
    <Section title="How billing works">
      <ul className="list-disc space-y-2 pl-5 text-sm text-slate-700 dark:text-slate-300">
        <li>
          Each VM is charged its hourly price for every <strong>started</strong> hour, from the moment it is created.
        </li>
        <li data-testid="policy-stopped">
          <strong>A stopped VM still bills until you destroy it</strong>: its disk and its reserved resources stay yours. Destroy the VMs you no longer need.
        </li>
        <li data-testid="policy-cap">
          Monthly cap: a VM is charged at most <strong>{capText(policy.monthly_cap_hours)}</strong> per calendar month (UTC), then it costs nothing more that month.
        </li>
        <li>
          {thresholds.length > 0
            ? <>You are warned once when your balance falls below {thresholds.map((t, i) => <span key={t}>{i > 0 && (i === thresholds.length - 1 ? ' and ' : ', ')}<strong>{credits(t)}</strong></span>)}; a top-up re-arms the warning.</>
            : 'No low-balance warnings are configured on this server.'}
        </li>
        <li>
          At a balance of zero a <strong>grace period of {hoursText(policy.grace_hours)}</strong> starts: your VMs keep running. When it ends, your VMs are stopped, and new VMs and starts are refused until credits are added.
        </li>
        <li>
          {policy.destroy_after_hours > 0
            ? <>VMs stopped for lack of credits are <strong>destroyed {hoursText(policy.destroy_after_hours)} after they were stopped</strong>, unless credits are added by then.</>
            : 'VMs are never destroyed for lack of credits: they stay stopped until a top-up.'}
        </li>
      </ul>
    </Section>
  );
}
