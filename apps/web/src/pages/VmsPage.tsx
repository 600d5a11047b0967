import type { Image, Vm } from '@twarga/contract';
import type { ReactNode } from 'react';
import { Link } from 'react-router';
import { errorMessage } from '../api';
import { Alert } from '../components/Alert';
import { EmptyState } from '../components/EmptyState';
import { PageHeader } from '../components/PageHeader';
import { SkeletonRows } from '../components/Spinner';
import { button, link, table } from '../components/ui';
import { formatDate } from '../format';
import { useTitle } from '../useTitle';
import { BillingBanner } from './billing/BillingState';
import { CopyButton } from './vms/CopyButton';
import { formatResources, formatUptime, imageLabel } from './vms/format';
import { useImages, useVms } from './vms/queries';
import { VmStatusBadge } from './vms/StatusBadge';
import { HealthBadge } from './vms/HealthBadge';
import { useNow } from './vms/useNow';

const serverIcon = (
  <svg viewBox="0 0 24 24" className="h-7 w-7" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round">
    <rect x="3" y="4" width="18" height="7" rx="2" />
    <rect x="3" y="13" width="18" height="7" rx="2" />
    <path d="M7 7.5h.01M7 16.5h.01" />
  </svg>
);

export function CreateVmLink({ children = 'Create VM' }: { children?: ReactNode }) {
  return (
    <Link to="/vms/new" className={button.primary}>
      <svg viewBox="0 0 20 20" className="h-4 w-4" fill="none" stroke="currentColor" strokeWidth="2.2" strokeLinecap="round" aria-hidden="true">
        <path d="M10 4v12M4 10h12" />
      </svg>
      {children}
    </Link>
  );
}

// Phones: every row becomes a small two-column card (one DOM for both layouts).
const row = 'grid grid-cols-2 gap-x-4 gap-y-3 p-4 md:table-row md:p-0';
const cell = 'block min-w-0 text-slate-700 md:table-cell md:px-4 md:py-3 md:align-middle dark:text-slate-200';
const COLUMNS = ['Name', 'Status', 'Image', 'Size', 'IP / SSH', 'Uptime', 'Created'];

/** The small caption a cell gets on phones, where the header row is hidden. */
function CellLabel({ children }: { children: string }) {
  return <span className="mb-0.5 block text-xs font-semibold uppercase tracking-wide text-slate-600 md:hidden dark:text-slate-400">{children}</span>;
}

function Connect({ vm }: { vm: Vm }) {
  if (!vm.ssh_command) return vm.ip_address ? <span className="font-mono text-xs">{vm.ip_address}</span> : <span>—</span>;
  return (
    <div className="flex flex-wrap items-center gap-x-2 gap-y-1">
      <code className="break-all font-mono text-xs text-slate-800 dark:text-slate-200">{vm.ssh_command}</code>
      <CopyButton text={vm.ssh_command} srSuffix={` SSH command for ${vm.name}`} className={button.ghost} />
      {vm.ip_address && <span className="block w-full font-mono text-xs text-slate-600 dark:text-slate-400">IP {vm.ip_address}</span>}
    </div>
  );
}

function VmsTable({ vms, images }: { vms: Vm[]; images: Image[] | undefined }) {
  const now = useNow();
  return (
    <div className={table.wrap}>
      <table className={`${table.table} block md:table`}>
        <caption className="sr-only">Your virtual machines</caption>
        <thead className="hidden md:table-header-group">
          <tr>
            {COLUMNS.map((h) => (
              <th key={h} scope="col" className={table.th}>{h}</th>
            ))}
          </tr>
        </thead>
        <tbody className={`${table.tbody} block md:table-row-group`}>
          {vms.map((vm) => (
            <tr key={vm.id} className={row}>
              <td className={cell}>
                <Link to={`/vms/${vm.id}`} className={`${link} text-base [overflow-wrap:anywhere] md:text-sm`}>
                  {vm.name}
                </Link>
              </td>
              <td className={`${cell} text-right md:text-left`}>
                <span className="inline-flex flex-wrap items-center justify-end gap-1 md:justify-start">
                  <VmStatusBadge status={vm.status} reason={vm.status_reason} />
                  <HealthBadge health={vm.health} since={vm.health_since} />
                </span>
              </td>
              <td className={cell}>
                <CellLabel>Image</CellLabel>
                {imageLabel(vm.image, images)}
              </td>
              <td className={cell}>
                <CellLabel>Size</CellLabel>
                <span className="block whitespace-nowrap">{vm.size ?? 'Custom'}</span>
                <span className="block text-xs text-slate-600 dark:text-slate-400">{formatResources(vm.ram, vm.cpu, vm.disk)}</span>
              </td>
              <td className={`${cell} col-span-2`}>
                <CellLabel>IP / SSH</CellLabel>
                <Connect vm={vm} />
              </td>
              <td className={`${cell} whitespace-nowrap`}>
                <CellLabel>Uptime</CellLabel>
                {formatUptime(vm, now)}
              </td>
              <td className={`${cell} whitespace-nowrap`}>
                <CellLabel>Created</CellLabel>
                {formatDate(vm.created_at)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function VmsPage() {
  useTitle('Virtual machines');
  const vms = useVms();
  const images = useImages();
  const visible = vms.data?.filter((vm) => vm.status !== 'destroyed') ?? [];

  return (
    <>
      <PageHeader
        title="Virtual machines"
        description="Launch, connect to and manage your VMs."
        actions={
          <div className="flex flex-wrap gap-3">
            <Link to="/vms/snapshots" className={button.secondary}>
              Snapshots
            </Link>
            <CreateVmLink />
          </div>
        }
      />
      <BillingBanner />
      {vms.isPending && <SkeletonRows label="Loading your VMs…" />}
      {vms.isError && (
        <Alert title="Could not load your VMs">
          {errorMessage(vms.error)}{' '}
          <button type="button" className={`${link} underline`} onClick={() => void vms.refetch()}>
            Try again
          </button>
        </Alert>
      )}
      {vms.isSuccess && visible.length === 0 && (
        <EmptyState title="No VMs yet" icon={serverIcon}>
          <p>Pick an image and a size, and your machine boots in moments.</p>
          <Link to="/vms/new" className={`${link} mt-3 inline-block`}>
            Create your first VM
          </Link>
        </EmptyState>
      )}
      {vms.isSuccess && visible.length > 0 && <VmsTable vms={visible} images={images.data} />}
    </>
  );
}
