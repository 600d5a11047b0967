import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { Vm } from '@twarga/contract';
import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { client, errorMessage, keys } from '../../api';
import { Alert } from '../../components/Alert';
import { TextAreaField, TextField } from '../../components/Field';
import { PageHeader } from '../../components/PageHeader';
import { button, card, link } from '../../components/ui';
import { formatNumber } from '../../format';
import { useTitle } from '../../useTitle';
import { ConfirmCreateDialog } from './ConfirmCreateDialog';
import { createErrorTitle, NAME_HINT, nameProblem, onlyFieldErrors, serverFieldErrors, toRequest, validateVm, type FormErrors, type VmForm } from './createForm';
import { bySmallest, byteLength, USER_DATA_MAX_BYTES } from './format';
import { ImagePicker } from './ImagePicker';
import { useImages, useSizes, useSnapshots, useSshKeys } from './queries';
import { SnapshotPicker, SourceSwitch } from './snapshots/SnapshotPicker';
import { usableSnapshots } from './snapshots/snapshots';
import { SizePicker, type CustomSize } from './SizePicker';
import { SshKeyPicker } from './SshKeyPicker';

export function CreateVmPage() {
  useTitle('Create a VM');
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const images = useImages();
  const sizes = useSizes();
  const sshKeys = useSshKeys();
  const snapshots = useSnapshots();
  // ?snapshot=<id> (the Snapshots tab's "New VM") opens the form on that snapshot.
  const [params] = useSearchParams();
  const preselected = /^\d+$/.test(params.get('snapshot') ?? '') ? Number(params.get('snapshot')) : null;
  const [source, setSource] = useState<'image' | 'snapshot'>(preselected !== null ? 'snapshot' : 'image');
  const [snapshotId, setSnapshotId] = useState<number | null>(preselected);

  const [name, setName] = useState('');
  const [imageSlug, setImageSlug] = useState<string>();
  // undefined: not chosen yet (the smallest size is preselected); null: Custom.
  const [sizeSlug, setSizeSlug] = useState<string | null>();
  const [custom, setCustom] = useState<CustomSize>({ ram: '1024', cpu: '1', disk: '10' });
  const [unchecked, setUnchecked] = useState<ReadonlySet<number>>(new Set());
  const [userData, setUserData] = useState('');
  const [local, setLocal] = useState<FormErrors>({});
  const [confirming, setConfirming] = useState(false);

  const firstAvailable = images.data?.find((i) => i.status === 'available')?.slug;
  const smallest = sizes.data ? [...sizes.data].sort(bySmallest)[0]?.slug : undefined;
  const form: VmForm = {
    name,
    image: imageSlug ?? firstAvailable ?? '',
    snapshot: source === 'snapshot' ? (snapshotId ?? -1) : null,
    // While the sizes load nothing is chosen ('' fails validation); if they cannot load, Custom.
    size: sizeSlug === undefined ? (smallest ?? (sizes.isPending ? '' : null)) : sizeSlug,
    custom,
    sshKeys: (sshKeys.data ?? []).filter((k) => !unchecked.has(k.id)).map((k) => k.id),
    userData,
  };
  const image = images.data?.find((i) => i.slug === form.image && i.status === 'available');
  const size = sizes.data?.find((s) => s.slug === form.size);
  const usable = usableSnapshots(snapshots.data?.snapshots);
  const snapshot = source === 'snapshot' ? usable.find((s) => s.id === snapshotId) : undefined;

  const create = useMutation({
    mutationFn: () => client.vms.create(toRequest(form)),
    onSuccess: async (created) => {
      const { action: _action, message: _message, ...vm } = created;
      queryClient.setQueryData<Vm>(keys.vm(vm.id), vm);
      void queryClient.invalidateQueries({ queryKey: keys.vms });
      void queryClient.invalidateQueries({ queryKey: keys.me });
      await navigate(`/vms/${vm.id}`);
    },
    onError: () => setConfirming(false),
  });

  const clear = (...fields: (keyof FormErrors)[]) => {
    setLocal((l) => {
      const next = { ...l };
      for (const f of fields) delete next[f];
      return next;
    });
    if (create.isError) create.reset();
  };

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const errs = validateVm(form, image, size, snapshot);
    // Without the list we cannot tell which keys to install: do not silently send none.
    if (!sshKeys.isSuccess) errs.ssh_keys = sshKeys.isPending ? 'Your SSH keys are still loading.' : 'Your SSH keys could not be loaded. Reload the page and try again.';
    setLocal(errs);
    create.reset();
    if (Object.keys(errs).length === 0) setConfirming(true);
  };

  const live: FormErrors = { name: nameProblem(name) };
  const errors: FormErrors = { ...serverFieldErrors(create.error), ...local, ...(live.name ? live : {}) };
  const bytes = byteLength(userData);
  const hasErrors = Object.values(local).some(Boolean);

  return (
    <>
      <PageHeader
        title="Create a VM"
        description="Choose an image and a size, name it, and it boots in moments."
        actions={
          <Link to="/vms" className={button.secondary}>
            Back to VMs
          </Link>
        }
      />
      <form onSubmit={onSubmit} noValidate className={`${card} space-y-8 p-5 sm:p-6`}>
        {(usable.length > 0 || source === 'snapshot') && (
          <SourceSwitch
            value={source}
            onChange={(v) => {
              setSource(v);
              clear('image', 'size', 'disk');
            }}
          />
        )}
        {source === 'snapshot' ? (
          <SnapshotPicker
            value={snapshotId}
            onChange={(id) => {
              setSnapshotId(id);
              clear('image', 'size', 'disk');
            }}
            error={errors.image}
          />
        ) : (
          <ImagePicker
            value={form.image}
            onChange={(slug) => {
              setImageSlug(slug);
              clear('image', 'size', 'disk');
            }}
            error={errors.image}
          />
        )}
        <SizePicker
          value={form.size}
          onChange={(slug) => {
            setSizeSlug(slug);
            clear('size', 'ram', 'cpu', 'disk');
          }}
          custom={custom}
          onCustomChange={(field, value) => {
            setCustom((c) => ({ ...c, [field]: value }));
            clear(field);
          }}
          errors={errors}
        />
        <TextField
          label="Name"
          name="name"
          autoComplete="off"
          autoCapitalize="none"
          spellCheck={false}
          maxLength={63}
          placeholder="web-1"
          className="max-w-md"
          value={name}
          onChange={(e) => {
            setName(e.target.value);
            clear('name');
          }}
          error={errors.name}
          hint={NAME_HINT}
        />
        <SshKeyPicker
          user={source === 'snapshot' ? undefined : image?.ssh_user}
          unchecked={unchecked}
          onToggle={(id) => {
            setUnchecked((u) => {
              const next = new Set(u);
              if (!next.delete(id)) next.add(id);
              return next;
            });
            clear('ssh_keys');
          }}
          error={errors.ssh_keys}
        />
        <TextAreaField
          label="User data"
          name="user_data"
          rows={5}
          spellCheck={false}
          autoCapitalize="none"
          placeholder={'#cloud-config\npackages:\n  - nginx'}
          value={userData}
          onChange={(e) => {
            setUserData(e.target.value);
            clear('user_data');
          }}
          error={errors.user_data}
          hint={
            <>
              Optional cloud-init configuration, run at first boot.{' '}
              <span className={bytes > USER_DATA_MAX_BYTES ? 'font-semibold text-red-700 dark:text-red-300' : ''}>
                {formatNumber(bytes)} / {formatNumber(USER_DATA_MAX_BYTES)} bytes
              </span>
            </>
          }
        />
        <div className="space-y-4 border-t border-slate-200 pt-6 dark:border-slate-800">
          {create.isError && !onlyFieldErrors(create.error) && <Alert title={createErrorTitle(create.error)}>{errorMessage(create.error)}</Alert>}
          {(hasErrors || (create.isError && onlyFieldErrors(create.error))) && <Alert>Please check the highlighted fields.</Alert>}
          <div className="flex flex-wrap items-center gap-3">
            <button type="submit" className={button.primary} disabled={create.isPending}>
              Create VM
            </button>
            <Link to="/vms" className={link}>
              Cancel
            </Link>
          </div>
        </div>
      </form>
      <ConfirmCreateDialog
        open={confirming}
        form={form}
        image={image}
        snapshot={snapshot}
        size={size}
        pending={create.isPending}
        onCancel={() => setConfirming(false)}
        onConfirm={() => create.mutate()}
      />
    </>
  );
}
