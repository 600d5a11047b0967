import type { AdminVm } from '@twarga/contract';
import { useId, useState } from 'react';
import { errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { Dialog } from '../../components/Dialog';
import { Spinner } from '../../components/Spinner';
import { button } from '../../components/ui';
import { adminApi, useAdminMutation } from './queries';

export type VmAction = { vm: AdminVm; action: 'stop' | 'destroy' };

/**
 * Stop (optionally forced: power off at once) or destroy any user's VM, after a confirmation that
 * names the VM and its owner. The page mounts one per opening (a key), so "force" starts off.
 */
export function VmActionDialog({ target, onClose, onDone }: { target: VmAction | undefined; onClose: () => void; onDone?: (message: string) => void }) {
  const [force, setForce] = useState(false);
  const id = useId();
  const run = useAdminMutation(({ vm, action, force }: VmAction & { force: boolean }) => adminApi.vmAction(vm.id, action === 'stop' ? { action, force } : { action }));
  const close = () => !run.isPending && onClose();
  const vm = target?.vm;
  const destroy = target?.action === 'destroy';
  return (
    <Dialog open={target !== undefined} onClose={close} title={vm ? `${destroy ? 'Destroy' : 'Stop'} ${vm.name}?` : ''}>
      {vm && target && (
        <>
          <p className="text-sm text-slate-700 dark:text-slate-300">
            {destroy ? (
              <>
                <strong>{vm.name}</strong>, owned by <strong>{vm.owner_username}</strong>, is shut down and its disk deleted for good. Its owner is told; its billing stops. This cannot be undone.
              </>
            ) : (
              <>
                <strong>{vm.name}</strong>, owned by <strong>{vm.owner_username}</strong>, is shut down. Its owner can start it again; a stopped VM still bills until destroyed.
              </>
            )}
          </p>
          {!destroy && (
            <div className="mt-4 flex items-start gap-2">
              <input id={`${id}-force`} type="checkbox" className="mt-0.5 h-4 w-4 rounded border-slate-400" checked={force} onChange={(e) => setForce(e.target.checked)} />
              <label htmlFor={`${id}-force`} className="text-sm text-slate-800 dark:text-slate-200">
                Force: power off at once
                <span className="block text-xs text-slate-600 dark:text-slate-400">Like pulling the plug, for a guest that ignores the shutdown request. Unsaved data in the guest is lost.</span>
              </label>
            </div>
          )}
          {run.isError && <Alert className="mt-4">{errorMessage(run.error)}</Alert>}
          <div className="mt-6 flex flex-wrap justify-end gap-3">
            <button type="button" className={button.secondary} onClick={close} autoFocus>
              Cancel
            </button>
            <button
              type="button"
              className={button.danger}
              disabled={run.isPending}
              onClick={() =>
                run.mutate(
                  { ...target, force },
                  {
                    onSuccess: () => {
                      onClose();
                      onDone?.(destroy ? `Destroying ${vm.name}.` : `Stopping ${vm.name}${force ? ' (forced)' : ''}.`);
                    },
                  },
                )
              }
            >
              {run.isPending && <Spinner />}
              {destroy ? 'Destroy VM' : force ? 'Force stop' : 'Stop VM'}
            </button>
          </div>
        </>
      )}
    </Dialog>
  );
}
