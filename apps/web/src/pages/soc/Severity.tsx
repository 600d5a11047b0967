import type { Severity } from '@twarga/contract';

/** Text and background pairs that keep at least 4.5:1 contrast in both themes. */
const TONES: Record<Severity, string> = {
  info: 'bg-sky-100 text-sky-900 ring-sky-300 dark:bg-sky-950 dark:text-sky-100 dark:ring-sky-800',
  warning: 'bg-amber-100 text-amber-900 ring-amber-300 dark:bg-amber-950 dark:text-amber-100 dark:ring-amber-700',
  critical: 'bg-red-700 text-white ring-red-800 dark:bg-red-600 dark:text-white dark:ring-red-400',
};

/** The stripe at the start of a feed row. */
export const SEVERITY_STRIPE: Record<Severity, string> = {
  info: 'border-l-sky-500',
  warning: 'border-l-amber-500',
  critical: 'border-l-red-600',
};

const LABEL: Record<Severity, string> = { info: 'Info', warning: 'Warning', critical: 'Critical' };

/** A shape per severity as well as a colour: colour alone tells nothing to everyone. */
function Icon({ severity }: { severity: Severity }) {
  const common = { viewBox: '0 0 16 16', className: 'h-3.5 w-3.5 shrink-0', fill: 'none', stroke: 'currentColor', strokeWidth: 1.8, strokeLinecap: 'round' as const, strokeLinejoin: 'round' as const, 'aria-hidden': true };
  if (severity === 'info')
    return (
      <svg {...common}>
        <circle cx="8" cy="8" r="6.25" />
        <path d="M8 7.25v4M8 4.75h.01" />
      </svg>
    );
  if (severity === 'warning')
    return (
      <svg {...common}>
        <path d="M8 1.75 1.5 13.5h13L8 1.75Z" />
        <path d="M8 6.5v3M8 11.5h.01" />
      </svg>
    );
  return (
    <svg {...common}>
      <path d="M5.2 1.75h5.6l3.45 3.45v5.6l-3.45 3.45H5.2L1.75 10.8V5.2L5.2 1.75Z" />
      <path d="M8 4.75v4M8 11.25h.01" />
    </svg>
  );
}

export function SeverityBadge({ severity }: { severity: Severity }) {
  return (
    <span data-severity={severity} className={`inline-flex items-center gap-1 whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-semibold ring-1 ring-inset ${TONES[severity]}`}>
      <Icon severity={severity} />
      {LABEL[severity]}
    </span>
  );
}
