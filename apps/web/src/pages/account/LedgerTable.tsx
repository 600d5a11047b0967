import { useQuery } from '@tanstack/react-query';
import { client, errorMessage, keys } from '../../api';
import { Alert } from '../../components/Alert';
import { EmptyList } from '../../components/EmptyState';
import { SkeletonRows } from '../../components/Spinner';
import { table } from '../../components/ui';
import { formatDateTime, formatNumber, formatSigned } from '../../format';

/** Every change to the balance, newest first as the server sends it. */
export function LedgerTable() {
  const ledger = useQuery({ queryKey: keys.ledger, queryFn: client.account.ledger });
  if (ledger.isPending) return <SkeletonRows label="Loading credit history…" />;
  if (ledger.isError) return <Alert>Could not load your credit history: {errorMessage(ledger.error)}</Alert>;
  if (ledger.data.length === 0) return <EmptyList>No credit history yet</EmptyList>;
  return (
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
          {ledger.data.map((e) => (
            <tr key={e.id}>
              <td className={`${table.td} whitespace-nowrap`}>{formatDateTime(e.created_at)}</td>
              <td className={`${table.td} whitespace-nowrap text-right font-semibold tabular-nums ${e.amount >= 0 ? 'text-emerald-700 dark:text-emerald-300' : 'text-red-700 dark:text-red-300'}`}>
                {formatSigned(e.amount)}
              </td>
              <td className={table.td}>{e.reason}</td>
              <td className={`${table.td} whitespace-nowrap text-right tabular-nums`}>{formatNumber(e.balance_after)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
