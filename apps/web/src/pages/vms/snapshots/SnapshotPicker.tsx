import { useId } from 'react';
import { errorMessage } from '../../../api';
import { Alert } from '../../../components/Alert';
import { EmptyList } from '../../../components/EmptyState';
import { SkeletonRows } from '../../../components/Spinner';
import { link } from '../../../components/ui';
import { formatDateTime, formatNumber } from '../../../format';
import { ChoiceCard, ChoiceGroup } from '../Choices';
import { useSnapshots } from '../queries';
import { usableSnapshots } from './snapshots';

/** Radio cards of the user's available snapshots, in place of the image picker. */
export function SnapshotPicker({ value, onChange, error }: { value: number | null; onChange: (id: number) => void; error?: string }) {
  const snapshots = useSnapshots();
  const list = usableSnapshots(snapshots.data?.snapshots);
  return (
    <ChoiceGroup legend="Snapshot" hint="The new VM starts with the snapshot's disk and image, and gets its own identity: hostname, SSH host keys, your SSH keys." error={error}>
      {snapshots.isPending && <SkeletonRows label="Loading snapshots…" rows={2} />}
      {snapshots.isError && (
        <Alert>
          Could not load your snapshots: {errorMessage(snapshots.error)}{' '}
          <button type="button" className={`${link} underline`} onClick={() => void snapshots.refetch()}>
            Try again
          </button>
        </Alert>
      )}
      {snapshots.isSuccess && list.length === 0 && <EmptyList>You have no available snapshots. Take one on a VM's Snapshots tab.</EmptyList>}
      {list.length > 0 && (
        <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3">
          {list.map((s) => (
            <ChoiceCard key={s.id} name="snapshot" value={String(s.id)} checked={value === s.id} onChange={() => onChange(s.id)}>
              <span className="block font-semibold text-slate-900 [overflow-wrap:anywhere] dark:text-white">{s.name}</span>
              <span className="block text-xs text-slate-600 dark:text-slate-400">
                of {s.vm_name} · {formatDateTime(s.created_at)}
              </span>
              <span className="block text-xs text-slate-600 dark:text-slate-400">
                {s.image} · at least {formatNumber(s.min_disk)} GB disk
              </span>
            </ChoiceCard>
          ))}
        </div>
      )}
    </ChoiceGroup>
  );
}

/** Image / Snapshot as a segmented control (the look of the console's Serial / SSH switch). */
export function SourceSwitch({ value, onChange }: { value: 'image' | 'snapshot'; onChange: (v: 'image' | 'snapshot') => void }) {
  const name = useId();
  const idle = 'text-slate-600 hover:text-slate-900 dark:text-slate-300 dark:hover:text-white';
  const on = 'bg-white text-slate-900 shadow-sm dark:bg-slate-600 dark:text-white';
  return (
    <fieldset className="inline-flex rounded-lg bg-slate-100 p-1 dark:bg-slate-800">
      <legend className="sr-only">Start from</legend>
      {(
        [
          ['image', 'From an image'],
          ['snapshot', 'From a snapshot'],
        ] as const
      ).map(([v, label]) => (
        <label key={v} className={`relative cursor-pointer rounded-md px-3 py-1 text-sm font-medium transition-colors has-[:focus-visible]:ring-2 has-[:focus-visible]:ring-indigo-500 ${value === v ? on : idle}`}>
          <input type="radio" name={name} value={v} checked={value === v} onChange={() => onChange(v)} className="absolute inset-0 cursor-pointer appearance-none rounded-md opacity-0" />
          {label}
        </label>
      ))}
    </fieldset>
  );
}
