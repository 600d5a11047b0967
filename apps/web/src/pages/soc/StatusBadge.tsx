import type { IncidentStatus } from '@twarga/contract';
import { STATUS_LABEL } from './incidentText';

const TONES: Record<IncidentStatus, string> = {
  open: 'bg-red-100 text-red-900 dark:bg-red-950 dark:text-red-100',
  acknowledged: 'bg-amber-100 text-amber-900 dark:bg-amber-950 dark:text-amber-100',
  resolved: 'bg-emerald-100 text-emerald-900 dark:bg-emerald-950 dark:text-emerald-100',
  false_positive: 'bg-slate-200 text-slate-800 dark:bg-slate-800 dark:text-slate-200',
};

export function IncidentStatusBadge({ status }: { status: IncidentStatus }) {
  return <span data-status={status} className={`inline-block whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-semibold ${TONES[status]}`}>{STATUS_LABEL[status]}</span>;
}
