import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { Vm } from '@twarga/contract';
import { useState, type FormEvent } from 'react';
import { client, errorMessage, keys } from '../../api';
import { Alert } from '../../components/Alert';
import { Dialog } from '../../components/Dialog';
import { SelectField, TextField } from '../../components/Field';
import { Spinner } from '../../components/Spinner';
import { button } from '../../components/ui';
import { formatNumber } from '../../format';
import { useImages } from './queries';

/** Reinstall a stopped VM from an image: a red warning, then its name typed out before the button wakes. */
export function RebuildDialog({ vm, open, onClose }: { vm: Vm; open: boolean; onClose: () => void }) {
  const queryClient = useQueryClient();
  const images = useImages();
  const [image, setImage] = useState<string>();
  const [typed, setTyped] = useState('');
  const chosen = image ?? vm.image;

  const rebuild = useMutation({
    mutationFn: () => client.vms.action(vm.id, { action: 'rebuild', image: chosen, confirm: typed }),
    onSuccess: async () => {
      close();
      await Promise.all([keys.vm(vm.id), keys.vmActions(vm.id), keys.vms].map((queryKey) => queryClient.invalidateQueries({ queryKey })));
    },
  });

  function close() {
    setImage(undefined);
    setTyped('');
    rebuild.reset();
    onClose();
  }

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (typed === vm.name) rebuild.mutate();
  };

  // The VM's own image is always offered (it may have been withdrawn since, the server decides).
  const options = images.data ?? [];
  const listed = options.some((i) => i.slug === vm.image);
  return (
    <Dialog open={open} onClose={() => !rebuild.isPending && close()} title={`Rebuild ${vm.name}?`}>
      <form onSubmit={onSubmit} noValidate className="space-y-4">
        <Alert title="Everything on the disk is wiped">
          The VM is reinstalled from the image: its disk, <code className="font-mono">/data</code> included, starts empty. This cannot be undone (take a snapshot first to keep a copy). Its id, name, SSH port and SSH keys are kept.
        </Alert>
        <SelectField label="Image" name="image" value={chosen} onChange={(e) => {
            setImage(e.target.value);
            rebuild.reset();
          }} hint={images.isError ? `The image list could not be loaded (${errorMessage(images.error)}): the VM's own image is offered.` : undefined}>
          {!listed && <option value={vm.image}>{vm.image} (this VM's image)</option>}
          {options.map((i) => {
            const tooBig = i.min_disk > vm.disk;
            return (
              <option key={i.slug} value={i.slug} disabled={i.status !== 'available' || tooBig}>
                {i.distribution} {i.version}
                {i.slug === vm.image ? " (this VM's image)" : ''}
                {i.status !== 'available' ? ` (${i.status})` : tooBig ? ` (needs ${formatNumber(i.min_disk)} GB of disk)` : ''}
              </option>
            );
          })}
        </SelectField>
        <TextField
          label={`Type ${vm.name} to confirm`}
          name="confirm_name"
          autoComplete="off"
          autoCapitalize="none"
          spellCheck={false}
          value={typed}
          onChange={(e) => setTyped(e.target.value)}
        />
        {rebuild.isError && <Alert>{errorMessage(rebuild.error)}</Alert>}
        <div className="flex flex-wrap justify-end gap-3 pt-2">
          <button type="button" className={button.secondary} onClick={close} disabled={rebuild.isPending} autoFocus>
            Cancel
          </button>
          <button type="submit" className={button.danger} disabled={typed !== vm.name || rebuild.isPending}>
            {rebuild.isPending && <Spinner />}
            {rebuild.isPending ? 'Rebuilding…' : 'Rebuild VM'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
