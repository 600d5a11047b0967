import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { Vm } from '@twarga/contract';
import { useState, type FormEvent } from 'react';
import { client, errorMessage, keys } from '../../api';
import { Alert } from '../../components/Alert';
import { Dialog } from '../../components/Dialog';
import { SubmitButton } from '../../components/SubmitButton';
import { button, muted } from '../../components/ui';
import { onlyFieldErrors, serverFieldErrors, type FormErrors } from './createForm';
import { formatResources } from './format';
import { useSizes } from './queries';
import { initialResize, priceLine, resizeErrorTitle, resizeRequest, shrinksDisk, target, validateResize, type ResizeForm } from './resizeForm';
import { SizePicker } from './SizePicker';

/** Resize a stopped VM: a size card or custom numbers; the disk only grows. Opened only while stopped. */
export function ResizeDialog({ vm, open, onClose }: { vm: Vm; open: boolean; onClose: () => void }) {
  const queryClient = useQueryClient();
  const sizes = useSizes();
  // null until the user changes something: the VM's own size, as soon as the sizes are known.
  const [draft, setDraft] = useState<ResizeForm | null>(null);
  const [local, setLocal] = useState<FormErrors>({});
  const form = draft ?? initialResize(vm, sizes.data);
  const size = sizes.data?.find((s) => s.slug === form.size);

  const resize = useMutation({
    mutationFn: () => client.vms.action(vm.id, resizeRequest(form)),
    onSuccess: async () => {
      close();
      await Promise.all([keys.vm(vm.id), keys.vmActions(vm.id), keys.vms].map((queryKey) => queryClient.invalidateQueries({ queryKey })));
    },
  });

  function close() {
    setDraft(null);
    setLocal({});
    resize.reset();
    onClose();
  }
  const change = (next: ResizeForm) => {
    setDraft(next);
    setLocal({});
    if (resize.isError) resize.reset();
  };

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const errs = validateResize(vm, form, size);
    setLocal(errs);
    if (Object.keys(errs).length === 0) resize.mutate();
  };

  const errors: FormErrors = { ...serverFieldErrors(resize.error), ...local };
  const t = target(form, size);
  return (
    <Dialog open={open} onClose={() => !resize.isPending && close()} title={`Resize ${vm.name}`} wide>
      <form onSubmit={onSubmit} noValidate className="space-y-5">
        <p className="text-sm text-slate-700 dark:text-slate-300">
          Now: <span className="font-medium text-slate-900 dark:text-white">{formatResources(vm.ram, vm.cpu, vm.disk)}</span>. Memory and vCPUs change while the VM is stopped; the disk can only grow, and the guest's filesystem grows to fill it at the next boot.
        </p>
        <SizePicker
          value={form.size}
          onChange={(slug) => change({ ...form, size: slug })}
          custom={form.custom}
          onCustomChange={(field, value) => change({ ...form, size: null, custom: { ...form.custom, [field]: value } })}
          errors={errors}
          unavailable={(s) => shrinksDisk(vm, s)}
          minDisk={vm.disk}
          wideColumns={3}
        />
        <dl className="rounded-lg bg-slate-50 px-4 py-3 text-sm dark:bg-slate-800/60">
          <div className="flex flex-wrap justify-between gap-x-4">
            <dt className={muted}>New size</dt>
            <dd className="font-medium text-slate-900 dark:text-white" data-testid="resize-target">{t ? formatResources(t.ram, t.cpu, t.disk) : '—'}</dd>
          </div>
          <div className="mt-1 flex flex-wrap justify-between gap-x-4">
            <dt className={muted}>New price</dt>
            <dd className="font-medium text-slate-900 dark:text-white">{priceLine(vm, size, form.size === null)}</dd>
          </div>
        </dl>
        {resize.isError && !onlyFieldErrors(resize.error) && <Alert title={resizeErrorTitle(resize.error)}>{errorMessage(resize.error)}</Alert>}
        {resize.isError && onlyFieldErrors(resize.error) && <Alert>Please check the highlighted fields.</Alert>}
        <div className="flex flex-wrap justify-end gap-3">
          <button type="button" className={button.secondary} onClick={close} disabled={resize.isPending}>
            Cancel
          </button>
          <SubmitButton pending={resize.isPending} busy="Resizing…">
            Resize VM
          </SubmitButton>
        </div>
      </form>
    </Dialog>
  );
}
