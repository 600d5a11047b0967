import type { Snapshot } from '@twarga/contract';
import { Link } from 'react-router';
import { client, errorMessage, keys } from '../../../api';
import { Alert } from '../../../components/Alert';
import { ConfirmDialog } from '../../../components/ConfirmDialog';
import { EmptyList } from '../../../components/EmptyState';
import { PageHeader } from '../../../components/PageHeader';
import { SkeletonRows } from '../../../components/Spinner';
import { useConfirmedRemove } from '../../../components/useConfirmedRemove';
import { button, link, muted } from '../../../components/ui';
import { formatNumber } from '../../../format';
import { useTitle } from '../../../useTitle';
import { useSnapshots } from '../queries';
import { SnapshotsTable } from './SnapshotsTable';

/** Every snapshot of the user's, also those of destroyed VMs (they live on, and bill, until deleted). */
export function SnapshotsPage() {
  useTitle('Snapshots');
  const list = useSnapshots();
  const remove = useConfirmedRemove<Snapshot>(keys.snapshots, client.snapshots.remove);
  return (
    <>
      <PageHeader
        title="Snapshots"
        description="Your snapshots across all VMs, also those of destroyed VMs. Take and restore them on a VM's Snapshots tab."
        actions={
          <Link to="/vms" className={button.secondary}>
            Back to VMs
          </Link>
        }
      />
      {list.isSuccess && (
        <p className={`mb-4 text-sm ${muted}`} data-testid="snapshot-quota">
          <span className="font-medium text-slate-900 dark:text-white">
            {formatNumber(list.data.used)} / {formatNumber(list.data.limit)}
          </span>{' '}
          snapshots used · {formatNumber(list.data.price_gb_month)} credits per GB-month
        </p>
      )}
      {list.isPending && <SkeletonRows label="Loading your snapshots…" />}
      {list.isError && (
        <Alert title="Could not load your snapshots">
          {errorMessage(list.error)}{' '}
          <button type="button" className={`${link} underline`} onClick={() => void list.refetch()}>
            Try again
          </button>
        </Alert>
      )}
      {list.isSuccess && list.data.snapshots.length === 0 && <EmptyList>No snapshots yet. Take one on a VM's Snapshots tab.</EmptyList>}
      {list.isSuccess && list.data.snapshots.length > 0 && <SnapshotsTable snapshots={list.data.snapshots} caption="Your snapshots" showVm onDelete={remove.ask} />}
      <ConfirmDialog
        open={remove.target !== undefined}
        onClose={remove.close}
        title={`Delete the snapshot ${remove.target?.name ?? ''}?`}
        confirmLabel={remove.pending ? 'Deleting…' : 'Delete snapshot'}
        onConfirm={remove.confirm}
        pending={remove.pending}
        error={remove.error}
      >
        Its files are removed and it stops being billed. No VM is touched. This cannot be undone.
      </ConfirmDialog>
    </>
  );
}
