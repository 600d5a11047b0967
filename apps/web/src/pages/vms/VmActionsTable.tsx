import { Fragment, useEffect, useRef, useState } from 'react';
import { errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { EmptyList } from '../../components/EmptyState';
import { Section } from '../../components/Section';
import { SkeletonRows } from '../../components/Spinner';
import { button, table } from '../../components/ui';
import { formatDateTime } from '../../format';
import { ActionLogView } from './ActionLog';
import { useVmActions } from './queries';
import { ActionStatusBadge } from './StatusBadge';

/** Every action on the VM (create, start, stop…), as the server lists them, each with its log. */
export function ActionsSection({ vmId }: { vmId: number }) {
  const actions = useVmActions(vmId);
  // A running action opens its log so it can be followed as it happens; it stays open after.
  const [open, setOpen] = useState<ReadonlySet<number>>(new Set());
  const autoOpened = useRef(new Set<number>());
  useEffect(() => {
    const running = (actions.data ?? []).filter((a) => a.status === 'in-progress' && !autoOpened.current.has(a.id)).map((a) => a.id);
    if (running.length === 0) return;
    for (const id of running) autoOpened.current.add(id);
    setOpen((prev) => new Set([...prev, ...running]));
  }, [actions.data]);
  const isOpen = (a: { id: number }) => open.has(a.id);
  const toggle = (id: number) =>
    setOpen((prev) => {
      const next = new Set(prev);
      if (!next.delete(id)) next.add(id);
      return next;
    });
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
                <th scope="col" className={table.th}>
                  <span className="sr-only">Log</span>
                </th>
              </tr>
            </thead>
            <tbody className={table.tbody}>
              {actions.data.map((a) => (
                <Fragment key={a.id}>
                  <tr>
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
                    <td className={`${table.td} text-right`}>
                      <button type="button" className={button.ghost} aria-expanded={isOpen(a)} aria-controls={`action-log-${a.id}`} onClick={() => toggle(a.id)}>
                        {isOpen(a) ? 'Hide log' : 'Log'}
                        <span className="sr-only"> of {a.type} action {a.id}</span>
                      </button>
                    </td>
                  </tr>
                  {isOpen(a) && (
                    <tr>
                      <td colSpan={6} className="bg-slate-50 px-3 py-3 sm:px-4 dark:bg-slate-800/40">
                        <ActionLogView actionId={a.id} id={`action-log-${a.id}`} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}
