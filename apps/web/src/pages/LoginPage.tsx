import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useLocation, useNavigate, useSearchParams } from 'react-router';
import { client, errorMessage, fieldErrors, isApiError, keys, retryHint } from '../api';
import { Alert } from '../components/Alert';
import { AuthShell } from '../components/AuthShell';
import { TextField } from '../components/Field';
import { SubmitButton } from '../components/SubmitButton';
import { link } from '../components/ui';
import { formatDateTime } from '../format';
import { useTitle } from '../useTitle';

/** Only same-site paths: "/x" yes; "//evil.example" or "/\evil.example" no. */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.includes('\\')) return '/vms';
  return next;
}

const LABELS = { username: 'Username or e-mail', password: 'Password' };

function lockedMessage(message: string): string {
  const iso = /until (\S+)$/.exec(message)?.[1];
  const until = iso ? new Date(iso) : undefined;
  if (!until || Number.isNaN(until.getTime())) return message;
  const minutes = Math.max(1, Math.ceil((until.getTime() - Date.now()) / 60_000));
  return `Too many failed logins for this account from your address. Try again after ${formatDateTime(until.toISOString())} (in about ${minutes} minute${minutes === 1 ? '' : 's'}).`;
}

function loginAlert(err: unknown): string {
  if (!isApiError(err)) return errorMessage(err);
  switch (err.code) {
    case 'invalid_credentials':
      return 'Wrong username or password.';
    case 'account_locked':
      return lockedMessage(err.message);
    case 'rate_limited':
      return `Too many login attempts from your address. ${retryHint(err.message)}`;
    case 'validation_failed':
      return 'Please check the highlighted fields.';
    case 'csrf_failed':
      // Login refuses requests another site's page made (login CSRF), e.g. a page served from an origin other than TWARGA_PUBLIC_URL.
      return 'This sign-in did not come from this site\'s own page. Open the site at its usual address and try again.';
    default:
      return errorMessage(err);
  }
}

export function LoginPage() {
  useTitle('Log in');
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const registered = (useLocation().state as { registered?: string } | null)?.registered;
  const queryClient = useQueryClient();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [local, setLocal] = useState<Record<string, string | undefined>>({});

  const login = useMutation({
    mutationFn: () => client.auth.loginWithCookie(username.trim(), password),
    onSuccess: async (res) => {
      queryClient.clear();
      queryClient.setQueryData(keys.me, res.user);
      await navigate(safeNext(params.get('next')), { replace: true });
    },
  });

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const errs: Record<string, string | undefined> = {};
    if (!username.trim()) errs.username = 'Enter your username or e-mail.';
    if (!password) errs.password = 'Enter your password.';
    setLocal(errs);
    if (Object.keys(errs).length === 0) login.mutate();
  };

  const server = fieldErrors(login.error, LABELS);
  const errors = { ...server, ...local };

  return (
    <AuthShell
      title="Log in"
      subtitle="Welcome back to your cloud."
      footer={
        <>
          New here?{' '}
          <Link to="/register" className={link}>
            Create an account
          </Link>
        </>
      }
    >
      <form onSubmit={onSubmit} noValidate className="space-y-5">
        {registered && !login.isError && (
          <Alert tone="success">Account {registered} created. Log in to continue.</Alert>
        )}
        {login.isError && <Alert>{loginAlert(login.error)}</Alert>}
        <TextField
          label={LABELS.username}
          name="username"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          required
          autoFocus
          value={username}
          onChange={(e) => {
            setUsername(e.target.value);
            setLocal((l) => ({ ...l, username: undefined }));
          }}
          error={errors.username}
        />
        <TextField
          label={LABELS.password}
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => {
            setPassword(e.target.value);
            setLocal((l) => ({ ...l, password: undefined }));
          }}
          error={errors.password}
        />
        <SubmitButton pending={login.isPending} busy="Logging in…" className="w-full">
          Log in
        </SubmitButton>
      </form>
    </AuthShell>
  );
}
