import type { AdminHealth, AdminStatistics, HealthComponent } from '@twarga/contract';
import { Section } from '../../components/Section';
import { muted } from '../../components/ui';
import { formatDateTime, formatNumber } from '../../format';
import { Stat } from '../monitor/Stat';
import { formatDuration } from '../vms/format';
import { ComponentStatusBadge } from './badges';
import { ago, jobLate } from './params';

const KIND_LABEL: Record<HealthComponent['kind'], string> = { database: 'Database', disk: 'Disk', host: 'Compute host', job: 'Background job', syslog: 'Syslog receiver', server: 'Server' };

/** One fact's value in words: nested objects as "ram mb 256, vcpus 1", lists of checks as "name status". */
function factValue(v: unknown): string {
  if (Array.isArray(v)) return v.map((item) => (item && typeof item === 'object' && 'name' in item ? `${String(item.name)} ${String((item as { status?: unknown }).status ?? '')}`.trim() : factValue(item))).join(', ');
  if (v && typeof v === 'object') return Object.entries(v).map(([k, x]) => `${k.replace(/_/g, ' ')} ${factValue(x)}`).join(', ');
  return String(v);
}

/** facts → "driver: qemu · version: 9.2", for the few a component carries. */
function factsText(facts: Record<string, unknown> | undefined): string {
  if (!facts) return '';
  return Object.entries(facts)
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${k.replace(/_/g, ' ')}: ${factValue(v)}`)
    .join(' · ');
}

function JobTiming({ c, now }: { c: HealthComponent; now: number }) {
  if (c.kind !== 'job') return null;
  const every = c.interval_seconds ? ` · runs every ${formatDuration(c.interval_seconds)}` : '';
  if (!c.last_run_at) return <p className={`mt-0.5 text-xs ${muted}`}>Has not run yet{every}</p>;
  const late = jobLate(c.last_run_at, c.interval_seconds, now);
  return (
    <p className={`mt-0.5 text-xs ${late ? 'font-medium text-amber-800 dark:text-amber-200' : muted}`}>
      Last ran <time dateTime={c.last_run_at} title={formatDateTime(c.last_run_at)}>{ago((now - Date.parse(c.last_run_at)) / 1000)}</time>
      {every}
      {late && ' · late'}
    </p>
  );
}

/** Every component the service depends on, worst first, each with its verdict and why. */
export function HealthSection({ health, now }: { health: AdminHealth; now: number }) {
  const rank = { failed: 0, degraded: 1, healthy: 2 } as const;
  const components = [...health.components].sort((a, b) => rank[a.status] - rank[b.status] || a.name.localeCompare(b.name));
  return (
    <Section
      title="System health"
      description={
        <>
          Version {health.version} · up {formatDuration(health.uptime_seconds)} · checked <time dateTime={health.checked_at}>{ago((now - Date.parse(health.checked_at)) / 1000)}</time>. Refreshed every 10 s.
        </>
      }
    >
      <p className="mb-4 flex items-center gap-2 text-sm font-medium text-slate-900 dark:text-white" data-testid="overall-health">
        Overall: <ComponentStatusBadge status={health.status} />
      </p>
      <ul className="divide-y divide-slate-200 rounded-lg border border-slate-200 dark:divide-slate-800 dark:border-slate-800" aria-label="Components">
        {components.map((c) => (
          <li key={c.name} className="flex flex-wrap items-start gap-x-4 gap-y-1 px-4 py-3" data-testid="health-component" data-name={c.name} data-status={c.status}>
            <div className="w-24 shrink-0 pt-0.5">
              <ComponentStatusBadge status={c.status} />
            </div>
            <div className="min-w-0 flex-1">
              <p className="text-sm font-medium text-slate-900 dark:text-white">
                <span className="font-mono">{c.name}</span>
                <span className={`ml-2 text-xs font-normal ${muted}`}>{KIND_LABEL[c.kind] ?? c.kind}</span>
              </p>
              <p className="mt-0.5 break-words text-sm text-slate-700 dark:text-slate-300">{c.detail}</p>
              <JobTiming c={c} now={now} />
              {factsText(c.facts) && <p className={`mt-0.5 break-words text-xs ${muted}`}>{factsText(c.facts)}</p>}
            </div>
          </li>
        ))}
      </ul>
    </Section>
  );
}

const n = formatNumber;

/** "3 running · 1 stopped" from a by-status count, biggest first. */
function counts(by: Record<string, number>): string {
  const parts = Object.entries(by)
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${n(v)} ${k}`);
  return parts.length ? parts.join(' · ') : 'none';
}

/** The service in figures: people, VMs, credits and the last day's events. */
export function StatisticsSection({ stats }: { stats: AdminStatistics }) {
  const { users, vms, credits, events_24h: ev } = stats;
  return (
    <Section title="Statistics" description="Refreshed every 10 s. Credits are charged per started hour; stopped VMs bill until destroyed.">
      <dl className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3" data-testid="admin-statistics">
        <Stat term="Users" testId="stat-users" hint={`${n(users.active)} active · ${n(users.admins)} admins${users.deleted ? ` · ${n(users.deleted)} deleted` : ''}`}>
          {n(users.total)}
        </Stat>
        <Stat term="Users in trouble" testId="stat-billing" hint="In grace (balance at zero) · suspended (VMs stopped)">
          {n(users.in_grace)} · {n(users.suspended)}
        </Stat>
        <Stat term="VMs" testId="stat-vms" hint={counts(vms.by_status)}>
          {n(vms.total)}
        </Stat>
        <Stat term="Credits outstanding" testId="stat-outstanding" hint="The sum of every user's balance">
          {n(credits.outstanding)}
        </Stat>
        <Stat term="Burn rate" testId="stat-burn" hint="Credits per hour, every live VM together">
          {n(credits.burn_rate_hourly)}/h
        </Stat>
        <Stat term="Charged this month" testId="stat-charged" hint={`${n(credits.granted_this_month)} granted this month (UTC)`}>
          {n(credits.charged_this_month)}
        </Stat>
        <Stat term="Events, last 24 h" testId="stat-events" hint={`${n(ev.warning)} warnings · ${n(ev.critical)} critical`}>
          {n(ev.info + ev.warning + ev.critical)}
        </Stat>
        <Stat term="VM health" testId="stat-vm-health" hint="Running VMs, by whether the guest answers">
          <span className="text-base">{counts(vms.by_health)}</span>
        </Stat>
      </dl>
    </Section>
  );
}
