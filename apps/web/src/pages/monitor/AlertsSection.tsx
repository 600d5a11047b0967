import type { Alert as AlertItem, Vm } from '@twarga/contract';
import { useId, useState } from 'react';
import { Link } from 'react-router';
import { errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { EmptyList } from '../../components/EmptyState';
import { Section } from '../../components/Section';
import { SkeletonRows } from '../../components/Spinner';
import { link, table } from '../../components/ui';
import { formatDateTime } from '../../format';
import { useVms } from '../vms/queries';
import { compareText, formatMetricValue, metricLabel } from './alertMetrics';
import { useAlerts } from './queries';

function StateBadge({ state }: { state: AlertItem['state'] }) {
  const tone =
    state === 'open' ? 'bg-red-100 text-red-800 dark:bg-red-900/50 dark:text-red-200' : 'bg-slate-200 text-slate-700 dark:bg-slate-800 dark:text-slate-300';
  return <span className={`inline-block whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-semibold ${tone}`}>{state === 'open' ? 'Firing' : 'Resolved'}</span>;
}

function Subject({ alert, vms }: { alert: AlertItem; vms: Vm[] | undefined }) {
  if (alert.entity === 'host') return <>Host</>;
  const vm = vms?.find((v) => v.id === alert.vm_id);
  return (
    <Link to={`/vms/${alert.vm_id}`} className={link}>
      {vm?.name ?? `VM #${alert.vm_id}`}
    </Link>
  );
}

/** Alerts of my VMs (and the host's for admins): firing first, live from pushed alert events. */
export function AlertsSection() {
  const [state, setState] = useState<'open' | 'all'>('all');
  const alerts = useAlerts(state);
  const vms = useVms();
  const name = useId();
  return (
    <Section title="Alerts" description="Every alert a policy or a health check raised; a new one appears here as it fires.">
      <fieldset className="mb-4 inline-flex rounded-lg bg-slate-100 p-1 dark:bg-slate-800">
        <legend className="sr-only">Which alerts</legend>
        {(['all', 'open'] as const).map((s) => (
          <label
            key={s}
            className={`relative cursor-pointer rounded-md px-3 py-1 text-sm font-medium has-[:focus-visible]:ring-2 has-[:focus-visible]:ring-indigo-500 ${
              state === s ? 'bg-white text-slate-900 shadow-sm dark:bg-slate-600 dark:text-white' : 'text-slate-600 hover:text-slate-900 dark:text-slate-300 dark:hover:text-white'
            }`}
          >
            <input type="radio" name={name} checked={state === s} onChange={() => setState(s)} className="absolute inset-0 cursor-pointer appearance-none opacity-0" />
            {s === 'all' ? 'All' : 'Firing'}
          </label>
        ))}
      </fieldset>
      {alerts.isPending && <SkeletonRows label="Loading alerts…" rows={2} />}
      {alerts.isError && <Alert>Could not load the alerts: {errorMessage(alerts.error)}</Alert>}
      {alerts.isSuccess &&
        (alerts.data.length === 0 ? (
          <EmptyList>{state === 'open' ? 'Nothing is firing.' : 'No alert has fired yet.'}</EmptyList>
        ) : (
          <div className={table.wrap}>
            <table className={table.table} data-testid="alerts-table">
              <caption className="sr-only">Alerts</caption>
              <thead>
                <tr>
                  <th scope="col" className={table.th}>State</th>
                  <th scope="col" className={table.th}>On</th>
                  <th scope="col" className={table.th}>Condition</th>
                  <th scope="col" className={`${table.th} hidden md:table-cell`}>Value</th>
                  <th scope="col" className={`${table.th} hidden sm:table-cell`}>Opened</th>
                  <th scope="col" className={`${table.th} hidden lg:table-cell`}>Resolved</th>
                </tr>
              </thead>
              <tbody className={table.tbody}>
                {alerts.data.map((a) => (
                  <tr key={a.id}>
                    <td className={table.td}><StateBadge state={a.state} /></td>
                    <td className={table.td}><Subject alert={a} vms={vms.data} /></td>
                    <td className={table.td}>
                      <span className="font-medium text-slate-900 dark:text-white">
                        {metricLabel(a.metric)} {a.compare && a.threshold !== null ? `${compareText(a.compare)} ${formatMetricValue(a.metric, a.threshold)}` : ''}
                      </span>
                      <span className="block text-xs text-slate-600 dark:text-slate-400">{a.message}</span>
                    </td>
                    <td className={`${table.td} hidden whitespace-nowrap tabular-nums md:table-cell`}>
                      {formatMetricValue(a.metric, a.last_value ?? a.value)}
                    </td>
                    <td className={`${table.td} hidden whitespace-nowrap sm:table-cell`}>{formatDateTime(a.opened_at)}</td>
                    <td className={`${table.td} hidden whitespace-nowrap lg:table-cell`}>{a.resolved_at ? formatDateTime(a.resolved_at) : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
    </Section>
  );
}
