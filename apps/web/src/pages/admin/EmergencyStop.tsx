import type { EmergencyStopResult } from '@twarga/contract';
import { useState, type FormEvent } from 'react';
import { errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { Dialog } from '../../components/Dialog';
import { TextField } from '../../components/Field';
import { SubmitButton } from '../../components/SubmitButton';
import { button } from '../../components/ui';
import { STOP_ALL_PHRASE } from './params';
import { adminApi, useAdminMutation } from './queries';

/** What an emergency stop did: the VMs asked to stop, and those it skipped with the reason. */
export function EmergencyStopOutcome({ result, onDismiss }: { result: EmergencyStopResult; onDismiss: () => void }) {
  const { requested, skipped } = result;
  return (
    <Alert tone={skipped.length ? 'warning' : 'success'} title={`Emergency stop: ${requested.length} ${requested.length === 1 ? 'VM' : 'VMs'} stopping, ${skipped.length} skipped`} className="mb-4">
      <div data-testid="emergency-stop-result" data-requested={requested.length} data-skipped={skipped.length}>
        {requested.length > 0 && <p className="mt-1">Stopping: {requested.map((r) => r.name).join(', ')}.</p>}
        {skipped.length > 0 && (
          <ul className="mt-1 list-disc pl-5">
            {skipped.map((s) => (
              <li key={s.vm_id}>
                {s.name}: {s.reason}
              </li>
            ))}
          </ul>
        )}
        {requested.length === 0 && skipped.length === 0 && <p className="mt-1">No VM was running.</p>}
        <button type="button" className="mt-2 text-xs font-semibold underline" onClick={onDismiss}>
          Dismiss
        </button>
      </div>
    </Alert>
  );
}

/** Every running VM of one user, powered off at once after a confirmation. */
export function EmergencyStopUserDialog({ user, onClose, onDone }: { user: { id: number; username: string } | undefined; onClose: () => void; onDone: (r: EmergencyStopResult) => void }) {
  const stop = useAdminMutation((id: number) => adminApi.emergencyStopUser(id));
  const close = () => !stop.isPending && onClose();
  return (
    <Dialog open={user !== undefined} onClose={close} title={`Emergency stop ${user?.username ?? ''}'s VMs?`}>
      <p className="text-sm text-slate-700 dark:text-slate-300">
        Every running VM of <strong>{user?.username}</strong> is stopped now. They stay stopped (and still bill) until someone starts them; the user is told.
      </p>
      {stop.isError && <Alert className="mt-4">{errorMessage(stop.error)}</Alert>}
      <div className="mt-6 flex flex-wrap justify-end gap-3">
        <button type="button" className={button.secondary} onClick={close} autoFocus>
          Cancel
        </button>
        <button type="button" className={button.danger} disabled={stop.isPending} onClick={() => user && stop.mutate(user.id, { onSuccess: (r) => { onClose(); onDone(r); } })}>
          Stop all their VMs
        </button>
      </div>
    </Dialog>
  );
}

/**
 * Every running VM of every user, stopped: the admin types the phrase first. A wrong phrase is
 * refused here (and by the server, which checks it again).
 */
export function EmergencyStopAllDialog({ open, onClose, onDone }: { open: boolean; onClose: () => void; onDone: (r: EmergencyStopResult) => void }) {
  const [phrase, setPhrase] = useState('');
  const [reason, setReason] = useState('');
  const [problem, setProblem] = useState<string>();
  const stop = useAdminMutation(({ confirm, reason }: { confirm: string; reason?: string }) => adminApi.emergencyStopAll(confirm, reason));
  const close = () => !stop.isPending && onClose();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (phrase !== STOP_ALL_PHRASE) {
      setProblem(`Type ${STOP_ALL_PHRASE} exactly, in capitals, to confirm.`);
      return;
    }
    stop.mutate({ confirm: phrase, reason: reason.trim() || undefined }, { onSuccess: (r) => { onClose(); onDone(r); } });
  };
  return (
    <Dialog open={open} onClose={close} title="Emergency stop all VMs?">
      <form onSubmit={submit} noValidate className="space-y-4">
        <Alert tone="warning">
          Every running VM of every user is stopped now, yours included. Nothing is deleted: owners can start their VMs again, and stopped VMs still bill until destroyed.
        </Alert>
        {stop.isError && <Alert>{errorMessage(stop.error)}</Alert>}
        <TextField label={`Type ${STOP_ALL_PHRASE} to confirm`} name="confirm" autoComplete="off" spellCheck={false} autoFocus value={phrase} error={problem}
          onChange={(e) => {
            setPhrase(e.target.value);
            setProblem(undefined);
          }} />
        <TextField label="Reason (optional)" name="reason" maxLength={200} value={reason} hint="Recorded in the audit log and told to the owners." onChange={(e) => setReason(e.target.value)} />
        <div className="flex flex-wrap justify-end gap-3 pt-2">
          <button type="button" className={button.secondary} onClick={close}>
            Cancel
          </button>
          <SubmitButton pending={stop.isPending} busy="Stopping…" variant="danger">
            Stop every VM
          </SubmitButton>
        </div>
      </form>
    </Dialog>
  );
}
