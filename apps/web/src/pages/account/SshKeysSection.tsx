import { useQuery } from '@tanstack/react-query';
import type { SshKey } from '@twarga/contract';
import { client, errorMessage, keys } from '../../api';
import { Alert } from '../../components/Alert';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { EmptyList } from '../../components/EmptyState';
import { Section } from '../../components/Section';
import { SkeletonRows } from '../../components/Spinner';
import { useConfirmedRemove } from '../../components/useConfirmedRemove';
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
  const list = useQuery({ queryKey: keys.sshKeys, queryFn: client.account.keys.list });
  const remove = useConfirmedRemove<SshKey>(keys.sshKeys, (id) => client.account.keys.remove(id));

  return (
    <Section title="SSH keys" description="Public keys that will be installed on the VMs you create.">
      {list.isPending && <SkeletonRows label="Loading SSH keys…" rows={2} />}
      {list.isError && <Alert>Could not load your SSH keys: {errorMessage(list.error)}</Alert>}
      {list.isSuccess && (list.data.length === 0 ? <EmptyList>No SSH keys yet</EmptyList> : <KeysTable list={list.data} onDelete={remove.ask} />)}

      <div className="mt-6 border-t border-slate-200 pt-6 dark:border-slate-800">
        <SshKeyForm />
      </div>

      <ConfirmDialog
        open={remove.target !== undefined}
        onClose={remove.close}
        title="Delete SSH key?"
        confirmLabel="Delete key"
        onConfirm={remove.confirm}
        pending={remove.pending}
        error={remove.error}
      >
        The key <strong className="font-semibold text-slate-900 dark:text-white">{remove.target?.name}</strong> will be removed from your account. VMs you
        create afterwards will not accept it.
      </ConfirmDialog>
    </Section>
  );
}
