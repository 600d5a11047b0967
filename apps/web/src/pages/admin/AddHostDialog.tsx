import type { ComputeDriverName, ComputeHost } from '@twarga/contract';
import { useState, type FormEvent } from 'react';
import { errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { Dialog } from '../../components/Dialog';
import { SelectField, TextField } from '../../components/Field';
import { SubmitButton } from '../../components/SubmitButton';
import { button } from '../../components/ui';
import { checkCapacity, checkPool, POOL_HINT, RAM_HINT, serverErrors, URI_EXAMPLES, VCPU_HINT } from './hostForm';
import { useCreateHost } from './hostsQueries';

const DRIVER_HINTS: Record<ComputeDriverName, string> = {
  libvirt: 'Any machine running libvirtd, this one included.',
  qemu: 'This machine, through QEMU directly. There can be one QEMU host.',
  vagrant: 'This machine, through Vagrant. There can be one Vagrant host.',
};

const code = 'rounded bg-slate-100 px-1 py-0.5 font-mono text-[0.7rem] text-slate-800 dark:bg-slate-800 dark:text-slate-200';

/**
 * Adds a compute host; the server checks it (400 field errors, 409 name taken or a second local host).
 * The page mounts a new one (a new key) each time it opens, so the form starts empty without an
 * effect that could wipe what was typed in the first frames.
 */
export function AddHostDialog({ open, onClose, onAdded }: { open: boolean; onClose: () => void; onAdded: (h: ComputeHost) => void }) {
  const create = useCreateHost();
  const [name, setName] = useState('');
  const [driver, setDriver] = useState<ComputeDriverName>('libvirt');
  const [uri, setUri] = useState('');
  const [pool, setPool] = useState('');
  const [ram, setRam] = useState('');
  const [vcpus, setVcpus] = useState('');
  const [local, setLocal] = useState<Record<string, string | undefined>>({});
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const checked = checkCapacity(ram, vcpus);
    const errs: Record<string, string | undefined> = { ...checked.errors };
    if (!name.trim()) errs.name = 'Give the host a name, e.g. rack-2.';
    if (driver === 'libvirt' && !uri.trim()) errs.uri = `Enter the libvirt URI, e.g. ${URI_EXAMPLES[1]}.`;
    const poolProblem = driver === 'libvirt' ? checkPool(pool.trim()) : undefined;
    if (poolProblem) errs.pool = poolProblem;
    setLocal(errs);
    if (Object.keys(errs).length) return;
    const body = { name: name.trim(), driver, ram_mb: checked.ram_mb, vcpus: checked.vcpus, ...(driver === 'libvirt' ? { uri: uri.trim(), ...(pool.trim() ? { pool: pool.trim() } : {}) } : {}) };
    create.mutate(body, {
      onSuccess: (h) => {
        onClose();
        onAdded(h);
      },
    });
  };

  const server = serverErrors(create.error);
  const errors = { ...server.fields, ...local };
  const edit = (field: string, set: (v: string) => void) => (e: { target: { value: string } }) => {
    set(e.target.value);
    setLocal((l) => ({ ...l, [field]: undefined }));
  };
  const close = () => !create.isPending && onClose();

  return (
    <Dialog open={open} onClose={close} title="Add a compute host">
      <form onSubmit={onSubmit} noValidate className="space-y-4">
        {create.isError && server.showAlert && <Alert>{errorMessage(create.error)}</Alert>}
        <TextField label="Name" name="name" autoFocus autoComplete="off" spellCheck={false} maxLength={32} placeholder="rack-2" value={name} onChange={edit('name', setName)} error={errors.name}
          hint="Lowercase letters, digits and hyphens." />
        <SelectField label="Driver" name="driver" value={driver} onChange={edit('driver', (v) => setDriver(v as ComputeDriverName))} error={errors.driver} hint={DRIVER_HINTS[driver]}>
          <option value="libvirt">libvirt — a host reached by URI</option>
          <option value="qemu">QEMU — this machine</option>
          <option value="vagrant">Vagrant — this machine</option>
        </SelectField>
        {driver === 'libvirt' && (
          <TextField label="URI" name="uri" autoComplete="off" spellCheck={false} maxLength={300} placeholder="qemu+ssh://root@rack-2.example/system" className="[&_input]:font-mono" value={uri} onChange={edit('uri', setUri)} error={errors.uri}
            hint={<>For example <code className={code}>{URI_EXAMPLES[0]}</code> (libvirtd here) or <code className={code}>{URI_EXAMPLES[1]}</code> (another machine over SSH).</>} />
        )}
        {driver === 'libvirt' && (
          <TextField label="Storage pool (optional)" name="pool" autoComplete="off" spellCheck={false} maxLength={32} placeholder="server default" className="[&_input]:font-mono" value={pool} onChange={edit('pool', setPool)} error={errors.pool} hint={POOL_HINT} />
        )}
        <div className="grid gap-4 sm:grid-cols-2">
          <TextField label="RAM (MB)" name="ram_mb" type="number" inputMode="numeric" min={128} step={1} placeholder="16384" value={ram} onChange={edit('ram_mb', setRam)} error={errors.ram_mb} hint={RAM_HINT} />
          <TextField label="vCPUs" name="vcpus" type="number" inputMode="numeric" min={1} step={1} placeholder="8" value={vcpus} onChange={edit('vcpus', setVcpus)} error={errors.vcpus} hint={VCPU_HINT} />
        </div>
        <div className="flex flex-wrap justify-end gap-3 pt-2">
          <button type="button" className={button.secondary} onClick={close}>
            Cancel
          </button>
          <SubmitButton pending={create.isPending} busy="Adding…">Add host</SubmitButton>
        </div>
      </form>
    </Dialog>
  );
}
