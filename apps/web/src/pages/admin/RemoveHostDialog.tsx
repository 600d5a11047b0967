import type { ComputeHost } from '@twarga/contract';
import { useEffect } from 'react';
import { errorMessage, isApiError } from '../../api';
import { Alert } from '../../components/Alert';
import { Dialog } from '../../components/Dialog';
import { Spinner } from '../../components/Spinner';
import { button } from '../../components/ui';
import { useRemoveHost } from './hostsQueries';

/** Removed, or removed already by someone else: either way it is gone. */
const gone = (err: unknown) => !err || (isApiError(err) && err.status === 404);

/** "Remove host rack-2?" — the server refuses (409) while VMs still live on it, and says so. */
export function RemoveHostDialog({ host, onClose }: { host: ComputeHost | undefined; onClose: () => void }) {
  const remove = useRemoveHost();
  const { reset } = remove;
  useEffect(() => reset(), [host?.id, reset]);

  const close = () => !remove.isPending && onClose();
  const refused = isApiError(remove.error) && remove.error.status === 409;
  return (
    <Dialog open={host !== undefined} onClose={close} title={`Remove host ${host?.name ?? ''}?`}>
      {host && (
        <>
          <p className="text-sm text-slate-700 dark:text-slate-300">
            The scheduler stops using <strong>{host.name}</strong> and it leaves this list. Nothing on the machine itself is touched.
          </p>
          {host.usage.vms > 0 && !remove.isError && (
            <Alert tone="warning" className="mt-4">
              {host.usage.vms} {host.usage.vms === 1 ? 'VM still runs' : 'VMs still run'} on it. Drain it, then destroy or move them first.
            </Alert>
          )}
          {remove.isError && (
            <Alert className="mt-4" title={refused ? 'This host cannot be removed yet' : undefined}>
              {errorMessage(remove.error)}
            </Alert>
          )}
          <div className="mt-6 flex flex-wrap justify-end gap-3">
            <button type="button" className={button.secondary} onClick={close} autoFocus>
              Cancel
            </button>
            <button type="button" className={button.danger} disabled={remove.isPending} onClick={() => remove.mutate(host.id, { onSettled: (_r, err) => gone(err) && onClose() })}>
              {remove.isPending && <Spinner />}
              {remove.isPending ? 'Removing…' : 'Remove host'}
            </button>
          </div>
        </>
      )}
    </Dialog>
  );
}
