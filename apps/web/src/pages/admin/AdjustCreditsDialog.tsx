import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { AdminUser } from '@twarga/contract';
import { useState, type FormEvent } from 'react';
import { allDetailsMapped, client, errorMessage, fieldErrors, keys } from '../../api';
import { Alert } from '../../components/Alert';
import { Dialog } from '../../components/Dialog';
import { TextField } from '../../components/Field';
import { SubmitButton } from '../../components/SubmitButton';
import { button } from '../../components/ui';
import { formatNumber } from '../../format';
import { checkCredit } from './creditForm';
import { adminKeys } from './queries';

const LABELS = { amount: 'Amount', reason: 'Reason' };

/** Adds or removes credits with a reason. UsersTable mounts one per user (a key), so the form starts empty. */
export function AdjustCreditsDialog({ user, onClose, selfId }: { user: AdminUser | undefined; onClose: () => void; selfId: number }) {
  const queryClient = useQueryClient();
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  const [local, setLocal] = useState<Record<string, string | undefined>>({});

  const adjust = useMutation({
    mutationFn: ({ id, amount, reason }: { id: number; amount: number; reason: string }) => client.admin.adjustCredits(id, { amount, reason }),
    onSuccess: async (_res, vars) => {
      onClose();
      // Every admin view may show it: the user lists and page, the statistics, the audit log.
      await queryClient.invalidateQueries({ queryKey: adminKeys.all });
      if (vars.id === selfId) {
        await queryClient.invalidateQueries({ queryKey: keys.me });
        await queryClient.invalidateQueries({ queryKey: keys.ledger });
      }
    },
  });
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (!user) return;
    const checked = checkCredit(amount, reason);
    setLocal(checked.errors);
    if (Object.keys(checked.errors).length === 0) adjust.mutate({ id: user.id, amount: checked.amount, reason: checked.reason });
  };

  const errors = { ...fieldErrors(adjust.error, LABELS), ...local };

  return (
    <Dialog open={user !== undefined} onClose={onClose} title={`Adjust credits for ${user?.username ?? ''}`}>
      <form onSubmit={onSubmit} noValidate className="space-y-4">
        <p className="text-sm text-slate-600 dark:text-slate-400">Current balance: {formatNumber(user?.credits ?? 0)} credits.</p>
        {adjust.isError && !allDetailsMapped(adjust.error, LABELS) && <Alert>{errorMessage(adjust.error)}</Alert>}
        <TextField label="Amount" name="amount" type="number" step={1} inputMode="numeric" autoFocus value={amount} onChange={(e) => {
          setAmount(e.target.value);
          setLocal((l) => ({ ...l, amount: undefined }));
        }} error={errors.amount} hint="Positive to add credits, negative to remove them." />
        <TextField label="Reason" name="reason" maxLength={200} value={reason} onChange={(e) => {
          setReason(e.target.value);
          setLocal((l) => ({ ...l, reason: undefined }));
        }} error={errors.reason} />
        <div className="flex flex-wrap justify-end gap-3 pt-2">
          <button type="button" className={button.secondary} onClick={onClose}>
            Cancel
          </button>
          <SubmitButton pending={adjust.isPending}>Apply adjustment</SubmitButton>
        </div>
      </form>
    </Dialog>
  );
}
