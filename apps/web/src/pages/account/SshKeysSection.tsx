import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { SshKey } from '@twarga/contract';
import { useState } from 'react';
import { client, errorMessage, keys } from '../../api';
import { Alert } from '../../components/Alert';
import { Dialog } from '../../components/Dialog';
import { EmptyList } from '../../components/EmptyState';
import { Section } from '../../components/Section';
import { SkeletonRows, Spinner } from '../../components/Spinner';
import { button, table } from '../../components/ui';
import { formatDate } from '../../format';
import { SshKeyForm } from './SshKeyForm';

function KeysTable({ list, onDelete }: { list: SshKey[]; onDelete: (k: SshKey) => void }) {
  return (
    <div className={table.wrap}>
      <table className={table.table}>
        <caption className="sr-only">Your SSH keys</caption>
        <thead>
          <tr>
            <th scope="col" className={table.th}>Name</th>
            <th scope="col" className={table.th}>Fingerprint</th>
            <th scope="col" className={`${table.th} hidden sm:table-cell`}>Type</th>
            <th scope="col" className={`${table.th} hidden md:table-cell`}>Added</th>
            <th scope="col" className={table.th}><span className="sr-only">Actions</span></th>
          </tr>
        </thead>
        <tbody className={table.tbody}>
          {list.map((k) => (
            <tr key={k.id}>
              <td className={table.td}>
                <span className="font-medium text-slate-900 dark:text-white">{k.name}</span>
                {/* On phones the hidden columns' facts go under the name. */}
                <span className="mt-0.5 block text-xs text-slate-600 sm:hidden dark:text-slate-400">
                  {k.key_type.toUpperCase()} · {formatDate(k.created_at)}
                </span>
              </td>
              <td className={table.td}>
                <code className="break-all font-mono text-xs text-slate-700 dark:text-slate-300">{k.fingerprint}</code>
              </td>
              <td className={`${table.td} hidden whitespace-nowrap sm:table-cell`}>
                {k.key_type.toUpperCase()} · {k.bits} bits
              </td>
              <td className={`${table.td} hidden whitespace-nowrap md:table-cell`}>{formatDate(k.created_at)}</td>
              <td className={`${table.td} text-right`}>
                <button type="button" className={button.dangerGhost} onClick={() => onDelete(k)}>
                  Delete<span className="sr-only"> {k.name}</span>
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function SshKeysSection() {
  const queryClient = useQueryClient();
  const list = useQuery({ queryKey: keys.sshKeys, queryFn: client.account.keys.list });
  const [target, setTarget] = useState<SshKey>();

  const remove = useMutation({
    mutationFn: (id: number) => client.account.keys.remove(id),
    onSuccess: async () => {
      setTarget(undefined);
      await queryClient.invalidateQueries({ queryKey: keys.sshKeys });
    },
  });

  const close = () => {
    setTarget(undefined);
    remove.reset();
  };

  return (
    <Section title="SSH keys" description="Public keys that will be installed on the VMs you create.">
      {list.isPending && <SkeletonRows label="Loading SSH keys…" rows={2} />}
      {list.isError && <Alert>Could not load your SSH keys: {errorMessage(list.error)}</Alert>}
      {list.isSuccess && (list.data.length === 0 ? <EmptyList>No SSH keys yet</EmptyList> : <KeysTable list={list.data} onDelete={setTarget} />)}

      <div className="mt-6 border-t border-slate-200 pt-6 dark:border-slate-800">
        <SshKeyForm />
      </div>

      <Dialog open={target !== undefined} onClose={close} title="Delete SSH key?">
        <p className="text-sm text-slate-700 dark:text-slate-300">
          The key <strong className="font-semibold text-slate-900 dark:text-white">{target?.name}</strong> will be removed from your account. VMs you create
          afterwards will not accept it.
        </p>
        {remove.isError && <Alert className="mt-4">{errorMessage(remove.error)}</Alert>}
        <div className="mt-6 flex flex-wrap justify-end gap-3">
          <button type="button" className={button.secondary} onClick={close} autoFocus>
            Cancel
          </button>
          <button type="button" className={button.danger} disabled={remove.isPending} onClick={() => target && remove.mutate(target.id)}>
            {remove.isPending && <Spinner />}
            {remove.isPending ? 'Deleting…' : 'Delete key'}
          </button>
        </div>
      </Dialog>
    </Section>
  );
}
