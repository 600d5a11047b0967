import type { Event } from '@twarga/contract';
import { memo, useCallback, useRef } from 'react';
import { table } from '../../components/ui';
import { SEVERITY_STRIPE, SeverityBadge } from './Severity';

const timeFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
export const formatEventTime = (iso: string) => timeFmt.format(new Date(iso));

/** Who or what an event is about, in a few words. */
export function subjectOf(e: Event): string {
  const parts = [e.username ? `user ${e.username}` : null, e.vm_id !== null ? `VM #${e.vm_id}` : null].filter(Boolean);
  return parts.join(' · ') || '—';
}

/** One row; memoised, so a pushed event renders its own row and not the whole list again. */
const EventRow = memo(function EventRow({ e, onOpen }: { e: Event; onOpen: (id: number) => void }) {
  return (
    <tr data-testid="soc-event" data-event-id={e.id} data-severity={e.severity} onClick={() => onOpen(e.id)} className={`cursor-pointer border-l-4 hover:bg-slate-50 dark:hover:bg-slate-800/60 ${SEVERITY_STRIPE[e.severity]}`}>
      <td className={`${table.td} whitespace-nowrap tabular-nums text-xs`}>
        <time dateTime={e.timestamp}>{formatEventTime(e.timestamp)}</time>
      </td>
      <td className={table.td}><SeverityBadge severity={e.severity} /></td>
      <td className={`${table.td} min-w-64`}>
        <button type="button" className="rounded-sm text-left font-medium text-slate-900 hover:underline focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 dark:text-white" onClick={(ev) => { ev.stopPropagation(); onOpen(e.id); }}>
          {e.message}
        </button>
        <span className="mt-0.5 flex flex-wrap items-center gap-2 text-xs text-slate-600 dark:text-slate-400">
          <code className="font-mono">{e.code}</code>
          <span>{e.type}</span>
          {e.count > 1 && <span className="rounded bg-slate-200 px-1.5 font-semibold text-slate-800 dark:bg-slate-700 dark:text-slate-100" title={`Last at ${formatEventTime(e.last_seen)}`}>×{e.count}</span>}
        </span>
      </td>
      <td className={`${table.td} hidden text-xs md:table-cell`}>{subjectOf(e)}</td>
      <td className={`${table.td} hidden font-mono text-xs sm:table-cell`}>{e.source_ip ?? '—'}</td>
    </tr>
  );
});

/** Events as table rows; a click (or Enter on the message button) opens one. */
export function EventTable({ events, onOpen, caption, testId }: { events: readonly Event[]; onOpen: (id: number) => void; caption: string; testId?: string }) {
  // One callback for the table's life, so the memoised rows do not all render when the parent does.
  const latest = useRef(onOpen);
  latest.current = onOpen;
  const open = useCallback((id: number) => latest.current(id), []);
  return (
    <div className={table.wrap}>
      <table className={table.table} data-testid={testId}>
        <caption className="sr-only">{caption}</caption>
        <thead>
          <tr>
            <th scope="col" className={table.th}>Time</th>
            <th scope="col" className={table.th}>Severity</th>
            <th scope="col" className={table.th}>Event</th>
            <th scope="col" className={`${table.th} hidden md:table-cell`}>About</th>
            <th scope="col" className={`${table.th} hidden sm:table-cell`}>Source</th>
          </tr>
        </thead>
        <tbody className={table.tbody}>
          {events.map((e) => (
            <EventRow key={e.id} e={e} onOpen={open} />
          ))}
        </tbody>
      </table>
    </div>
  );
}
