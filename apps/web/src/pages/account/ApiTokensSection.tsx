import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { ApiToken, CreatedApiToken } from '@twarga/contract';
import { useState } from 'react';
import { client, errorMessage, keys } from '../../api';
import { Alert } from '../../components/Alert';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { EmptyList } from '../../components/EmptyState';
import { Section } from '../../components/Section';
import { SkeletonRows } from '../../components/Spinner';
import { button, table } from '../../components/ui';
import { formatDate, formatDateTime } from '../../format';
import { NewTokenBox } from './NewTokenBox';
import { RevokeAllTokens } from './RevokeAllTokens';
import { TokenForm } from './TokenForm';

function ScopeBadge({ scope }: { scope: ApiToken['scope'] }) {
  const tone =
    scope === 'read-write'
      ? 'bg-amber-100 text-amber-900 dark:bg-amber-900/50 dark:text-amber-100'
      : 'bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-200';
  return <span className={`inline-block whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-semibold ${tone}`}>{scope}</span>;
}

function expiry(t: ApiToken): string {
  if (!t.expires_at) return 'Never';
  return new Date(t.expires_at) < new Date() ? `Expired ${formatDate(t.expires_at)}` : formatDate(t.expires_at);
}

/** Column titles, and below which breakpoint each one is hidden. */
const COLUMNS = [
  ['Name', ''],
  ['Scope', ''],
  ['Token', 'hidden sm:table-cell'],
  ['Created', 'hidden lg:table-cell'],
  ['Expires', 'hidden sm:table-cell'],
  ['Last used', 'hidden md:table-cell'],
] as const;

function TokensTable({ list, onRevoke }: { list: ApiToken[]; onRevoke: (t: ApiToken) => void }) {
  return (
    <div className={table.wrap}>
      <table className={table.table}>
        <caption className="sr-only">Your API tokens</caption>
        <thead>
          <tr>
            {COLUMNS.map(([h, hide]) => (
              <th key={h} scope="col" className={`${table.th} ${hide}`}>{h}</th>
            ))}
            <th scope="col" className={table.th}><span className="sr-only">Actions</span></th>
          </tr>
        </thead>
        <tbody className={table.tbody}>
          {list.map((t) => (
            <tr key={t.id}>
              <td className={table.td}>
                <span className="font-medium text-slate-900 dark:text-white">{t.name}</span>
                {/* On phones the hidden columns' facts go under the name. */}
                <span className="mt-0.5 block text-xs text-slate-600 sm:hidden dark:text-slate-400">
                  Expires: {expiry(t)}
                </span>
              </td>
              <td className={table.td}><ScopeBadge scope={t.scope} /></td>
              <td className={`${table.td} hidden whitespace-nowrap sm:table-cell`}><code className="font-mono text-xs">{t.prefix}…</code></td>
              <td className={`${table.td} hidden whitespace-nowrap lg:table-cell`}>{formatDate(t.created_at)}</td>
              <td className={`${table.td} hidden whitespace-nowrap sm:table-cell`}>{expiry(t)}</td>
              <td className={`${table.td} hidden whitespace-nowrap md:table-cell`}>{t.last_used_at ? formatDateTime(t.last_used_at) : 'Never'}</td>
              <td className={`${table.td} text-right`}>
                <button type="button" className={button.dangerGhost} onClick={() => onRevoke(t)}>
                  Revoke<span className="sr-only"> {t.name}</span>
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function ApiTokensSection() {
  const queryClient = useQueryClient();
  const list = useQuery({ queryKey: keys.tokens, queryFn: client.account.tokens.list });
  const [created, setCreated] = useState<CreatedApiToken>();
  const [target, setTarget] = useState<ApiToken>();
  const [revokedAll, setRevokedAll] = useState<number>();

  const revoke = useMutation({
    mutationFn: (id: number) => client.account.tokens.revoke(id),
    onSuccess: async (_void, id) => {
      setTarget(undefined);
      if (created?.id === id) setCreated(undefined);
      await queryClient.invalidateQueries({ queryKey: keys.tokens });
    },
  });

  const close = () => {
    setTarget(undefined);
    revoke.reset();
  };

  return (
    <Section
      title="API tokens"
      description={
        <>
          Personal tokens for scripts and the CLI: send them as <code className="font-mono">Authorization: Bearer …</code>. They keep working
          after a password change: if one may have leaked, revoke it, or all of them.
        </>
      }
    >
      {created && <NewTokenBox token={created} onDismiss={() => setCreated(undefined)} />}
      {list.isPending && <SkeletonRows label="Loading API tokens…" rows={2} />}
      {list.isError && <Alert>Could not load your API tokens: {errorMessage(list.error)}</Alert>}
      {revokedAll !== undefined && (
        <Alert tone="success" className="mb-4">
          {revokedAll === 1 ? '1 token was revoked.' : `${revokedAll} tokens were revoked.`}
        </Alert>
      )}
      {list.isSuccess && (list.data.length === 0 ? <EmptyList>No API tokens yet</EmptyList> : <TokensTable list={list.data} onRevoke={setTarget} />)}
      {list.isSuccess && list.data.length > 0 && (
        <div className="mt-3 flex justify-end">
          <RevokeAllTokens
            count={list.data.length}
            onRevoked={async (n) => {
              setCreated(undefined);
              setRevokedAll(n);
              await queryClient.invalidateQueries({ queryKey: keys.tokens });
            }}
          />
        </div>
      )}

      <div className="mt-6 border-t border-slate-200 pt-6 dark:border-slate-800">
        <TokenForm
          onCreated={(t) => {
            setCreated(t);
            setRevokedAll(undefined);
          }}
        />
      </div>

      <ConfirmDialog
        open={target !== undefined}
        onClose={close}
        title="Revoke API token?"
        confirmLabel="Revoke token"
        onConfirm={() => target && revoke.mutate(target.id)}
        pending={revoke.isPending}
        error={revoke.error}
      >
        Anything using the token <strong className="font-semibold text-slate-900 dark:text-white">{target?.name}</strong> will stop working at once. This
        cannot be undone.
      </ConfirmDialog>
    </Section>
  );
}
