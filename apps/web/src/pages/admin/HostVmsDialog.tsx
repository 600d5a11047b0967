import type { ComputeHost, HostVm, VmStatus } from '@twarga/contract';
import { useState } from 'react';
import { errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { Dialog } from '../../components/Dialog';
import { EmptyList } from '../../components/EmptyState';
import { SkeletonRows } from '../../components/Spinner';
import { button, muted } from '../../components/ui';
import { formatNumber } from '../../format';
import { VmStatusBadge } from '../vms/StatusBadge';
import { canMigrate, migrationTargets } from './hostMigration';
import { useHostDetail } from './hostsQueries';
import { MigrateVmDialog } from './MigrateVmDialog';

const vmCount = (n: number) => `${formatNumber(n)} ${n === 1 ? 'VM' : 'VMs'}`;

/** What the admin can do about the VMs left on a host: only stopped VMs on libvirt hosts move. */
function advice(host: ComputeHost, vms: HostVm[]): string {
  const still = `${vmCount(vms.length)} still on ${host.name}.`;
  if (host.driver !== 'libvirt') return `${still} VMs on a ${host.driver} host cannot be moved; destroy them to empty it.`;
  return `${still} A stopped VM can be migrated to another libvirt host; stop or destroy the others.`;
}

/**
 * "VMs on rack-2": the VMs still placed on a host (what draining it leaves to move), each stopped
 * one on a libvirt host with a Migrate… action. The page mounts it anew for each host.
 */
export function HostVmsDialog({ host, hosts, onClose }: { host: ComputeHost | undefined; hosts: ComputeHost[]; onClose: () => void }) {
  const detail = useHostDetail(host?.id);
  const [migrating, setMigrating] = useState<HostVm>();
  const [moved, setMoved] = useState<string>();
  // The detail is fresher than the row that was clicked.
  const current = detail.data ?? host;
  const vms = detail.data?.vms ?? [];

  return (
    <>
      <Dialog open={host !== undefined} onClose={onClose} title={`VMs on ${host?.name ?? ''}`}>
        {current && (
          <>
            {moved && (
              <Alert tone="success" className="mb-4">
                {moved}
              </Alert>
            )}
            {detail.isPending && <SkeletonRows label={`Loading the VMs on ${current.name}…`} rows={2} />}
            {detail.isError && <Alert>Could not load the VMs on {current.name}: {errorMessage(detail.error)}</Alert>}
            {detail.isSuccess && vms.length === 0 && (
              <EmptyList>
                No VMs are on {current.name}.{current.draining ? ' Nothing is left to move: it can be removed.' : ''}
              </EmptyList>
            )}
            {detail.isSuccess && vms.length > 0 && (
              <>
                <p className={`text-sm ${muted}`}>{advice(current, vms)}</p>
                <ul aria-label={`VMs on ${current.name}`} className="mt-3 divide-y divide-slate-200 rounded-lg border border-slate-200 dark:divide-slate-800 dark:border-slate-800">
                  {vms.map((vm) => (
                    <li key={vm.id} className="flex flex-wrap items-center gap-x-3 gap-y-1 px-3 py-2.5">
                      <span className="min-w-0 flex-1">
                        <span className="block truncate font-semibold text-slate-900 dark:text-white">{vm.name}</span>
                        <span className={`block text-xs ${muted}`}>{vm.owner}</span>
                      </span>
                      <VmStatusBadge status={vm.status as VmStatus} />
                      {canMigrate(current, vm) && (
                        <button
                          type="button"
                          className={button.ghost}
                          onClick={() => {
                            setMoved(undefined);
                            setMigrating(vm);
                          }}
                        >
                          Migrate…<span className="sr-only"> {vm.name}</span>
                        </button>
                      )}
                    </li>
                  ))}
                </ul>
              </>
            )}
            <div className="mt-6 flex justify-end">
              <button type="button" className={button.secondary} onClick={onClose} autoFocus>
                Close
              </button>
            </div>
          </>
        )}
      </Dialog>
      {/* A sibling, not a child: a close or click inside it must not reach this dialog's handlers. */}
      {current && (
        <MigrateVmDialog key={migrating?.id ?? 'closed'} vm={migrating} from={current} targets={migrationTargets(hosts, current)}
          onClose={() => setMigrating(undefined)} onMoved={setMoved} />
      )}
    </>
  );
}
