import { errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { EmptyList } from '../../components/EmptyState';
import { Section } from '../../components/Section';
import { SkeletonRows } from '../../components/Spinner';
import { table } from '../../components/ui';
import { formatDateTime } from '../../format';
import { useVmActions } from './queries';
import { ActionStatusBadge } from './StatusBadge';

/** Every action on the VM (create, start, stop…), as the server lists them. */
export function ActionsSection({ vmId }: { vmId: number }) {
  const actions = useVmActions(vmId);
  return (
    <Section title="Actions" description="Every operation on this VM and how it went.">
      {actions.isPending && <SkeletonRows label="Loading actions…" rows={2} />}
      {actions.isError && <Alert>Could not load the actions: {errorMessage(actions.error)}</Alert>}
      {actions.isSuccess && actions.data.length === 0 && <EmptyList>No actions yet</EmptyList>}
      {actions.isSuccess && actions.data.length > 0 && (
        <div className={table.wrap}>
          <table className={table.table}>
            <caption className="sr-only">Actions on this VM</caption>
            <thead>
              <tr>
                <th scope="col" className={table.th}>Type</th>
                <th scope="col" className={table.th}>Status</th>
                <th scope="col" className={`${table.th} hidden sm:table-cell`}>Started</th>
                <th scope="col" className={`${table.th} hidden sm:table-cell`}>Completed</th>
                <th scope="col" className={table.th}>Error</th>
              </tr>
            </thead>
            <tbody className={table.tbody}>
              {actions.data.map((a) => (
                <tr key={a.id}>
                  <td className={`${table.td} font-medium text-slate-900 dark:text-white`}>
                    {a.type}
                    <span className="mt-0.5 block text-xs font-normal text-slate-600 sm:hidden dark:text-slate-400">{formatDateTime(a.started_at)}</span>
                  </td>
                  <td className={table.td}>
                    <ActionStatusBadge status={a.status} />
                  </td>
                  <td className={`${table.td} hidden whitespace-nowrap sm:table-cell`}>{formatDateTime(a.started_at)}</td>
                  <td className={`${table.td} hidden whitespace-nowrap sm:table-cell`}>{a.completed_at ? formatDateTime(a.completed_at) : '—'}</td>
                  <td className={`${table.td} text-red-700 [overflow-wrap:anywhere] dark:text-red-300`}>{a.error ?? <span className="text-slate-600 dark:text-slate-400">—</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}
