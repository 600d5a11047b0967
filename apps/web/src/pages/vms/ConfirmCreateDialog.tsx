import type { Image, Size, Snapshot } from '@twarga/contract';
import type { ReactNode } from 'react';
import { useMe } from '../../auth/useMe';
import { Dialog } from '../../components/Dialog';
import { Spinner } from '../../components/Spinner';
import { button } from '../../components/ui';
import { credits, formatNumber } from '../../format';
import { capText, monthlyCapCredits } from '../billing/billing';
import { useBilling } from '../billing/queries';
import type { VmForm } from './createForm';
import { formatPrice, formatResources } from './format';

function Row({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div className="flex flex-wrap justify-between gap-x-4 gap-y-0.5 py-2">
      <dt className="text-slate-600 dark:text-slate-400">{term}</dt>
      <dd className="font-medium text-slate-900 dark:text-white">{children}</dd>
    </div>
  );
}

interface Props {
  open: boolean;
  form: VmForm;
  image: Image | undefined;
  /** Set when the VM starts from one of the user's snapshots. */
  snapshot?: Snapshot;
  size: Size | undefined;
  pending: boolean;
  onCancel: () => void;
  onConfirm: () => void;
}

/** "Create web-1?": what will be launched, what it costs and what the user has. */
export function ConfirmCreateDialog({ open, form, image, snapshot, size, pending, onCancel, onConfirm }: Props) {
  const me = useMe().data;
  const cap = useBilling().data?.policy.monthly_cap_hours;
  const custom = form.size === null;
  const short = !custom && size && me ? me.credits < size.price_hourly : false;
  return (
    <Dialog open={open} onClose={() => !pending && onCancel()} title={`Create ${form.name}?`}>
      <dl className="divide-y divide-slate-200 text-sm dark:divide-slate-800">
        {snapshot ? (
          <Row term="Snapshot">{`${snapshot.name} (of ${snapshot.vm_name}, ${snapshot.image})`}</Row>
        ) : (
          <Row term="Image">{image ? `${image.distribution} ${image.version}` : form.image}</Row>
        )}
        <Row term="Size">
          {custom
            ? `Custom: ${formatResources(Number(form.custom.ram), Number(form.custom.cpu), Number(form.custom.disk))}`
            : size && `${size.slug} (${formatResources(size.memory, size.vcpus, size.disk)})`}
        </Row>
        <Row term="Price per hour">{custom ? 'Set by the server for custom sizes' : size && formatPrice(size.price_hourly)}</Row>
        {cap !== undefined && (
          <Row term="Monthly cap">{custom || !size ? `${capText(cap)} of its hourly price` : `${credits(monthlyCapCredits(size.price_hourly, cap))} (${formatNumber(cap)} hours)`}</Row>
        )}
        <Row term="Your credits">{me ? credits(me.credits) : '—'}</Row>
        <Row term="SSH keys">{form.sshKeys.length === 0 ? 'None (serial console only)' : form.sshKeys.length}</Row>
      </dl>
      <p className="mt-3 text-sm text-slate-700 dark:text-slate-300" data-testid="stopped-bills-note">
        Billing starts now, per started hour. <strong>A stopped VM still bills until you destroy it.</strong>
      </p>
      {short && <p className="mt-3 text-sm font-medium text-amber-800 dark:text-amber-200">You have fewer credits than one hour of this size costs.</p>}
      <div className="mt-6 flex flex-wrap justify-end gap-3">
        <button type="button" className={button.secondary} onClick={onCancel} disabled={pending}>
          Cancel
        </button>
        <button type="button" className={button.primary} onClick={onConfirm} disabled={pending} autoFocus>
          {pending && <Spinner />}
          {pending ? 'Creating…' : 'Create'}
        </button>
      </div>
    </Dialog>
  );
}
