import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { Snapshot, Vm } from '@twarga/contract';
import { useState } from 'react';
import { client, errorMessage, keys } from '../../../api';
import { Alert } from '../../../components/Alert';
import { ConfirmDialog } from '../../../components/ConfirmDialog';
import { EmptyList } from '../../../components/EmptyState';
import { Section } from '../../../components/Section';
import { SkeletonRows } from '../../../components/Spinner';
import { useConfirmedRemove } from '../../../components/useConfirmedRemove';
import { button, muted } from '../../../components/ui';
import { formatNumber } from '../../../format';
import { useVmSnapshots } from '../queries';
import { restoreBlocked, restoreEffect, takeBlocked } from './snapshots';
import { SnapshotsTable } from './SnapshotsTable';
import { TakeSnapshotDialog } from './TakeSnapshotDialog';

/** The VM's snapshots: take one, restore the VM to one, make a new VM from one, delete one. */
export function SnapshotsSection({ vm }: { vm: Vm }) {
  const queryClient = useQueryClient();
  const list = useVmSnapshots(vm.id);
  const [taking, setTaking] = useState(false);
  const [restoring, setRestoring] = useState<Snapshot>();
  const remove = useConfirmedRemove<Snapshot>(keys.snapshots, client.snapshots.remove);

  const restore = useMutation({
    mutationFn: (s: Snapshot) => client.vms.action(vm.id, { action: 'restore', snapshot_id: s.id }),
    onSuccess: async () => {
      setRestoring(undefined);
      await Promise.all([keys.vm(vm.id), keys.vmActions(vm.id), keys.vms, keys.snapshots].map((queryKey) => queryClient.invalidateQueries({ queryKey })));
    },
  });

  const blocked = takeBlocked(vm, list.data);
  const cannotRestore = restoreBlocked(vm);

  return (
    <Section
      title="Snapshots"
      description="Point-in-time copies of this VM's disk, and of its memory if you include RAM. Roll the VM back to one in one click, or make a new VM from it."
    >
      {list.isSuccess && (
        <div className="mb-4 flex flex-wrap items-center justify-between gap-3">
          <p className={`text-sm ${muted}`} data-testid="snapshot-quota">
            <span className="font-medium text-slate-900 dark:text-white">
              {formatNumber(list.data.used)} / {formatNumber(list.data.limit)}
            </span>{' '}
            snapshots used (all your VMs) · {formatNumber(list.data.price_gb_month)} credits per GB-month
          </p>
          <div className="flex flex-col items-start gap-1 sm:items-end">
            <span title={blocked}>
              <button type="button" className={button.primary} disabled={Boolean(blocked)} aria-describedby={blocked ? 'take-blocked' : undefined} onClick={() => setTaking(true)}>
                Take snapshot
              </button>
            </span>
            {blocked && (
              <p id="take-blocked" className={`text-xs ${muted}`}>
                {blocked}
              </p>
            )}
          </div>
        </div>
      )}
      {list.isPending && <SkeletonRows label="Loading snapshots…" rows={2} />}
      {list.isError && <Alert>Could not load the snapshots: {errorMessage(list.error)}</Alert>}
      {list.isSuccess && list.data.snapshots.length === 0 && <EmptyList>No snapshots of this VM yet</EmptyList>}
      {list.isSuccess && list.data.snapshots.length > 0 && (
        <SnapshotsTable
          snapshots={list.data.snapshots}
          caption={`Snapshots of ${vm.name}`}
          onRestore={(s) => {
            restore.reset();
            setRestoring(s);
          }}
          restoreBlocked={cannotRestore}
          onDelete={remove.ask}
        />
      )}

      <TakeSnapshotDialog vm={vm} open={taking} onClose={() => setTaking(false)} priceGbMonth={list.data?.price_gb_month} />
      <ConfirmDialog
        open={restoring !== undefined}
        onClose={() => {
          if (restore.isPending) return;
          setRestoring(undefined);
          restore.reset();
        }}
        title={`Restore ${vm.name} to ${restoring?.name ?? ''}?`}
        confirmLabel={restore.isPending ? 'Restoring…' : 'Restore'}
        onConfirm={() => restoring && restore.mutate(restoring)}
        pending={restore.isPending}
        error={restore.error}
      >
        {restoring && restoreEffect(restoring, vm)} Its progress shows under Actions.
      </ConfirmDialog>
      <ConfirmDialog
        open={remove.target !== undefined}
        onClose={remove.close}
        title={`Delete the snapshot ${remove.target?.name ?? ''}?`}
        confirmLabel={remove.pending ? 'Deleting…' : 'Delete snapshot'}
        onConfirm={remove.confirm}
        pending={remove.pending}
        error={remove.error}
      >
        Its files are removed and it stops being billed. The VM itself is not touched. This cannot be undone.
      </ConfirmDialog>
    </Section>
  );
}
