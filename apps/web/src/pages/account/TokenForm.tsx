import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { CreatedApiToken, TokenScope } from '@twarga/contract';
import { useState, type FormEvent } from 'react';
import { allDetailsMapped, client, errorMessage, fieldErrors, keys } from '../../api';
import { Alert } from '../../components/Alert';
import { SelectField, TextField } from '../../components/Field';
import { SubmitButton } from '../../components/SubmitButton';

const LABELS = { name: 'Token name', scope: 'Scope', expires_in_days: 'Expires in days' };

export function TokenForm({ onCreated }: { onCreated: (token: CreatedApiToken) => void }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [scope, setScope] = useState<TokenScope>('read');
  const [days, setDays] = useState('');
  const [local, setLocal] = useState<Record<string, string | undefined>>({});

  const create = useMutation({
    mutationFn: () =>
      client.account.tokens.create({ name: name.trim(), scope, ...(days.trim() ? { expires_in_days: Number(days) } : {}) }),
    onSuccess: async (token) => {
      onCreated(token);
      setName('');
      setScope('read');
      setDays('');
      await queryClient.invalidateQueries({ queryKey: keys.tokens });
    },
  });

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const errs: Record<string, string | undefined> = {};
    if (!name.trim()) errs.name = 'Give the token a name, e.g. ci or laptop-cli.';
    else if (name.trim().length > 64) errs.name = 'Use at most 64 characters.';
    if (days.trim()) {
      const n = Number(days);
      if (!Number.isInteger(n) || n < 1 || n > 3650) errs.expires_in_days = 'Enter a whole number of days from 1 to 3650, or leave it empty.';
    }
    setLocal(errs);
    if (Object.keys(errs).length === 0) create.mutate();
    else create.reset();
  };

  const errors = { ...fieldErrors(create.error, LABELS), ...local };

  return (
    <form onSubmit={onSubmit} noValidate className="space-y-4">
      <h3 className="text-base font-semibold text-slate-900 dark:text-white">Create a token</h3>
      {create.isError && !allDetailsMapped(create.error, LABELS) && <Alert>{errorMessage(create.error)}</Alert>}
      <div className="grid gap-4 sm:grid-cols-3">
        <TextField label="Token name" name="token_name" autoComplete="off" maxLength={64} value={name} onChange={(e) => {
          setName(e.target.value);
          setLocal((l) => ({ ...l, name: undefined }));
        }} error={errors.name} placeholder="ci" />
        <SelectField
          label="Scope"
          name="scope"
          value={scope}
          onChange={(e) => setScope(e.target.value as TokenScope)}
          error={errors.scope}
          hint="read: look only. read-write: also change things."
        >
          <option value="read">read</option>
          <option value="read-write">read-write</option>
        </SelectField>
        <TextField
          label="Expires in days"
          name="expires_in_days"
          type="number"
          inputMode="numeric"
          min={1}
          max={3650}
          step={1}
          value={days}
          onChange={(e) => {
            setDays(e.target.value);
            setLocal((l) => ({ ...l, expires_in_days: undefined }));
          }}
          error={errors.expires_in_days}
          hint="Optional. Leave empty for no expiry."
        />
      </div>
      <SubmitButton pending={create.isPending} busy="Creating…">
        Create token
      </SubmitButton>
    </form>
  );
}
