import type { Vm } from '@twarga/contract';
import { useMemo } from 'react';
import { Link } from 'react-router';
import { errorMessage } from '../../api';
import { alignHistory } from '../../charts/align';
import { UPlotChart } from '../../charts/UPlotChart';
import { formatBytes, formatPercent } from '../../charts/units';
import { Alert } from '../../components/Alert';
import { EmptyList } from '../../components/EmptyState';
import { Section } from '../../components/Section';
import { SkeletonRows } from '../../components/Spinner';
import { card, link } from '../../components/ui';
import { useVms } from '../vms/queries';
import { VmStatusBadge } from '../vms/StatusBadge';
import { HealthBadge } from '../vms/HealthBadge';
import { useHistory, useVmMetrics } from './queries';

const SPARK_METRICS = ['cpu_percent', 'guest_memory_used_bytes'] as const;
const CPU_SERIES = [{ label: 'CPU', color: 0 }];
const MEM_SERIES = [{ label: 'Guest memory', color: 1 }];

function VmCard({ vm }: { vm: Vm }) {
  const running = vm.status === 'running';
  const now = useVmMetrics(vm.id);
  const history = useHistory('vm', vm.id, '1h', SPARK_METRICS);
  const cpu = useMemo(() => alignHistory(history.data, ['cpu_percent']), [history.data]);
  const mem = useMemo(() => alignHistory(history.data, ['guest_memory_used_bytes']), [history.data]);
  const m = now.data;
  return (
    <li className={`${card} p-4`} data-testid={`vm-card-${vm.id}`}>
      <div className="flex items-start justify-between gap-2">
        <Link to={`/vms/${vm.id}`} className={`${link} min-w-0 truncate text-base`}>
          {vm.name}
        </Link>
        <VmStatusBadge status={vm.status} reason={vm.status_reason} />
      </div>
      <p className="mt-1 flex flex-wrap items-center gap-x-3 gap-y-1 text-xs text-slate-600 dark:text-slate-400">
        <span className="font-mono">{m?.ip.value ?? vm.ip_address ?? 'no IP yet'}</span>
        <HealthBadge health={vm.health} since={vm.health_since} />
      </p>
      <div className="mt-3 grid grid-cols-2 gap-3">
        <div className="min-w-0">
          <p className="flex justify-between text-xs text-slate-600 dark:text-slate-400">
            CPU <span className="font-semibold tabular-nums text-slate-900 dark:text-white">{running ? formatPercent(m?.cpu_percent.value) : '—'}</span>
          </p>
          <UPlotChart label={`${vm.name} CPU, last hour`} data={cpu} series={CPU_SERIES} unit="percent" height={40} sparkline testId={`spark-cpu-${vm.id}`} />
        </div>
        <div className="min-w-0">
          <p className="flex justify-between text-xs text-slate-600 dark:text-slate-400">
            Memory <span className="font-semibold tabular-nums text-slate-900 dark:text-white">{running ? formatBytes(m?.guest_memory_used_bytes.value) : '—'}</span>
          </p>
          <UPlotChart label={`${vm.name} guest memory used, last hour`} data={mem} series={MEM_SERIES} unit="bytes" height={40} sparkline testId={`spark-mem-${vm.id}`} />
        </div>
      </div>
    </li>
  );
}

/** A card per VM of the signed-in user: status, health, IP and sparklines of the last hour. */
export function VmCards({ userId }: { userId: number }) {
  const vms = useVms();
  const mine = vms.data?.filter((v) => v.user_id === userId && v.status !== 'destroyed') ?? [];
  return (
    <Section title="Your VMs" description="CPU and guest memory over the last hour, live.">
      {vms.isPending && <SkeletonRows label="Loading your VMs…" rows={2} />}
      {vms.isError && <Alert>Could not load your VMs: {errorMessage(vms.error)}</Alert>}
      {vms.isSuccess &&
        (mine.length === 0 ? (
          <EmptyList>No VMs yet: create one and its metrics show here.</EmptyList>
        ) : (
          <ul className="grid gap-4 sm:grid-cols-2 xl:grid-cols-3">
            {mine.map((vm) => (
              <VmCard key={vm.id} vm={vm} />
            ))}
          </ul>
        ))}
    </Section>
  );
}
