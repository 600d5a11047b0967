import type { ComputeHost, HostVm } from '@twarga/contract';
import { useState, type FormEvent } from 'react';
import { errorMessage, isApiError } from '../../api';
import { Alert } from '../../components/Alert';
import { Dialog } from '../../components/Dialog';
import { SelectField } from '../../components/Field';
import { SubmitButton } from '../../components/SubmitButton';
import { button, muted } from '../../components/ui';
import { formatNumber } from '../../format';
import { targetLabel } from './hostMigration';
import { useMigrateVm } from './hostsQueries';

/**
 * "Migrate web-1": cold migration of a stopped VM to another libvirt host. The server refuses
 * (409) a running VM, a full, disabled or draining target, and says why: that is the error shown.
 */
export function MigrateVmDialog({ vm, from, targets, onClose, onMoved }: {
  vm: HostVm | undefined; from: ComputeHost; targets: ComputeHost[]; onClose: () => void; onMoved: (message: string) => void;
}) {
  const migrate = useMigrateVm();
  // Mounted anew for each VM (keyed by its id). A target that leaves the list (drained meanwhile) falls back to the first.
  const [picked, setPicked] = useState<number>();
  const target = targets.find((t) => t.id === picked) ?? targets[0];

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (!vm || !target) return;
    migrate.mutate({ vmId: vm.id, body: { host: target.id } }, {
      onSuccess: () => {
        onMoved(`Moved ${vm.name} from ${from.name} to ${target.name}.`);
        onClose();
      },
    });
  };
  const close = () => !migrate.isPending && onClose();
  const refused = isApiError(migrate.error) && migrate.error.status === 409;

  return (
    <Dialog open={vm !== undefined} onClose={close} title={`Migrate ${vm?.name ?? ''}`}>
      {vm && (
        <form onSubmit={onSubmit} noValidate className="space-y-4">
          <p className={`text-sm ${muted}`}>
            Copies the volumes of <strong>{vm.name}</strong> from {from.name} to another libvirt host, checks them, and defines the VM there. It stays stopped.
          </p>
          {target ? (
            <SelectField label="Target host" name="host" value={target.id} disabled={migrate.isPending}
              onChange={(e) => {
                setPicked(Number(e.target.value));
                migrate.reset();
              }}>
              {targets.map((t) => (
                <option key={t.id} value={t.id}>
                  {targetLabel(t, formatNumber)}
                </option>
              ))}
            </SelectField>
          ) : (
            <Alert tone="warning">No other libvirt host takes new VMs. Enable or undrain one, or add one, to move {vm.name} there.</Alert>
          )}
          {migrate.isError && (
            <Alert title={refused ? `${vm.name} cannot move` : undefined}>{errorMessage(migrate.error)}</Alert>
          )}
          <div className="flex flex-wrap justify-end gap-3 pt-2">
            <button type="button" className={button.secondary} onClick={close}>
              Cancel
            </button>
            {target && (
              <SubmitButton pending={migrate.isPending} busy="Migrating…">
                Migrate
              </SubmitButton>
            )}
          </div>
        </form>
      )}
    </Dialog>
  );
}
