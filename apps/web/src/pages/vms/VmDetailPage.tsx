import { Link, useParams } from 'react-router';
import { errorMessage, isApiError } from '../../api';
import { Alert } from '../../components/Alert';
import { Loading } from '../../components/Spinner';
import { button, link } from '../../components/ui';
import { useTitle } from '../../useTitle';
import { VmTerminalSessionsSection } from '../terminals/VmTerminalSessionsSection';
import { ConsoleSection } from './ConsoleSection';
import { OverviewSection, ConnectSection } from './VmOverview';
import { PowerActions } from './PowerActions';
import { useImages, useVm } from './queries';
import { VmStatusBadge } from './StatusBadge';
import { HealthBadge } from './HealthBadge';
import { pausedReasonText } from './vmStatus';
import { ActionsSection } from './VmActionsTable';
import { VmMetricsSection } from './VmMetrics';
import { SectionTabs } from '../../components/SectionTabs';
import { SnapshotsSection } from './snapshots/SnapshotsSection';
import { ChangeActions } from './ChangeActions';

export type VmTab = 'overview' | 'snapshots';

function BackLink() {
  return (
    <Link to="/vms" className={`${link} text-sm`}>
      ← Virtual machines
    </Link>
  );
}

function VmNotFound() {
  return (
    <div className="py-16 text-center">
      <p className="text-sm font-semibold text-indigo-700 dark:text-indigo-300">404</p>
      <h1 className="mt-2 text-2xl font-bold tracking-tight text-slate-900 dark:text-white">VM not found</h1>
      <p className="mt-2 text-sm text-slate-600 dark:text-slate-400">This VM does not exist, has been destroyed, or belongs to someone else.</p>
      <Link to="/vms" className={`${button.primary} mt-6`}>
        Back to your VMs
      </Link>
    </div>
  );
}

/** The VM page: its header and power actions, then the Overview or Snapshots tab (each its own URL). */
export function VmDetailPage({ tab = 'overview' }: { tab?: VmTab }) {
  const param = useParams().id ?? '';
  const id = /^\d+$/.test(param) ? Number(param) : NaN;
  const vm = useVm(id);
  const images = useImages();
  const notFound = Number.isNaN(id) || (vm.isError && isApiError(vm.error) && vm.error.status === 404);
  useTitle(notFound ? 'VM not found' : `${vm.data?.name ?? 'VM'}${tab === 'snapshots' ? ' · Snapshots' : ''}`);

  if (notFound) return <VmNotFound />;
  if (vm.isPending) return <Loading label="Loading the VM…" />;
  if (vm.isError) {
    return (
      <div className="space-y-4">
        <BackLink />
        <Alert title="Could not load this VM">{errorMessage(vm.error)}</Alert>
        <button type="button" className={button.secondary} onClick={() => void vm.refetch()}>
          Try again
        </button>
      </div>
    );
  }

  const data = vm.data;
  return (
    <>
      <BackLink />
      <div className="mb-6 mt-2 flex flex-wrap items-start justify-between gap-4">
        <div className="flex min-w-0 flex-wrap items-center gap-3">
          <h1 className="text-2xl font-bold tracking-tight text-slate-900 [overflow-wrap:anywhere] dark:text-white">{data.name}</h1>
          <VmStatusBadge status={data.status} reason={data.status_reason} />
          <HealthBadge health={data.health} since={data.health_since} />
        </div>
        {data.status !== 'destroyed' && <PowerActions vm={data} extra={<ChangeActions vm={data} />} />}
      </div>
      {data.status !== 'destroyed' && (
        <SectionTabs
          label="VM sections"
          tabs={[
            { to: `/vms/${data.id}`, label: 'Overview', end: true },
            { to: `/vms/${data.id}/snapshots`, label: 'Snapshots', end: true },
          ]}
        />
      )}
      <div className="space-y-6">
        {data.status === 'error' && data.error && <Alert title="This VM ran into a problem">{data.error}</Alert>}
        {data.status === 'paused' && (
          <Alert title="This VM's guest is paused">
            Its hypervisor halted it: {pausedReasonText(data.status_reason)}. Stop it (and start it again once the cause is fixed), or destroy it.
          </Alert>
        )}
        {data.status === 'destroyed' && (
          <Alert tone="info">
            This VM has been destroyed.{' '}
            <Link to="/vms" className={link}>
              Back to your VMs
            </Link>
          </Alert>
        )}
        {tab === 'snapshots' && data.status !== 'destroyed' ? (
          // The actions follow here too, so a snapshot or restore can be watched as it runs.
          <SnapshotsSection vm={data} />
        ) : (
          <>
            <OverviewSection vm={data} images={images.data} />
            {data.status !== 'destroyed' && <ConnectSection vm={data} />}
            {data.status !== 'destroyed' && <VmMetricsSection vm={data} />}
            {data.status !== 'destroyed' && <ConsoleSection vm={data} />}
            {data.status !== 'destroyed' && <VmTerminalSessionsSection vmId={data.id} />}
          </>
        )}
        <ActionsSection vmId={data.id} />
      </div>
    </>
  );
}
