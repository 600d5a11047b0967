import type { Vm } from '@twarga/contract';

const TONES = {
  booting: 'ring-amber-300 text-amber-800 dark:ring-amber-700 dark:text-amber-200',
  responsive: 'ring-emerald-300 text-emerald-800 dark:ring-emerald-700 dark:text-emerald-200',
  unresponsive: 'ring-red-300 text-red-800 dark:ring-red-700 dark:text-red-200',
} as const;

const LABELS = { booting: 'Booting', responsive: 'Responsive', unresponsive: 'Unresponsive' } as const;

const HINTS = {
  booting: 'Started; the guest agent (or SSH) has not answered yet',
  responsive: 'The guest agent (or, without one, SSH) answers',
  unresponsive: 'The guest stopped answering, or never answered after its start (boot watchdog)',
} as const;

/**
 * The guest's health next to the hypervisor's status (outlined, so the two never read as one):
 * nothing when the VM is not running.
 */
export function HealthBadge({ health, since }: { health: Vm['health']; since: Vm['health_since'] }) {
  if (!health) return null;
  const when = since ? ` (since ${new Date(since).toLocaleString()})` : '';
  return (
    <span
      title={`${HINTS[health]}${when}`}
      data-testid="health-badge"
      className={`inline-flex items-center whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${TONES[health]} ${health === 'booting' ? 'animate-pulse' : ''}`}
    >
      {LABELS[health]}
    </span>
  );
}
