import type { ComputeHost, UpdateHostRequest } from '@twarga/contract';
import { useState, type FormEvent } from 'react';
import { errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { Dialog } from '../../components/Dialog';
import { TextField } from '../../components/Field';
import { SubmitButton } from '../../components/SubmitButton';
import { button, muted } from '../../components/ui';
import { formatNumber } from '../../format';
import { checkCapacity, checkPool, DRIVER_NAMES, POOL_HINT, RAM_HINT, serverErrors, VCPU_HINT } from './hostForm';
import { useUpdateHost } from './hostsQueries';

const plural = (n: number, what: string) => `${formatNumber(n)} ${what}${n === 1 ? '' : 's'}`;

/**
 * Renames or resizes a host, or moves a libvirt host to another storage pool while it has no VMs
 * (their volumes are in the pool; the server answers 409 otherwise). Its driver and URI are
 * fixed: remove and add it again to change them.
 */
export function EditHostDialog({ host, onClose }: { host: ComputeHost | undefined; onClose: () => void }) {
  const update = useUpdateHost();
  // Mounted anew for each host (the page keys it by host id): the fields start filled, with no
  // empty first frame, and a background refresh does not undo what is typed.
  const [name, setName] = useState(host?.name ?? '');
  const [ram, setRam] = useState(host ? String(host.ram_mb) : '');
  const [vcpus, setVcpus] = useState(host ? String(host.vcpus) : '');
  // Empty while the host follows the server's pool (shown as the placeholder).
  const ownPool = host && !host.pool_is_default ? (host.pool ?? '') : '';
  const [pool, setPool] = useState(ownPool);
  const poolLocked = (host?.usage.vms ?? 0) > 0;
  const [local, setLocal] = useState<Record<string, string | undefined>>({});

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (!host) return;
    const checked = checkCapacity(ram, vcpus);
    const errs: Record<string, string | undefined> = { ...checked.errors };
    if (!name.trim()) errs.name = 'The host needs a name.';
    const poolProblem = checkPool(pool.trim());
    if (poolProblem) errs.pool = poolProblem;
    setLocal(errs);
    if (Object.keys(errs).length) return;
    // Send only what changed, so the audit log says what really happened.
    const body: UpdateHostRequest = {};
    if (name.trim() !== host.name) body.name = name.trim();
    if (checked.ram_mb !== host.ram_mb) body.ram_mb = checked.ram_mb;
    if (checked.vcpus !== host.vcpus) body.vcpus = checked.vcpus;
    if (host.driver === 'libvirt' && pool.trim() !== ownPool) body.pool = pool.trim() || null;
    if (Object.keys(body).length === 0) return onClose();
    update.mutate({ id: host.id, name: host.name, body }, { onSuccess: onClose });
  };

  const server = serverErrors(update.error);
  const errors = { ...server.fields, ...local };
  const edit = (field: string, set: (v: string) => void) => (e: { target: { value: string } }) => {
    set(e.target.value);
    setLocal((l) => ({ ...l, [field]: undefined }));
  };
  const close = () => !update.isPending && onClose();

  return (
    <Dialog open={host !== undefined} onClose={close} title={`Edit host ${host?.name ?? ''}`}>
      {host && (
        <form onSubmit={onSubmit} noValidate className="space-y-4">
          <p className={`text-sm ${muted}`}>
            {DRIVER_NAMES[host.driver]} {host.uri ? <code className="break-all font-mono text-xs">{host.uri}</code> : 'on this machine'}.{' '}
            {host.usage.vms === 0
              ? 'No VMs run on it.'
              : `Its VMs (${host.usage.vms}) use ${formatNumber(host.usage.ram_mb)} MB and ${plural(host.usage.vcpus, 'vCPU')}: less than that keeps them running but places no new ones.`}
          </p>
          {update.isError && server.showAlert && <Alert>{errorMessage(update.error)}</Alert>}
          <TextField label="Name" name="name" autoComplete="off" spellCheck={false} maxLength={32} value={name} onChange={edit('name', setName)} error={errors.name} />
          <div className="grid gap-4 sm:grid-cols-2">
            <TextField label="RAM (MB)" name="ram_mb" type="number" inputMode="numeric" min={128} step={1} autoFocus value={ram} onChange={edit('ram_mb', setRam)} error={errors.ram_mb} hint={RAM_HINT} />
            <TextField label="vCPUs" name="vcpus" type="number" inputMode="numeric" min={1} step={1} value={vcpus} onChange={edit('vcpus', setVcpus)} error={errors.vcpus} hint={VCPU_HINT} />
          </div>
          {host.driver === 'libvirt' && (
            <TextField label="Storage pool" name="pool" autoComplete="off" spellCheck={false} maxLength={32} className="[&_input]:font-mono" value={pool} onChange={edit('pool', setPool)} error={errors.pool}
              placeholder={host.pool_is_default ? `${host.pool ?? ''} (server default)` : 'server default'} disabled={poolLocked}
              hint={poolLocked ? `Fixed while VMs are on this host: their volumes are in pool ${host.pool ?? ''}.` : POOL_HINT} />
          )}
          <div className="flex flex-wrap justify-end gap-3 pt-2">
            <button type="button" className={button.secondary} onClick={close}>
              Cancel
            </button>
            <SubmitButton pending={update.isPending}>Save changes</SubmitButton>
          </div>
        </form>
      )}
    </Dialog>
  );
}
