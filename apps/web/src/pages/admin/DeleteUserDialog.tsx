import type { AdminUser, DeletedUser } from '@twarga/contract';
import { useState, type FormEvent } from 'react';
import { errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { Dialog } from '../../components/Dialog';
import { TextField } from '../../components/Field';
import { SubmitButton } from '../../components/SubmitButton';
import { button } from '../../components/ui';
import { adminApi, useAdminMutation } from './queries';

/**
 * Deleting an account destroys its VMs first and keeps its history (ledger, events, audit): the
 * admin types the username to confirm. The page mounts one per opening (a key).
 */
export function DeleteUserDialog({ user, open, onClose, onDeleted }: { user: AdminUser; open: boolean; onClose: () => void; onDeleted: (d: DeletedUser) => void }) {
  const [typed, setTyped] = useState('');
  const [problem, setProblem] = useState<string>();
  const del = useAdminMutation((id: number) => adminApi.deleteUser(id));
  const close = () => !del.isPending && onClose();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (typed.trim() !== user.username) {
      setProblem(`Type the username, ${user.username}, to confirm.`);
      return;
    }
    del.mutate(user.id, { onSuccess: onDeleted });
  };
  return (
    <Dialog open={open} onClose={close} title={`Delete ${user.username}?`}>
      <form onSubmit={submit} noValidate className="space-y-4">
        <div className="space-y-2 text-sm text-slate-700 dark:text-slate-300">
          <p>
            The account is closed: <strong>{user.username}</strong> is signed out and can no longer sign in, and their API tokens stop working.
          </p>
          <p>
            {user.vm_count > 0 ? (
              <>
                Their <strong>{user.vm_count} {user.vm_count === 1 ? 'VM is' : 'VMs are'} destroyed</strong> first, disks included.
              </>
            ) : (
              'They have no VMs.'
            )}{' '}
            Their history stays: credit history, events and the audit log keep their name.
          </p>
        </div>
        {del.isError && <Alert>{errorMessage(del.error)}</Alert>}
        <TextField label={`Type ${user.username} to confirm`} name="confirm" autoComplete="off" spellCheck={false} autoFocus value={typed} error={problem}
          onChange={(e) => {
            setTyped(e.target.value);
            setProblem(undefined);
          }} />
        <div className="flex flex-wrap justify-end gap-3 pt-2">
          <button type="button" className={button.secondary} onClick={close}>
            Cancel
          </button>
          <SubmitButton pending={del.isPending} busy="Deleting…" variant="danger">
            Delete user
          </SubmitButton>
        </div>
      </form>
    </Dialog>
  );
}
