import type { Event, LedgerEntry } from '@twarga/contract';
import { EmptyList } from '../../components/EmptyState';
import { Section } from '../../components/Section';
import { muted, table } from '../../components/ui';
import { formatDateTime, formatNumber, formatSigned } from '../../format';
import { SeverityBadge } from '../soc/Severity';

/** The user's newest credit history rows (charges, grants, adjustments), newest first. */
export function UserLedgerSection({ ledger }: { ledger: LedgerEntry[] }) {
  return (
    <Section title="Credit history" description="The newest rows of the user's ledger.">
      {ledger.length === 0 ? (
        <EmptyList>No credit history yet</EmptyList>
      ) : (
        <div className={table.wrap}>
          <table className={table.table}>
            <caption className="sr-only">Credit history</caption>
            <thead>
              <tr>
                <th scope="col" className={table.th}>Date</th>
                <th scope="col" className={`${table.th} text-right`}>Amount</th>
                <th scope="col" className={table.th}>Reason</th>
                <th scope="col" className={`${table.th} text-right`}>Balance after</th>
              </tr>
            </thead>
            <tbody className={table.tbody}>
              {ledger.map((e) => (
                <tr key={e.id} data-testid="user-ledger-row">
                  <td className={`${table.td} whitespace-nowrap`}>{formatDateTime(e.created_at)}</td>
                  <td className={`${table.td} whitespace-nowrap text-right font-semibold tabular-nums ${e.amount >= 0 ? 'text-emerald-700 dark:text-emerald-300' : 'text-red-700 dark:text-red-300'}`}>{formatSigned(e.amount)}</td>
                  <td className={table.td}>
                    {e.reason}
                    {e.vm_id !== null && <span className={`ml-1 text-xs ${muted}`}>(VM #{e.vm_id}{e.hours ? `, ${e.hours} h` : ''})</span>}
                  </td>
                  <td className={`${table.td} whitespace-nowrap text-right tabular-nums`}>{formatNumber(e.balance_after)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}

/** The newest events about the user: sign-ins, VM changes, billing warnings, admin actions. */
export function UserEventsSection({ events }: { events: Event[] }) {
  return (
    <Section title="Events" description="The newest events about this user and their VMs.">
      {events.length === 0 ? (
        <EmptyList>No events yet</EmptyList>
      ) : (
        <ul className="divide-y divide-slate-200 rounded-lg border border-slate-200 dark:divide-slate-800 dark:border-slate-800">
          {events.map((e) => (
            <li key={e.id} className="flex flex-wrap items-center gap-x-3 gap-y-1 px-4 py-2.5 text-sm" data-testid="user-event">
              <SeverityBadge severity={e.severity} />
              <span className="min-w-0 flex-1 text-slate-900 dark:text-slate-100">{e.message}</span>
              <code className={`font-mono text-xs ${muted}`}>{e.code}</code>
              <time className={`whitespace-nowrap text-xs tabular-nums ${muted}`} dateTime={e.timestamp}>{formatDateTime(e.timestamp)}</time>
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}
