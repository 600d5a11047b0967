import type { IncidentStatus } from '@twarga/contract';
import { useId, useState } from 'react';
import { errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { EmptyList } from '../../components/EmptyState';
import { Section } from '../../components/Section';
import { SkeletonRows } from '../../components/Spinner';
import { table } from '../../components/ui';
import { formatNumber } from '../../format';
import { formatEventTime } from './EventRows';
import { STATUS_LABEL } from './incidentText';
import { useIncidents } from './queries';
import { SeverityBadge } from './Severity';
import { IncidentStatusBadge } from './StatusBadge';

const CHOICES: (IncidentStatus | 'all')[] = ['open', 'acknowledged', 'resolved', 'false_positive', 'all'];

/** Incidents (alerts of one rule and one entity) with a status filter; a click opens one. */
export function IncidentsSection({ onOpen }: { onOpen: (id: number) => void }) {
  const [status, setStatus] = useState<IncidentStatus | 'all'>('open');
  const incidents = useIncidents(status);
  const name = useId();
  return (
    <Section title="Incidents" description="What the detection rules found. Open one to see its history, acknowledge, resolve or block its address.">
      <fieldset className="mb-4 inline-flex flex-wrap rounded-lg bg-slate-100 p-1 dark:bg-slate-800">
        <legend className="sr-only">Incident status</legend>
        {CHOICES.map((s) => (
          <label
            key={s}
            className={`relative cursor-pointer rounded-md px-3 py-1 text-sm font-medium has-[:focus-visible]:ring-2 has-[:focus-visible]:ring-indigo-500 ${
              status === s ? 'bg-white text-slate-900 shadow-sm dark:bg-slate-600 dark:text-white' : 'text-slate-600 hover:text-slate-900 dark:text-slate-300 dark:hover:text-white'
            }`}
          >
            <input type="radio" name={name} checked={status === s} onChange={() => setStatus(s)} className="absolute inset-0 cursor-pointer appearance-none opacity-0" />
            {s === 'all' ? 'All' : STATUS_LABEL[s]}
          </label>
        ))}
      </fieldset>
      {incidents.isPending && <SkeletonRows label="Loading incidents…" rows={2} />}
      {incidents.isError && <Alert>Could not load the incidents: {errorMessage(incidents.error)}</Alert>}
      {incidents.isSuccess &&
        (incidents.data.length === 0 ? (
          <EmptyList>{status === 'all' ? 'No incident yet.' : `No ${STATUS_LABEL[status as IncidentStatus].toLowerCase()} incident.`}</EmptyList>
        ) : (
          <div className={table.wrap}>
            <table className={table.table} data-testid="soc-incidents">
              <caption className="sr-only">Incidents</caption>
              <thead>
                <tr>
                  <th scope="col" className={table.th}>Severity</th>
                  <th scope="col" className={table.th}>Incident</th>
                  <th scope="col" className={table.th}>Status</th>
                  <th scope="col" className={`${table.th} hidden sm:table-cell`}>Source</th>
                  <th scope="col" className={`${table.th} hidden md:table-cell`}>Events</th>
                  <th scope="col" className={`${table.th} hidden lg:table-cell`}>Last seen</th>
                </tr>
              </thead>
              <tbody className={table.tbody}>
                {incidents.data.map((i) => (
                  <tr key={i.id} data-testid="soc-incident" data-incident-id={i.id} className="cursor-pointer hover:bg-slate-50 dark:hover:bg-slate-800/60" onClick={() => onOpen(i.id)}>
                    <td className={table.td}><SeverityBadge severity={i.severity} /></td>
                    <td className={table.td}>
                      <button type="button" className="rounded-sm text-left font-medium text-slate-900 hover:underline focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 dark:text-white" onClick={(e) => { e.stopPropagation(); onOpen(i.id); }}>
                        {i.title}
                      </button>
                      <span className="block text-xs text-slate-600 dark:text-slate-400">
                        #{i.id} · {i.rule_id} · {i.mitre}{i.vm_id !== null ? ` · VM #${i.vm_id}` : ''}
                      </span>
                    </td>
                    <td className={table.td}><IncidentStatusBadge status={i.status} /></td>
                    <td className={`${table.td} hidden font-mono text-xs sm:table-cell`}>{i.source_ip ?? '—'}</td>
                    <td className={`${table.td} hidden tabular-nums md:table-cell`}>{formatNumber(i.event_count)}</td>
                    <td className={`${table.td} hidden whitespace-nowrap text-xs lg:table-cell`}>{formatEventTime(i.last_seen)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
    </Section>
  );
}
