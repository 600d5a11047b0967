import type { AdminUser, ComponentStatus } from '@twarga/contract';

const GREEN = 'bg-emerald-100 text-emerald-800 dark:bg-emerald-900/50 dark:text-emerald-200';
const SLATE = 'bg-slate-200 text-slate-700 dark:bg-slate-800 dark:text-slate-300';
const AMBER = 'bg-amber-100 text-amber-900 dark:bg-amber-900/50 dark:text-amber-100';
const RED = 'bg-red-100 text-red-800 dark:bg-red-900/50 dark:text-red-200';
const INDIGO = 'bg-indigo-100 text-indigo-800 dark:bg-indigo-900/50 dark:text-indigo-200';

function Pill({ tone, children, title }: { tone: string; children: string; title?: string }) {
  return (
    <span title={title} className={`inline-block whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-semibold ${tone}`}>
      {children}
    </span>
  );
}

/** admin / user, active / inactive / deleted: the account's flags. */
export function RoleBadge({ admin }: { admin: boolean }) {
  return <Pill tone={admin ? INDIGO : SLATE}>{admin ? 'admin' : 'user'}</Pill>;
}

export function ActiveBadge({ user }: { user: Pick<AdminUser, 'is_active' | 'deleted_at'> }) {
  if (user.deleted_at) return <Pill tone={SLATE} title="The account was deleted; its history is kept">deleted</Pill>;
  return <Pill tone={user.is_active ? GREEN : SLATE}>{user.is_active ? 'active' : 'inactive'}</Pill>;
}

const BILLING: Record<AdminUser['billing_state'], { tone: string; label: string; hint: string }> = {
  ok: { tone: GREEN, label: 'paid up', hint: 'The balance is above every low-balance threshold' },
  low: { tone: AMBER, label: 'low balance', hint: 'Below a low-balance threshold: the user was warned' },
  grace: { tone: RED, label: 'in grace', hint: 'The balance reached zero: the VMs stop when the grace period ends' },
  suspended: { tone: RED, label: 'suspended', hint: 'Out of credits after the grace period: VMs stopped, new VMs and starts refused until a top-up' },
};

export function BillingStateBadge({ state }: { state: AdminUser['billing_state'] }) {
  const b = BILLING[state] ?? BILLING.ok;
  return (
    <span data-testid="billing-state" data-state={state}>
      <Pill tone={b.tone} title={b.hint}>
        {b.label}
      </Pill>
    </span>
  );
}

const STATUS: Record<ComponentStatus, { tone: string; dot: string; label: string }> = {
  healthy: { tone: GREEN, dot: 'bg-emerald-500', label: 'Healthy' },
  degraded: { tone: AMBER, dot: 'bg-amber-500', label: 'Degraded' },
  failed: { tone: RED, dot: 'bg-red-500', label: 'Failed' },
};

/** healthy green, degraded amber, failed red; a word as well as a colour. */
export function ComponentStatusBadge({ status }: { status: ComponentStatus }) {
  const s = STATUS[status] ?? STATUS.failed;
  return (
    <span data-status={status} className={`inline-flex items-center gap-1.5 whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-semibold ${s.tone}`}>
      <span aria-hidden="true" className={`h-1.5 w-1.5 rounded-full ${s.dot}`} />
      {s.label}
    </span>
  );
}

export function OutcomeBadge({ outcome }: { outcome: 'succeeded' | 'failed' }) {
  return <Pill tone={outcome === 'succeeded' ? GREEN : RED}>{outcome}</Pill>;
}
