import type { LedgerEntry } from '@twarga/contract';
import { Link } from 'react-router';
import { link, table } from '../../components/ui';
import { formatDateTime, formatNumber, formatSigned } from '../../format';
import { entryKind, LEDGER_KIND_LABELS } from './billing';

const amountTone = (n: number) => (n >= 0 ? 'text-emerald-700 dark:text-emerald-300 print:text-black' : 'text-red-700 dark:text-red-300 print:text-black');

/**
 * Ledger rows: date, kind, VM, reason, amount and the balance after. `paper`: the statement's
 * light, printable look (no dark variants, no links).
 */
export function LedgerRows({ entries, vmNames, caption, paper = false }: { entries: readonly LedgerEntry[]; vmNames: ReadonlyMap<number, string>; caption: string; paper?: boolean }) {
  const th = paper ? 'border-b border-slate-300 px-2 py-1.5 text-xs font-semibold uppercase tracking-wide text-slate-600' : table.th;
  const td = paper ? 'border-b border-slate-200 px-2 py-1.5 align-top text-slate-800' : table.td;
  const vmCell = (id: number | null) => {
    if (id === null) return '—';
    const name = vmNames.get(id) ?? `VM #${id}`;
    return paper ? name : <Link to={`/vms/${id}`} className={link}>{name}</Link>;
  };
  return (
    <div className={paper ? '' : table.wrap}>
      <table className={paper ? 'w-full border-collapse text-left text-xs' : table.table} data-testid={paper ? 'statement-ledger' : 'ledger'}>
        <caption className="sr-only">{caption}</caption>
        <thead>
          <tr>
            <th scope="col" className={th}>Date</th>
            <th scope="col" className={th}>Kind</th>
            <th scope="col" className={th}>VM</th>
            <th scope="col" className={th}>Description</th>
            <th scope="col" className={`${th} text-right`}>Amount</th>
            <th scope="col" className={`${th} text-right`}>Balance after</th>
          </tr>
        </thead>
        <tbody className={paper ? '' : table.tbody}>
          {entries.map((e) => (
            <tr key={e.id} className="break-inside-avoid">
              <td className={`${td} whitespace-nowrap`}>{formatDateTime(e.created_at)}</td>
              <td className={`${td} whitespace-nowrap`}>{LEDGER_KIND_LABELS[entryKind(e)]}</td>
              <td className={`${td} min-w-20 [overflow-wrap:anywhere]`}>{vmCell(e.vm_id)}</td>
              <td className={`${td} [overflow-wrap:anywhere]`}>
                {e.reason}
                {e.hours !== null && e.hours > 1 && <span className={paper ? 'text-slate-600' : 'text-slate-600 dark:text-slate-400'}> ({formatNumber(e.hours)} hours)</span>}
              </td>
              <td className={`${td} whitespace-nowrap text-right font-semibold tabular-nums ${paper ? '' : amountTone(e.amount)}`}>{formatSigned(e.amount)}</td>
              <td className={`${td} whitespace-nowrap text-right tabular-nums`}>{formatNumber(e.balance_after)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
