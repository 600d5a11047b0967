import type { BillingUsage } from '@twarga/contract';
import { useMemo, type ReactNode } from 'react';
import { Link, useParams } from 'react-router';
import { errorMessage } from '../../api';
import { useMe } from '../../auth/useMe';
import { Alert } from '../../components/Alert';
import { LogoMark } from '../../components/Logo';
import { Loading } from '../../components/Spinner';
import { button } from '../../components/ui';
import { formatDateTime, formatNumber, formatSigned } from '../../format';
import { useTitle } from '../../useTitle';
import { currentMonth, MONTH_RE, monthLabel, statementTotals, usageLine } from './billing';
import { LedgerRows } from './LedgerRows';
import { useBillingUsage, useMonthLedger } from './queries';

const th = 'border-b border-slate-300 px-2 py-1.5 text-xs font-semibold uppercase tracking-wide text-slate-600';
const td = 'border-b border-slate-200 px-2 py-1.5 align-top text-slate-800';
const num = 'text-right tabular-nums whitespace-nowrap';

function Heading({ children }: { children: ReactNode }) {
  return <h2 className="mb-2 mt-7 break-after-avoid text-sm font-semibold uppercase tracking-wide text-slate-700">{children}</h2>;
}

function Totals({ usage, current }: { usage: BillingUsage; current: boolean }) {
  const t = statementTotals(usage);
  const row = (term: string, value: string, testId: string, strong = false) => (
    <div className={`flex justify-between gap-4 py-1.5 ${strong ? 'border-t-2 border-slate-800 font-semibold' : 'border-b border-slate-200'}`}>
      <dt>{term}</dt>
      <dd className={num} data-testid={testId}>{value}</dd>
    </div>
  );
  return (
    <dl className="max-w-sm text-sm text-slate-800">
      {row('Opening balance', formatNumber(t.opening), 'statement-opening')}
      {row('Credits added', formatSigned(t.added), 'statement-added')}
      {row('VM usage', formatSigned(-t.usage), 'statement-usage')}
      {t.other !== 0 && row('Other adjustments', formatSigned(t.other), 'statement-other')}
      {row(current ? 'Balance now' : 'Closing balance', formatNumber(t.closing), 'statement-closing', true)}
    </dl>
  );
}

function UsageLines({ usage }: { usage: BillingUsage }) {
  if (usage.vms.length === 0) return <p className="text-sm text-slate-600">No VM was billed this month.</p>;
  return (
    <table className="w-full border-collapse text-left text-xs" data-testid="statement-usage-table">
      <caption className="sr-only">Usage per VM</caption>
      <thead>
        <tr>
          <th scope="col" className={th}>VM</th>
          <th scope="col" className={`${th} text-right`}>Hours</th>
          <th scope="col" className={`${th} text-right`}>× Price per hour</th>
          <th scope="col" className={`${th} text-right`}>= Credits</th>
        </tr>
      </thead>
      <tbody>
        {usage.vms.map((vm) => {
          const line = usageLine(vm);
          return (
            <tr key={vm.vm_id} className="break-inside-avoid">
              <td className={`${td} [overflow-wrap:anywhere]`}>
                {vm.name} <span className="text-slate-500">#{vm.vm_id}</span>
                {vm.capped && <span className="text-slate-600"> · monthly cap reached</span>}
                {vm.destroyed_at && <span className="text-slate-600"> · destroyed {formatDateTime(vm.destroyed_at)}</span>}
              </td>
              <td className={`${td} ${num}`}>{formatNumber(vm.hours)}</td>
              <td className={`${td} ${num}`}>{formatNumber(vm.price_hourly)}</td>
              <td className={`${td} ${num}`}>
                {formatNumber(vm.credits)}
                {line.adjustment !== 0 && <span className="block text-slate-600">{formatNumber(line.gross)} {formatSigned(line.adjustment)} refunded</span>}
              </td>
            </tr>
          );
        })}
      </tbody>
      <tfoot>
        <tr className="font-semibold">
          <th scope="row" className="px-2 py-1.5 text-left">Total</th>
          <td className={`px-2 py-1.5 ${num}`}>{formatNumber(usage.total_hours)}</td>
          <td className="px-2 py-1.5" />
          <td className={`px-2 py-1.5 ${num}`} data-testid="statement-usage-total">{formatNumber(usage.total_credits)}</td>
        </tr>
      </tfoot>
    </table>
  );
}

/**
 * A month's statement as a printable sheet: balances, usage per VM (hours × price = credits) and
 * every ledger row of the month. It lives outside the app's header and footer (BareLayout), and
 * its toolbar is hidden in print, so it prints as the document alone on one or two A4 pages.
 */
export function StatementPage() {
  const { month = '' } = useParams();
  const valid = MONTH_RE.test(month);
  useTitle(valid ? `Statement ${monthLabel(month)}` : 'Statement');
  const me = useMe().data;
  const usage = useBillingUsage(month, valid);
  const ledger = useMonthLedger(month, valid);
  const vmNames = useMemo(() => new Map((usage.data?.vms ?? []).map((v) => [v.vm_id, v.name])), [usage.data]);
  const current = month === currentMonth();

  return (
    <div className="min-h-screen bg-slate-100 px-4 py-6 dark:bg-slate-950 print:min-h-0 print:bg-white print:p-0">
      <div className="mx-auto mb-4 flex max-w-[210mm] flex-wrap items-center justify-between gap-3 print:hidden">
        <Link to="/billing" className={button.secondary}>
          Back to billing
        </Link>
        <button type="button" className={button.primary} onClick={() => window.print()} disabled={!usage.data}>
          <svg viewBox="0 0 24 24" className="h-4 w-4" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
            <path d="M6 9V3h12v6M6 18H4a2 2 0 0 1-2-2v-5a2 2 0 0 1 2-2h16a2 2 0 0 1 2 2v5a2 2 0 0 1-2 2h-2M6 14h12v7H6z" />
          </svg>
          Print
        </button>
      </div>
      <main id="main" className="mx-auto max-w-[210mm] rounded-lg bg-white p-8 text-slate-900 shadow-sm ring-1 ring-slate-200 sm:p-12 print:max-w-none print:rounded-none print:p-0 print:shadow-none print:ring-0">
        <header className="flex flex-wrap items-start justify-between gap-4 border-b border-slate-300 pb-4">
          <div className="flex items-center gap-2.5">
            <LogoMark className="h-8 w-8 print:hidden" />
            <span className="text-lg font-bold tracking-tight">Twarga Cloud</span>
          </div>
          <div className="text-right">
            <h1 className="text-xl font-bold tracking-tight">Statement · {valid ? monthLabel(month) : month}</h1>
            <p className="text-xs text-slate-600">Calendar month, UTC{current ? ' · this month, so far' : ''}</p>
          </div>
        </header>
        {me && (
          <p className="mt-4 text-sm text-slate-700">
            Account <strong>{me.username}</strong> · {me.email}
          </p>
        )}
        {!valid && <Alert className="mt-6">“{month}” is no month: use the form YYYY-MM, such as {currentMonth()}.</Alert>}
        {valid && usage.isPending && <Loading label="Loading the statement…" />}
        {valid && usage.isError && <Alert className="mt-6">Could not load the statement: {errorMessage(usage.error)}</Alert>}
        {valid && usage.data && (
          <>
            <Heading>Summary</Heading>
            <Totals usage={usage.data} current={current} />
            <Heading>Usage per VM</Heading>
            <UsageLines usage={usage.data} />
            <Heading>Ledger</Heading>
            {ledger.isPending && <Loading label="Loading the ledger…" />}
            {ledger.isError && <Alert>Could not load the ledger: {errorMessage(ledger.error)}</Alert>}
            {ledger.data && (ledger.data.rows.length === 0 ? <p className="text-sm text-slate-600">No ledger row this month.</p> : <LedgerRows entries={ledger.data.rows} vmNames={vmNames} caption={`Ledger of ${monthLabel(month)}`} paper />)}
            {ledger.data && !ledger.data.complete && <p className="mt-2 text-xs text-slate-600">Only the newest rows are shown: export the month from the billing page for all of them.</p>}
            <p className="mt-8 border-t border-slate-300 pt-3 text-xs text-slate-600">
              Amounts in credits. VMs are charged per started hour, up to the monthly cap; a stopped VM bills until it is destroyed. Issued {formatDateTime(new Date().toISOString())}.
            </p>
          </>
        )}
      </main>
    </div>
  );
}
