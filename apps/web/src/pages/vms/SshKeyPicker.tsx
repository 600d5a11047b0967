import { Link } from 'react-router';
import { errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { SkeletonRows } from '../../components/Spinner';
import { link } from '../../components/ui';
import { useSshKeys } from './queries';
import { ChoiceCard, ChoiceGroup } from './Choices';

/**
 * Checkboxes of the user's SSH keys; every key is checked unless its id is in `unchecked`.
 * `user`: who the keys log in as (the image's SSH user), when known.
 */
export function SshKeyPicker({ unchecked, onToggle, error, user }: { unchecked: ReadonlySet<number>; onToggle: (id: number) => void; error?: string; user?: string }) {
  const list = useSshKeys();
  const hint = user ? `Installed for ${user} on the new VM.` : 'Installed on the new VM.';
  return (
    <ChoiceGroup legend="SSH keys" error={error} hint={list.data?.length ? hint : undefined}>
      {list.isPending && <SkeletonRows label="Loading SSH keys…" rows={1} />}
      {list.isError && <Alert>Could not load your SSH keys: {errorMessage(list.error)}</Alert>}
      {list.isSuccess && list.data.length === 0 && (
        <Alert tone="warning">
          You have no SSH keys, so you will only reach this VM through the serial console.{' '}
          <Link to="/account" className={link}>
            Add an SSH key
          </Link>
        </Alert>
      )}
      {list.isSuccess && list.data.length > 0 && (
        <div className="grid gap-3 sm:grid-cols-2">
          {list.data.map((key) => (
            <ChoiceCard key={key.id} type="checkbox" name="ssh_keys" value={key.id} checked={!unchecked.has(key.id)} onChange={() => onToggle(key.id)}>
              <span className="block font-semibold text-slate-900 dark:text-white">{key.name}</span>
              <span className="block break-all font-mono text-xs text-slate-600 dark:text-slate-400">{key.fingerprint}</span>
            </ChoiceCard>
          ))}
        </div>
      )}
    </ChoiceGroup>
  );
}
