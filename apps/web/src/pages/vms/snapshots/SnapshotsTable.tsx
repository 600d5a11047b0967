import type { Snapshot } from '@twarga/contract';
import { Link } from 'react-router';
import { button, link, muted, table } from '../../../components/ui';
import { formatDateTime } from '../../../format';
import { SnapshotStatusBadge } from '../StatusBadge';
import { monthlyPrice, snapshotContents, snapshotSize } from './snapshots';

interface Props {
  snapshots: Snapshot[];
  caption: string;
  /** The all-snapshots page names each one's VM; a VM's own tab does not. */
  showVm?: boolean;
  /** Restore (a VM's own tab only), with why it is unavailable now. */
  onRestore?: (s: Snapshot) => void;
  restoreBlocked?: string;
  onDelete: (s: Snapshot) => void;
}

/** Snapshots with their size, RAM, quiesced flag and monthly price; Restore, New VM and Delete per row. */
export function SnapshotsTable({ snapshots, caption, showVm = false, onRestore, restoreBlocked, onDelete }: Props) {
  return (
    <div className={table.wrap}>
      <table className={table.table}>
        <caption className="sr-only">{caption}</caption>
        <thead>
          <tr>
            <th scope="col" className={table.th}>Name</th>
            {showVm && <th scope="col" className={table.th}>VM</th>}
            <th scope="col" className={table.th}>Status</th>
            <th scope="col" className={table.th}>Size</th>
            <th scope="col" className={`${table.th} hidden lg:table-cell`}>Contents</th>
            <th scope="col" className={`${table.th} hidden sm:table-cell`}>Per month</th>
            <th scope="col" className={table.th}>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody className={table.tbody}>
          {snapshots.map((s) => (
            <tr key={s.id} data-testid={`snapshot-${s.id}`}>
              <td className={`${table.td} min-w-[9rem] font-medium text-slate-900 [overflow-wrap:anywhere] dark:text-white`}>
                {s.name}
                <span className="mt-0.5 block text-xs font-normal text-slate-600 dark:text-slate-400">
                  taken <time dateTime={s.created_at}>{formatDateTime(s.created_at)}</time>
                </span>
              </td>
              {showVm && (
                <td className={`${table.td} min-w-[7rem] [overflow-wrap:anywhere]`}>
                  {s.vm_id !== null ? (
                    <Link to={`/vms/${s.vm_id}/snapshots`} className={link}>
                      {s.vm_name}
                    </Link>
                  ) : (
                    <>
                      {s.vm_name} <span className={`text-xs ${muted}`}>(destroyed)</span>
                    </>
                  )}
                </td>
              )}
              <td className={table.td}>
                <SnapshotStatusBadge status={s.status} />
                {s.status === 'error' && s.error && <span className="mt-1 block text-xs text-red-700 [overflow-wrap:anywhere] dark:text-red-300">{s.error}</span>}
              </td>
              <td className={`${table.td} whitespace-nowrap`}>
                <span className="block">{snapshotSize(s).bytes}</span>
                <span className={`block text-xs ${muted}`}>{snapshotSize(s).billed}</span>
              </td>
              <td className={`${table.td} hidden whitespace-nowrap lg:table-cell`}>
                <span className="block">{snapshotContents(s).kind}</span>
                <span className={`block text-xs ${muted}`}>{snapshotContents(s).note}</span>
              </td>
              <td className={`${table.td} hidden whitespace-nowrap sm:table-cell`}>{monthlyPrice(s.price_monthly)}</td>
              <td className={`${table.td} text-right`}>
                <div className="flex justify-end gap-1 whitespace-nowrap">
                  {onRestore && (
                    <span title={restoreBlocked}>
                      <button type="button" className={button.ghost} disabled={s.status !== 'available' || Boolean(restoreBlocked)} onClick={() => onRestore(s)}>
                        Restore<span className="sr-only"> {s.name}</span>
                      </button>
                    </span>
                  )}
                  {s.status === 'available' && (
                    <Link to={`/vms/new?snapshot=${s.id}`} className={button.ghost}>
                      New VM<span className="sr-only"> from {s.name}</span>
                    </Link>
                  )}
                  <button type="button" className={button.dangerGhost} disabled={s.status === 'creating' || s.status === 'deleting'} onClick={() => onDelete(s)}>
                    Delete<span className="sr-only"> {s.name}</span>
                  </button>
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
