import type { ComputeHost } from '@twarga/contract';
import { useState } from 'react';
import { errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { EmptyList } from '../../components/EmptyState';
import { Section } from '../../components/Section';
import { SkeletonRows } from '../../components/Spinner';
import { button, muted } from '../../components/ui';
import { formatNumber } from '../../format';
import { AddHostDialog } from './AddHostDialog';
import { EditHostDialog } from './EditHostDialog';
import { AdminShell } from './AdminShell';
import { Forbidden, isForbidden } from './Forbidden';
import { takesNewVms } from './HostBadges';
import { HostsTable } from './HostsTable';
import { HostVmsDialog } from './HostVmsDialog';
import { useHosts } from './hostsQueries';
import { RemoveHostDialog } from './RemoveHostDialog';

/** "2 hosts · 1 takes new VMs · 3 VMs" */
function summary(hosts: ComputeHost[]): string {
  const open = hosts.filter(takesNewVms).length;
  const vms = hosts.reduce((n, h) => n + h.usage.vms, 0);
  const s = (n: number, one: string, many: string) => `${formatNumber(n)} ${n === 1 ? one : many}`;
  return [s(hosts.length, 'host', 'hosts'), s(open, 'takes new VMs', 'take new VMs'), s(vms, 'VM', 'VMs')].join(' · ');
}

function HostsSection() {
  const hosts = useHosts();
  const [adding, setAdding] = useState(false);
  const [addCount, setAddCount] = useState(0);
  const openAdd = () => {
    setAddCount((n) => n + 1);
    setAdding(true);
  };
  const [added, setAdded] = useState<string>();
  const [viewing, setViewing] = useState<ComputeHost>();
  const [editing, setEditing] = useState<ComputeHost>();
  const [removing, setRemoving] = useState<ComputeHost>();

  if (hosts.isError && isForbidden(hosts.error)) return <Forbidden />;
  const list = hosts.data ?? [];
  return (
    <Section
      title="Compute hosts"
      description="Where VMs run. Each new VM goes to the enabled, non-draining host with room and the most free RAM; a draining host keeps its VMs but gets no new ones."
    >
      <div className="mb-4 flex flex-wrap items-center justify-between gap-3">
        <p className={`text-sm ${muted}`}>{hosts.isSuccess && summary(list)}</p>
        <button type="button" className={button.primary} onClick={openAdd}>
          <svg viewBox="0 0 20 20" className="h-4 w-4" fill="currentColor" aria-hidden="true">
            <path d="M10.75 4.75a.75.75 0 0 0-1.5 0v4.5h-4.5a.75.75 0 0 0 0 1.5h4.5v4.5a.75.75 0 0 0 1.5 0v-4.5h4.5a.75.75 0 0 0 0-1.5h-4.5v-4.5Z" />
          </svg>
          Add host
        </button>
      </div>
      {added && (
        <Alert tone="success" className="mb-4">
          Added {added}. New VMs can be placed on it now.
        </Alert>
      )}
      {hosts.isSuccess && list.length > 0 && !list.some(takesNewVms) && (
        <Alert tone="warning" className="mb-4" title="No host takes new VMs">
          Every host is disabled or draining, so creating a VM fails until one is enabled and undrained.
        </Alert>
      )}
      {hosts.isPending && <SkeletonRows label="Loading compute hosts…" />}
      {hosts.isError && <Alert>Could not load compute hosts: {errorMessage(hosts.error)}</Alert>}
      {hosts.isSuccess && list.length === 0 && <EmptyList>No compute hosts: add one so VMs have somewhere to run</EmptyList>}
      {hosts.isSuccess && list.length > 0 && (
        <HostsTable
          hosts={list}
          onShowVms={(h) => {
            setAdded(undefined);
            setViewing(h);
          }}
          onEdit={(h) => {
            setAdded(undefined);
            setEditing(h);
          }}
          onRemove={(h) => {
            setAdded(undefined);
            setRemoving(h);
          }}
        />
      )}
      <AddHostDialog key={addCount} open={adding} onClose={() => setAdding(false)} onAdded={(h) => setAdded(h.name)} />
      <HostVmsDialog key={viewing?.id ?? 'closed'} host={viewing} hosts={list} onClose={() => setViewing(undefined)} />
      <EditHostDialog key={editing?.id ?? 'closed'} host={editing} onClose={() => setEditing(undefined)} />
      <RemoveHostDialog host={removing} onClose={() => setRemoving(undefined)} />
    </Section>
  );
}

/** /admin/hosts: the machines VMs run on, how full they are, and the scheduler's switches for each. */
export function AdminHostsPage() {
  return <AdminShell title="Compute hosts · Admin">{() => <HostsSection />}</AdminShell>;
}
