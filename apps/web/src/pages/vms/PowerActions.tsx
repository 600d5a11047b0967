import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { Vm, VmActionRequest } from '@twarga/contract';
import { useId, useState, type FormEvent, type ReactNode } from 'react';
import { client, errorMessage, keys } from '../../api';
import { Alert } from '../../components/Alert';
import { Dialog } from '../../components/Dialog';
import { TextField } from '../../components/Field';
import { Spinner } from '../../components/Spinner';
import { button } from '../../components/ui';
import { allowedActions } from './vmStatus';

type Confirm = 'stop' | 'destroy';

/** Start / Stop / Reboot / Destroy, enabled by status, all disabled while the VM is locked; `extra` buttons go before Destroy. */
export function PowerActions({ vm, extra }: { vm: Vm; extra?: ReactNode }) {
  const queryClient = useQueryClient();
  const forceId = useId();
  const [confirm, setConfirm] = useState<Confirm>();
  const [force, setForce] = useState(false);
  const [typed, setTyped] = useState('');

  const act = useMutation({
    mutationFn: (body: VmActionRequest) => client.vms.action(vm.id, body),
    onSuccess: async () => {
      setConfirm(undefined);
      // The events stream brings the new state too; refetching covers a stream that is down.
      await Promise.all([keys.vm(vm.id), keys.vmActions(vm.id), keys.vms].map((queryKey) => queryClient.invalidateQueries({ queryKey })));
    },
  });

  const open = (which: Confirm) => {
    act.reset();
    setForce(false);
    setTyped('');
    setConfirm(which);
  };
  const close = () => {
    if (act.isPending) return;
    setConfirm(undefined);
    act.reset();
  };

  const busy = vm.locked || act.isPending;
  const can = allowedActions(vm, act.isPending);

  const onDestroy = (e: FormEvent) => {
    e.preventDefault();
    if (typed === vm.name) act.mutate({ action: 'destroy' });
  };

  return (
    <div className="flex w-full flex-col items-start gap-2 sm:w-auto sm:items-end">
      <div className="grid w-full grid-cols-2 gap-2 sm:flex sm:w-auto sm:flex-wrap">
        <button type="button" className={button.secondary} disabled={!can.start} onClick={() => act.mutate({ action: 'start' })}>
          Start
        </button>
        <button type="button" className={button.secondary} disabled={!can.stop} onClick={() => open('stop')}>
          Stop
        </button>
        <button type="button" className={button.secondary} disabled={!can.reboot} onClick={() => act.mutate({ action: 'reboot' })}>
          Reboot
        </button>
        {extra}
        <button type="button" className={button.danger} disabled={!can.destroy} onClick={() => open('destroy')}>
          Destroy
        </button>
      </div>
      {busy && (
        <p role="status" className="flex items-center gap-2 text-sm text-slate-600 dark:text-slate-400">
          <Spinner />
          Working…
        </p>
      )}
      {act.isError && !confirm && <Alert className="max-w-md">{errorMessage(act.error)}</Alert>}

      <Dialog open={confirm === 'stop'} onClose={close} title={`Stop ${vm.name}?`}>
        <p className="text-sm text-slate-700 dark:text-slate-300">The VM is asked to shut down cleanly. You can start it again later.</p>
        <div className="mt-4 flex items-start gap-3">
          <input id={forceId} type="checkbox" checked={force} onChange={(e) => setForce(e.target.checked)} aria-describedby={`${forceId}-hint`} className="mt-0.5 h-4 w-4 accent-indigo-600" />
          <div>
            <label htmlFor={forceId} className="text-sm font-medium text-slate-800 dark:text-slate-200">
              Force
            </label>
            <p id={`${forceId}-hint`} className="text-xs text-slate-600 dark:text-slate-400">
              Power off at once, like pulling the plug. Unsaved data in the VM may be lost.
            </p>
          </div>
        </div>
        {act.isError && <Alert className="mt-4">{errorMessage(act.error)}</Alert>}
        <div className="mt-6 flex flex-wrap justify-end gap-3">
          <button type="button" className={button.secondary} onClick={close} autoFocus>
            Cancel
          </button>
          <button type="button" className={button.primary} disabled={act.isPending} onClick={() => act.mutate(force ? { action: 'stop', force: true } : { action: 'stop' })}>
            {act.isPending && <Spinner />}
            {act.isPending ? 'Stopping…' : 'Stop VM'}
          </button>
        </div>
      </Dialog>

      <Dialog open={confirm === 'destroy'} onClose={close} title={`Destroy ${vm.name}?`}>
        <form onSubmit={onDestroy} noValidate className="space-y-4">
          <p className="text-sm text-slate-700 dark:text-slate-300">
            The VM and its disk are deleted for good. This cannot be undone.
          </p>
          <TextField
            label={`Type ${vm.name} to confirm`}
            name="confirm_name"
            autoFocus
            autoComplete="off"
            autoCapitalize="none"
            spellCheck={false}
            value={typed}
            onChange={(e) => setTyped(e.target.value)}
          />
          {act.isError && <Alert>{errorMessage(act.error)}</Alert>}
          <div className="flex flex-wrap justify-end gap-3 pt-2">
            <button type="button" className={button.secondary} onClick={close}>
              Cancel
            </button>
            <button type="submit" className={button.danger} disabled={typed !== vm.name || act.isPending}>
              {act.isPending && <Spinner />}
              {act.isPending ? 'Destroying…' : 'Destroy VM'}
            </button>
          </div>
        </form>
      </Dialog>
    </div>
  );
}
