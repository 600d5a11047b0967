import type { ComputeDriverName, ComputeHost } from '@twarga/contract';
import { DRIVER_NAMES } from './hostForm';

const PILL = 'inline-flex items-center gap-1.5 whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-semibold';

const DRIVER_TONES: Record<ComputeDriverName, string> = {
  qemu: 'bg-indigo-100 text-indigo-800 dark:bg-indigo-900/50 dark:text-indigo-200',
  libvirt: 'bg-sky-100 text-sky-800 dark:bg-sky-900/50 dark:text-sky-200',
  vagrant: 'bg-teal-100 text-teal-800 dark:bg-teal-900/50 dark:text-teal-200',
};

export function DriverBadge({ driver }: { driver: ComputeDriverName }) {
  return <span className={`${PILL} ${DRIVER_TONES[driver]}`}>{DRIVER_NAMES[driver]}</span>;
}

const STATES = {
  enabled: ['Enabled', 'bg-emerald-100 text-emerald-800 dark:bg-emerald-900/50 dark:text-emerald-200', 'bg-emerald-500', 'Takes new VMs'],
  draining: ['Draining', 'bg-amber-100 text-amber-900 dark:bg-amber-900/50 dark:text-amber-100', 'bg-amber-500', 'Keeps its VMs, gets no new ones'],
  disabled: ['Disabled', 'bg-slate-200 text-slate-700 dark:bg-slate-800 dark:text-slate-300', 'bg-slate-400', 'The scheduler skips it'],
} as const;

function StateBadge({ state }: { state: keyof typeof STATES }) {
  const [label, tone, dot, title] = STATES[state];
  return (
    <span className={`${PILL} ${tone}`} title={title}>
      <span aria-hidden="true" className={`h-1.5 w-1.5 rounded-full ${dot}`} />
      {label}
    </span>
  );
}

/** Enabled (green), or Disabled and/or Draining: why the scheduler passes it by. */
export function HostStatus({ host }: { host: ComputeHost }) {
  if (host.enabled && !host.draining) return <StateBadge state="enabled" />;
  return (
    <span className="flex flex-wrap gap-1">
      {!host.enabled && <StateBadge state="disabled" />}
      {host.draining && <StateBadge state="draining" />}
    </span>
  );
}

/** True when the scheduler may put a new VM on this host (room aside). */
export const takesNewVms = (h: ComputeHost) => h.enabled && !h.draining;
