import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { Vm } from '@twarga/contract';
import { useId, useState, type FormEvent } from 'react';
import { client, errorMessage, keys } from '../../../api';
import { Alert } from '../../../components/Alert';
import { Dialog } from '../../../components/Dialog';
import { TextField } from '../../../components/Field';
import { SubmitButton } from '../../../components/SubmitButton';
import { button } from '../../../components/ui';
import { canIncludeRam, SNAPSHOT_NAME_HINT, snapshotNameProblem, snapshotRequest } from './snapshots';

/** "Take a snapshot of web-1": an optional name and "Include RAM" (running VMs only). */
export function TakeSnapshotDialog({ vm, open, onClose, priceGbMonth }: { vm: Vm; open: boolean; onClose: () => void; priceGbMonth: number | undefined }) {
  const queryClient = useQueryClient();
  const ramId = useId();
  const [name, setName] = useState('');
  const [memory, setMemory] = useState(false);
  const ramAllowed = canIncludeRam(vm);

  const take = useMutation({
    mutationFn: () => client.vms.snapshot(vm.id, snapshotRequest(name, memory, vm)),
    onSuccess: async () => {
      close();
      // The events stream brings the new snapshot too; refetching covers a stream that is down.
      await Promise.all([keys.vmSnapshots(vm.id), keys.vm(vm.id), keys.vmActions(vm.id)].map((queryKey) => queryClient.invalidateQueries({ queryKey })));
    },
  });

  function close() {
    setName('');
    setMemory(false);
    take.reset();
    onClose();
  }

  const problem = snapshotNameProblem(name);
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (!problem) take.mutate();
  };

  return (
    <Dialog open={open} onClose={() => !take.isPending && close()} title={`Take a snapshot of ${vm.name}`}>
      <form onSubmit={onSubmit} noValidate className="space-y-4">
        <p className="text-sm text-slate-700 dark:text-slate-300">
          A copy of the VM's disk as it is now. {vm.status === 'running' && "While it is copied, the guest's filesystems are frozen for a moment (through the guest agent) so the copy is consistent."}
          {priceGbMonth !== undefined && <> It is billed per GB-month of its size ({priceGbMonth} credits per GB-month).</>}
        </p>
        <TextField
          label="Name"
          name="snapshot_name"
          autoComplete="off"
          autoCapitalize="none"
          spellCheck={false}
          maxLength={64}
          placeholder="before-upgrade"
          value={name}
          onChange={(e) => {
            setName(e.target.value);
            if (take.isError) take.reset();
          }}
          error={problem}
          hint={SNAPSHOT_NAME_HINT}
        />
        <div className="flex items-start gap-3">
          <input id={ramId} type="checkbox" checked={memory && ramAllowed} disabled={!ramAllowed} onChange={(e) => setMemory(e.target.checked)} aria-describedby={`${ramId}-hint`} className="mt-0.5 h-4 w-4 accent-indigo-600 disabled:cursor-not-allowed" />
          <div>
            <label htmlFor={ramId} className={`text-sm font-medium ${ramAllowed ? 'text-slate-800 dark:text-slate-200' : 'text-slate-500 dark:text-slate-500'}`}>
              Include RAM
            </label>
            <p id={`${ramId}-hint`} className="text-xs text-slate-600 dark:text-slate-400">
              {ramAllowed
                ? 'Also save the memory: a restore then resumes the VM exactly where it was, running processes and all. The snapshot takes longer and is bigger (about the VM\'s RAM more).'
                : 'Only while the VM is running: a stopped VM has no memory to save.'}
            </p>
          </div>
        </div>
        {take.isError && <Alert>{errorMessage(take.error)}</Alert>}
        <div className="flex flex-wrap justify-end gap-3 pt-2">
          <button type="button" className={button.secondary} onClick={close} disabled={take.isPending}>
            Cancel
          </button>
          <SubmitButton pending={take.isPending} busy="Starting…">
            Take snapshot
          </SubmitButton>
        </div>
      </form>
    </Dialog>
  );
}
