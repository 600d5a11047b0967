import type { BillingUsage } from '@twarga/contract';
import { useId } from 'react';
import { Link } from 'react-router';
import { errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { EmptyList } from '../../components/EmptyState';
import { Section } from '../../components/Section';
import { SkeletonRows } from '../../components/Spinner';
import { button, input, link, table } from '../../components/ui';
import { credits, formatNumber } from '../../format';
import { VmStatusBadge } from '../vms/StatusBadge';
import { formatPrice } from '../vms/format';
import { currentMonth, monthLabel, monthOptions } from './billing';
import { useBillingUsage } from './queries';

function UsageTable({ usage }: { usage: BillingUsage }) {
  if (usage.vms.length === 0) return <EmptyList>No VM was billed in {monthLabel(usage.month)}.</EmptyList>;
  return (
    <div className={table.wrap}>
      <table className={table.table} data-testid="usage-table">
        <caption className="sr-only">Usage per VM in {monthLabel(usage.month)}</caption>
        <thead>
          <tr>
            <th scope="col" className={table.th}>VM</th>
            <th scope="col" className={table.th}>Status</th>
            <th scope="col" className={`${table.th} text-right`}>Price</th>
            <th scope="col" className={`${table.th} text-right`}>Hours</th>
            <th scope="col" className={`${table.th} text-right`}>Credits</th>
          </tr>
        </thead>
        <tbody className={table.tbody}>
          {usage.vms.map((vm) => (
            <tr key={vm.vm_id}>
              <td className={`${table.td} min-w-28 [overflow-wrap:anywhere]`}>
                <Link to={`/vms/${vm.vm_id}`} className={link}>{vm.name}</Link>
              </td>
              <td className={table.td}>
                <span className="inline-flex flex-wrap items-center gap-1">
                  <VmStatusBadge status={vm.status} />
                  {vm.capped && (
                    <span className="whitespace-nowrap rounded-full bg-indigo-100 px-2 py-0.5 text-xs font-semibold text-indigo-800 dark:bg-indigo-900/50 dark:text-indigo-200" title="It reached the monthly cap: it costs nothing more this month">
                      Capped
                    </span>
                  )}
                </span>
              </td>
              <td className={`${table.td} whitespace-nowrap text-right tabular-nums`}>{formatPrice(vm.price_hourly)}</td>
              <td className={`${table.td} text-right tabular-nums`}>{formatNumber(vm.hours)}</td>
              <td className={`${table.td} text-right font-semibold tabular-nums`}>{formatNumber(vm.credits)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr className="border-t border-slate-200 bg-slate-50 font-semibold dark:border-slate-800 dark:bg-slate-800/60">
            <th scope="row" colSpan={3} className={`${table.td} text-left`}>Total</th>
            <td className={`${table.td} text-right tabular-nums`}>{formatNumber(usage.total_hours)}</td>
            <td className={`${table.td} text-right tabular-nums`} data-testid="usage-total">{formatNumber(usage.total_credits)}</td>
          </tr>
        </tfoot>
      </table>
    </div>
  );
}

/** Usage per VM for a month, with a month picker and the link to its printable statement. */
export function UsageSection({ month, onMonth }: { month: string | undefined; onMonth: (m: string | undefined) => void }) {
  const usage = useBillingUsage(month);
  const id = useId();
  const shown = usage.data?.month ?? month ?? currentMonth();
  const options = monthOptions(usage.data?.months ?? (month ? [month] : []));
  return (
    <Section title="Usage per VM" description="Hours charged and credits spent, per VM and calendar month (UTC). Refunds are subtracted.">
      <div className="mb-4 flex flex-wrap items-end gap-3">
        <div>
          <label htmlFor={id} className="mb-1 block text-xs font-medium text-slate-700 dark:text-slate-300">Month</label>
          <select id={id} className={input} value={shown} onChange={(e) => onMonth(e.target.value === currentMonth() ? undefined : e.target.value)}>
            {options.map((m) => (
              <option key={m} value={m}>{monthLabel(m)}{m === currentMonth() ? ' (this month)' : ''}</option>
            ))}
          </select>
        </div>
        {usage.data && (
          <p className="text-sm text-slate-600 dark:text-slate-400">
            {credits(usage.data.total_credits)} over {formatNumber(usage.data.total_hours)} {usage.data.total_hours === 1 ? 'hour' : 'hours'}
          </p>
        )}
        <Link to={`/billing/statement/${shown}`} className={`${button.secondary} ml-auto`}>
          Statement for {monthLabel(shown)}
        </Link>
      </div>
      {usage.isPending && <SkeletonRows label="Loading usage…" />}
      {usage.isError && <Alert>Could not load the usage: {errorMessage(usage.error)}</Alert>}
      {usage.data && <UsageTable usage={usage.data} />}
    </Section>
  );
}
