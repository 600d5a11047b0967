import { useMutation } from '@tanstack/react-query';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '@twarga/contract/browser';
import { useState, type FormEvent } from 'react';
import { allDetailsMapped, client, errorMessage, fieldErrors, isApiError } from '../../api';
import { useMe } from '../../auth/useMe';
import { Alert } from '../../components/Alert';
import { TextField } from '../../components/Field';
import { Section } from '../../components/Section';
import { SubmitButton } from '../../components/SubmitButton';

const LABELS = { current_password: 'Current password', new_password: 'New password' };
const EMPTY = { current: '', next: '', confirm: '' };

export function PasswordSection() {
  const { data: me } = useMe();
  const [form, setForm] = useState(EMPTY);
  const [local, setLocal] = useState<Record<string, string | undefined>>({});
  const field = { current: 'current_password', next: 'new_password', confirm: 'confirm' } as const;
  const set = (k: keyof typeof EMPTY) => (e: { target: { value: string } }) => {
    setForm((f) => ({ ...f, [k]: e.target.value }));
    setLocal((l) => ({ ...l, [field[k]]: undefined }));
  };

  const change = useMutation({
    mutationFn: () => client.auth.changePassword({ current_password: form.current, new_password: form.next }),
    onSuccess: () => setForm(EMPTY),
  });

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const errs: Record<string, string | undefined> = {};
    if (!form.current) errs.current_password = 'Enter your current password.';
    if (form.next.length < PASSWORD_MIN_LENGTH) errs.new_password = `Use at least ${PASSWORD_MIN_LENGTH} characters.`;
    else if (form.next.length > PASSWORD_MAX_LENGTH) errs.new_password = `Use at most ${PASSWORD_MAX_LENGTH} characters.`;
    else if (me && form.next.toLowerCase().includes(me.username.toLowerCase())) errs.new_password = 'The password must not contain your username.';
    else if (form.next === form.current) errs.new_password = 'Choose a password different from the current one.';
    if (form.confirm !== form.next) errs.confirm = 'The new passwords do not match.';
    setLocal(errs);
    if (Object.keys(errs).length === 0) change.mutate();
    else change.reset();
  };

  const server = fieldErrors(change.error, LABELS);
  if (isApiError(change.error) && change.error.code === 'invalid_credentials') server.current_password = 'The current password is wrong.';
  const errors = { ...server, ...local };

  return (
    <Section title="Change password" description="Changing it signs out all your other sessions.">
      <form onSubmit={onSubmit} noValidate className="max-w-md space-y-4">
        {change.isSuccess && <Alert tone="success">Password changed. Your other sessions have been signed out.</Alert>}
        {change.isError && isApiError(change.error) && change.error.code === 'invalid_credentials' && (
          <Alert>The current password is wrong. Nothing was changed.</Alert>
        )}
        {change.isError && !(isApiError(change.error) && change.error.code === 'invalid_credentials') && !allDetailsMapped(change.error, LABELS) && (
          <Alert>{errorMessage(change.error)}</Alert>
        )}
        {/* Lets password managers tie the new password to this account. */}
        <input type="text" name="username" autoComplete="username" value={me?.username ?? ''} readOnly hidden />
        <TextField label="Current password" name="current_password" type="password" autoComplete="current-password" value={form.current} onChange={set('current')} error={errors.current_password} />
        <TextField
          label="New password"
          name="new_password"
          type="password"
          autoComplete="new-password"
          value={form.next}
          onChange={set('next')}
          error={errors.new_password}
          hint={`At least ${PASSWORD_MIN_LENGTH} characters, not containing your username. Common or leaked passwords are refused.`}
        />
        <TextField label="Confirm new password" name="confirm_password" type="password" autoComplete="new-password" value={form.confirm} onChange={set('confirm')} error={errors.confirm} />
        <SubmitButton pending={change.isPending}>Change password</SubmitButton>
      </form>
    </Section>
  );
}
