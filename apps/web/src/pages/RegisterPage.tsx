import { useMutation, useQueryClient } from '@tanstack/react-query';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, USERNAME_PATTERN } from '@twarga/contract/browser';
import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { allDetailsMapped, client, errorMessage, fieldErrors, isApiError, keys } from '../api';
import { Alert } from '../components/Alert';
import { AuthShell } from '../components/AuthShell';
import { TextField } from '../components/Field';
import { SubmitButton } from '../components/SubmitButton';
import { link } from '../components/ui';
import { useTitle } from '../useTitle';

const LABELS = { username: 'Username', email: 'E-mail', password: 'Password' };
const USERNAME_RE = new RegExp(USERNAME_PATTERN);
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

type Form = { username: string; email: string; password: string; confirm: string };

export function validateRegistration(f: Form): Partial<Record<keyof Form, string>> {
  const errs: Partial<Record<keyof Form, string>> = {};
  if (!f.username) errs.username = 'Choose a username.';
  else if (!USERNAME_RE.test(f.username))
    errs.username = 'Use 3–32 characters: lower-case letters, digits, _ or -, starting with a letter.';
  if (!f.email.trim()) errs.email = 'Enter your e-mail address.';
  else if (!EMAIL_RE.test(f.email.trim())) errs.email = 'Enter a valid e-mail address, like you@example.com.';
  if (f.password.length < PASSWORD_MIN_LENGTH) errs.password = `Use at least ${PASSWORD_MIN_LENGTH} characters.`;
  else if (f.password.length > PASSWORD_MAX_LENGTH) errs.password = `Use at most ${PASSWORD_MAX_LENGTH} characters.`;
  else if (f.username && f.password.toLowerCase().includes(f.username.toLowerCase()))
    errs.password = 'The password must not contain your username.';
  else if (new Set(f.password).size < 4) errs.password = 'Use at least 4 different characters.';
  if (!f.confirm) errs.confirm = 'Type the password again.';
  else if (f.confirm !== f.password) errs.confirm = 'The passwords do not match.';
  return errs;
}

function registerAlert(err: unknown): string | undefined {
  if (isApiError(err) && err.status === 409) return 'That username or e-mail is already taken.';
  if (allDetailsMapped(err, LABELS)) return undefined;
  return errorMessage(err);
}

export function RegisterPage() {
  useTitle('Create account');
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [form, setForm] = useState<Form>({ username: '', email: '', password: '', confirm: '' });
  const [local, setLocal] = useState<Partial<Record<keyof Form, string>>>({});
  const set = (k: keyof Form) => (e: { target: { value: string } }) => {
    setForm((f) => ({ ...f, [k]: e.target.value }));
    setLocal((l) => ({ ...l, [k]: undefined })); // the message goes once the field is edited
  };

  const register = useMutation({
    mutationFn: async () => {
      const user = await client.auth.register({ username: form.username, email: form.email.trim(), password: form.password });
      try {
        return (await client.auth.loginWithCookie(user.username, form.password)).user;
      } catch {
        return { ...user, needsLogin: true as const };
      }
    },
    onSuccess: async (user) => {
      queryClient.clear();
      if ('needsLogin' in user) {
        // The account exists but the automatic log-in failed (e.g. rate limit): log in by hand.
        await navigate('/login?next=%2Fvms', { replace: true, state: { registered: user.username } });
        return;
      }
      queryClient.setQueryData(keys.me, user);
      await navigate('/vms', { replace: true });
    },
  });

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const errs = validateRegistration(form);
    setLocal(errs);
    if (Object.keys(errs).length === 0) register.mutate();
  };

  const server = fieldErrors(register.error, LABELS);
  if (isApiError(register.error) && register.error.status === 409) {
    if (server.username) server.username = 'This username is already taken.';
    if (server.email) server.email = 'This e-mail address is already registered.';
  }
  const errors = { ...server, ...local };
  const alert = register.isError ? registerAlert(register.error) : undefined;

  return (
    <AuthShell
      title="Create your account"
      subtitle="Sign up and get free credits to launch your first VM."
      footer={
        <>
          Already have an account?{' '}
          <Link to="/login" className={link}>
            Log in
          </Link>
        </>
      }
    >
      <form onSubmit={onSubmit} noValidate className="space-y-5">
        {alert && <Alert>{alert}</Alert>}
        <TextField
          label={LABELS.username}
          name="username"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          required
          autoFocus
          value={form.username}
          onChange={set('username')}
          error={errors.username}
          hint="3–32 characters: lower-case letters, digits, _ or -, starting with a letter. It becomes part of your VM names."
        />
        <TextField label={LABELS.email} name="email" type="email" autoComplete="email" required value={form.email} onChange={set('email')} error={errors.email} />
        <TextField
          label={LABELS.password}
          name="password"
          type="password"
          autoComplete="new-password"
          required
          minLength={PASSWORD_MIN_LENGTH}
          value={form.password}
          onChange={set('password')}
          error={errors.password}
          hint={`At least ${PASSWORD_MIN_LENGTH} characters. Common or leaked passwords are refused; a few random words make a strong one.`}
        />
        <TextField label="Confirm password" name="confirm" type="password" autoComplete="new-password" required value={form.confirm} onChange={set('confirm')} error={errors.confirm} />
        <SubmitButton pending={register.isPending} busy="Creating account…" className="w-full">
          Create account
        </SubmitButton>
      </form>
    </AuthShell>
  );
}
