import type { NotificationChannel, NotificationDelivery } from '@twarga/contract';
import { table } from '../../components/ui';
import { formatDateTime } from '../../format';

const TONE: Record<NotificationDelivery['status'], string> = {
  delivered: 'bg-emerald-100 text-emerald-800 dark:bg-emerald-900/50 dark:text-emerald-200',
  pending: 'bg-amber-100 text-amber-900 dark:bg-amber-900/50 dark:text-amber-100',
  failed: 'bg-red-100 text-red-800 dark:bg-red-900/50 dark:text-red-200',
};

export function DeliveryStatus({ d }: { d: NotificationDelivery }) {
  return <span className={`inline-block whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-semibold ${TONE[d.status]}`}>{d.status}</span>;
}

/** "HTTP 200 after 1 attempt" / "failed: connection refused (3 attempts)". */
export function deliveryOutcome(d: NotificationDelivery): string {
  const attempts = `${d.attempts} ${d.attempts === 1 ? 'attempt' : 'attempts'}`;
  const code = d.response_code !== null ? `answer ${d.response_code}` : '';
  return [code, d.error, attempts].filter(Boolean).join(' · ');
}

/** What was sent where, newest first. */
export function DeliveriesTable({ list, channels }: { list: NotificationDelivery[]; channels: NotificationChannel[] | undefined }) {
  return (
    <div className={table.wrap}>
      <table className={table.table} data-testid="deliveries-table">
        <caption className="sr-only">Notification deliveries</caption>
        <thead>
          <tr>
            <th scope="col" className={table.th}>Status</th>
            <th scope="col" className={table.th}>Channel</th>
            <th scope="col" className={table.th}>What</th>
            <th scope="col" className={`${table.th} hidden md:table-cell`}>Outcome</th>
            <th scope="col" className={`${table.th} hidden sm:table-cell`}>When</th>
          </tr>
        </thead>
        <tbody className={table.tbody}>
          {list.map((d) => (
            <tr key={d.id}>
              <td className={table.td}><DeliveryStatus d={d} /></td>
              <td className={table.td}>{channels?.find((c) => c.id === d.channel_id)?.name ?? `#${d.channel_id}`}</td>
              <td className={table.td}>
                <span className="font-medium text-slate-900 dark:text-white">{d.subject}</span>
                <span className="block text-xs text-slate-600 dark:text-slate-400">{d.topic}</span>
              </td>
              <td className={`${table.td} hidden text-xs md:table-cell`}>{deliveryOutcome(d)}</td>
              <td className={`${table.td} hidden whitespace-nowrap sm:table-cell`}>{formatDateTime(d.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
