import type { Event } from '@twarga/contract';
import type { ReactNode } from 'react';
import { errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { Dialog } from '../../components/Dialog';
import { Loading } from '../../components/Spinner';
import { button } from '../../components/ui';
import { formatEventTime } from './EventRows';
import { useEventDetail } from './queries';
import { SeverityBadge } from './Severity';

function Field({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs font-medium uppercase tracking-wide text-slate-600 dark:text-slate-400">{term}</dt>
      <dd className="mt-0.5 break-words text-sm text-slate-900 dark:text-slate-100">{children}</dd>
    </div>
  );
}

const none = <span className="text-slate-500 dark:text-slate-400">—</span>;

/** Related events as buttons: each opens that event in the same dialog. */
function Related({ title, events, onOpen, testId }: { title: string; events: readonly Event[] | undefined; onOpen: (id: number) => void; testId: string }) {
  return (
    <section className="min-w-0" data-testid={testId}>
      <h3 className="text-sm font-semibold text-slate-900 dark:text-white">
        {title} <span className="font-normal text-slate-600 dark:text-slate-400">({events?.length ?? 0})</span>
      </h3>
      {events && events.length > 0 ? (
        <ul className="mt-1.5 max-h-48 space-y-1 overflow-y-auto">
          {events.map((e) => (
            <li key={e.id}>
              <button type="button" className="flex w-full items-center gap-2 rounded-md px-2 py-1 text-left text-xs hover:bg-slate-100 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 dark:hover:bg-slate-800" onClick={() => onOpen(e.id)}>
                <SeverityBadge severity={e.severity} />
                <span className="min-w-0 flex-1 truncate text-slate-900 dark:text-slate-100">{e.message}</span>
                <time className="shrink-0 tabular-nums text-slate-600 dark:text-slate-400" dateTime={e.timestamp}>{formatEventTime(e.timestamp)}</time>
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p className="mt-1.5 text-xs text-slate-600 dark:text-slate-400">None.</p>
      )}
    </section>
  );
}

/** Every field of one event, its details as JSON, and the events related to it. */
export function EventDetailDialog({ id, onOpen, onClose }: { id: number | undefined; onOpen: (id: number) => void; onClose: () => void }) {
  const detail = useEventDetail(id);
  const e = detail.data?.event;
  return (
    <Dialog open={id !== undefined} onClose={onClose} title={e ? `Event #${e.id}` : 'Event'} wide>
      {detail.isPending && <Loading label="Loading the event…" />}
      {detail.isError && <Alert>Could not load the event: {errorMessage(detail.error)}</Alert>}
      {e && (
        <div data-testid="soc-event-detail" data-event-id={e.id}>
          <p className="mb-4 flex flex-wrap items-center gap-2 text-base font-medium text-slate-900 dark:text-white">
            <SeverityBadge severity={e.severity} />
            {e.message}
          </p>
          <dl className="grid grid-cols-2 gap-x-6 gap-y-3 sm:grid-cols-4">
            <Field term="Code"><code className="font-mono">{e.code}</code></Field>
            <Field term="Type">{e.type}</Field>
            <Field term="Time"><time dateTime={e.timestamp}>{formatEventTime(e.timestamp)}</time></Field>
            <Field term="Occurrences">{e.count > 1 ? `${e.count} (last ${formatEventTime(e.last_seen)})` : '1'}</Field>
            <Field term="User">{e.username ?? (e.user_id !== null ? `#${e.user_id}` : none)}{e.username && e.user_id !== null ? ` (#${e.user_id})` : ''}</Field>
            <Field term="VM">{e.vm_id !== null ? `#${e.vm_id}` : none}</Field>
            <Field term="Source address">{e.source_ip ? <code className="font-mono">{e.source_ip}</code> : none}</Field>
            <Field term="Id">{e.id}</Field>
          </dl>
          <h3 className="mt-5 text-sm font-semibold text-slate-900 dark:text-white">Details</h3>
          <pre data-testid="soc-event-details-json" className="mt-1.5 max-h-64 overflow-auto rounded-lg bg-slate-100 p-3 font-mono text-xs text-slate-800 dark:bg-slate-950 dark:text-slate-200">
            {JSON.stringify(e.details, null, 2)}
          </pre>
          <div className="mt-5 space-y-4">
            <Related title="Same source" events={detail.data?.related.same_source} onOpen={onOpen} testId="related-source" />
            <Related title="Same VM" events={detail.data?.related.same_vm} onOpen={onOpen} testId="related-vm" />
            <Related title="Same incident" events={detail.data?.related.same_incident} onOpen={onOpen} testId="related-incident" />
          </div>
        </div>
      )}
      <div className="mt-6 flex justify-end">
        <button type="button" className={button.secondary} onClick={onClose}>Close</button>
      </div>
    </Dialog>
  );
}
