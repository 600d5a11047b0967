import type { AdminUser, BulkUsersRequest, BulkUsersResponse } from '@twarga/contract';
import { useState, type FormEvent } from 'react';
import { allDetailsMapped, errorMessage, fieldErrors } from '../../api';
import { Alert } from '../../components/Alert';
import { Dialog } from '../../components/Dialog';
import { TextField } from '../../components/Field';
import { SubmitButton } from '../../components/SubmitButton';
import { button } from '../../components/ui';
import { checkCredit } from './creditForm';
import { adminApi, useAdminMutation } from './queries';

export type BulkAction = BulkUsersRequest['action'];

const LABELS = { amount: 'Amount', reason: 'Reason' };
const plural = (n: number) => `${n} ${n === 1 ? 'user' : 'users'}`;
const VERB: Record<BulkAction, string> = { activate: 'Activate', deactivate: 'Deactivate', credit: 'Credit' };

/** "alice, bob, carol and 4 more" */
function names(users: AdminUser[]): string {
  const shown = users.slice(0, 8).map((u) => u.username);
  const rest = users.length - shown.length;
  if (rest > 0) return `${shown.join(', ')} and ${rest} more`;
  return shown.length > 1 ? `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)}` : (shown[0] ?? '');
}

const WHAT: Record<BulkAction, string> = {
  activate: 'They can sign in and use their VMs again.',
  deactivate: 'They are signed out and cannot sign in or use the API until activated again. Their VMs keep running (and billing); stop them on the VMs page if needed.',
  credit: 'Each gets the same amount, written to their credit history with the reason.',
};

/**
 * One request for many users, all or nothing: one refusal (an unknown id, your own account
 * deactivated) and nobody changes. The page mounts one per opening (a key), so the form starts empty.
 */
export function BulkUsersDialog({ action, users, onClose, onDone }: { action: BulkAction | undefined; users: AdminUser[]; onClose: () => void; onDone: (res: BulkUsersResponse, body: BulkUsersRequest) => void }) {
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  const [local, setLocal] = useState<Record<string, string | undefined>>({});
  const bulk = useAdminMutation((body: BulkUsersRequest) => adminApi.bulk(body));
  const n = users.length;
  const verb = action ? VERB[action] : '';

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!action || n === 0) return;
    let body: BulkUsersRequest = { ids: users.map((u) => u.id), action };
    if (action === 'credit') {
      const checked = checkCredit(amount, reason);
      setLocal(checked.errors);
      if (Object.keys(checked.errors).length) return;
      body = { ...body, amount: checked.amount, reason: checked.reason };
    }
    bulk.mutate(body, { onSuccess: (res) => onDone(res, body) });
  };
  const close = () => !bulk.isPending && onClose();
  const errors = { ...fieldErrors(bulk.error, LABELS), ...local };

  return (
    <Dialog open={action !== undefined} onClose={close} title={action === 'credit' ? `Credit ${plural(n)}` : `${verb} ${plural(n)}?`}>
      <form onSubmit={submit} noValidate className="space-y-4">
        <p className="text-sm text-slate-700 dark:text-slate-300" data-testid="bulk-summary">
          {verb} <strong>{plural(n)}</strong>: {names(users)}. {action && WHAT[action]} All or nothing: if one of them cannot be changed, none is.
        </p>
        {bulk.isError && !allDetailsMapped(bulk.error, LABELS) && <Alert>{errorMessage(bulk.error)}</Alert>}
        {action === 'credit' && (
          <>
            <TextField label="Amount" name="amount" type="number" step={1} inputMode="numeric" autoFocus value={amount} error={errors.amount} hint="Per user. Positive to add credits, negative to remove them."
              onChange={(e) => {
                setAmount(e.target.value);
                setLocal((l) => ({ ...l, amount: undefined }));
              }} />
            <TextField label="Reason" name="reason" maxLength={200} value={reason} error={errors.reason}
              onChange={(e) => {
                setReason(e.target.value);
                setLocal((l) => ({ ...l, reason: undefined }));
              }} />
          </>
        )}
        <div className="flex flex-wrap justify-end gap-3 pt-2">
          <button type="button" className={button.secondary} onClick={close} autoFocus={action !== 'credit'}>
            Cancel
          </button>
          <SubmitButton pending={bulk.isPending} busy="Applying…" variant={action === 'deactivate' ? 'danger' : 'primary'}>
            {verb} {plural(n)}
          </SubmitButton>
        </div>
      </form>
    </Dialog>
  );
}
