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
      await queryClient.invalidateQueries({ queryKey: keys.adminUsers });
      if (vars.id === selfId) {
        await queryClient.invalidateQueries({ queryKey: keys.me });
        await queryClient.invalidateQueries({ queryKey: keys.ledger });
      }
    },
  });
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (!user) return;
    const errs: Record<string, string | undefined> = {};
    const n = Number(amount);
    if (!amount.trim() || !Number.isInteger(n)) errs.amount = 'Enter a whole number, e.g. 500 or -200.';
    else if (n === 0) errs.amount = 'The amount cannot be 0.';
    else if (Math.abs(n) > 1_000_000_000) errs.amount = 'At most 1,000,000,000 either way.';
    if (!reason.trim()) errs.reason = 'Say why, e.g. “Refund for outage”. It appears in their credit history.';
    else if (reason.trim().length > 200) errs.reason = 'Use at most 200 characters.';
    setLocal(errs);
    if (Object.keys(errs).length === 0) adjust.mutate({ id: user.id, amount: n, reason: reason.trim() });
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
