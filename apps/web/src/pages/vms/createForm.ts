import type { CreateVmRequest, Image, Size, Snapshot } from '@twarga/contract';
import { fieldErrors, isApiError } from '../../api';
import { byteLength, USER_DATA_MAX_BYTES, VM_NAME_RE } from './format';
import type { CustomSize } from './SizePicker';

export interface VmForm {
  name: string;
  image: string;
  /** A snapshot id when the VM starts from one of the user's snapshots (its image comes with it), else null. */
  snapshot: number | null;
  /** A size slug, or null for Custom. */
  size: string | null;
  custom: CustomSize;
  sshKeys: number[];
  userData: string;
}

export type FormErrors = Partial<Record<'name' | 'image' | 'size' | 'ram' | 'cpu' | 'disk' | 'ssh_keys' | 'user_data', string>>;

export const NAME_HINT = 'Lower-case letters, digits and hyphens, up to 63 characters.';

/** The live check of the name (nothing while it is empty). */
export function nameProblem(name: string): string | undefined {
  if (!name) return undefined;
  if (name.length > 63) return 'Use at most 63 characters.';
  if (/[A-Z]/.test(name)) return 'Use lower-case letters only.';
  if (name.startsWith('-') || name.endsWith('-')) return 'Start and end with a letter or a digit.';
  if (!VM_NAME_RE.test(name)) return 'Use only lower-case letters, digits and hyphens.';
  return undefined;
}

const whole = (s: string, min: number) => /^\d+$/.test(s.trim()) && Number(s) >= min;

/** The smallest disk the source allows, and how to say so: an image's minimum, or the snapshot's disk. */
function minimumDisk(image: Image | undefined, snapshot: Snapshot | undefined): { gb: number; who: string } | undefined {
  if (snapshot) return { gb: snapshot.min_disk, who: `The snapshot ${snapshot.name}` };
  return image && { gb: image.min_disk, who: `${image.distribution} ${image.version}` };
}

export function validateVm(f: VmForm, image: Image | undefined, size: Size | undefined, snapshot?: Snapshot): FormErrors {
  const errs: FormErrors = {};
  if (!f.name) errs.name = 'Give the VM a name, e.g. web-1.';
  else errs.name = nameProblem(f.name);
  if (f.snapshot !== null) {
    if (!snapshot) errs.image = 'Choose one of your available snapshots.';
  } else if (!image) errs.image = 'Choose an image.';
  const min = minimumDisk(f.snapshot !== null ? undefined : image, snapshot);
  if (f.size === null) {
    if (!whole(f.custom.ram, 64)) errs.ram = 'Enter a whole number of MB, at least 64.';
    if (!whole(f.custom.cpu, 1)) errs.cpu = 'Enter a whole number of vCPUs, at least 1.';
    if (!whole(f.custom.disk, 1)) errs.disk = 'Enter a whole number of GB, at least 1.';
    else if (min && Number(f.custom.disk) < min.gb) errs.disk = `${min.who} needs at least ${min.gb} GB of disk.`;
  } else if (!size) errs.size = 'Choose a size.';
  else if (min && size.disk < min.gb) errs.size = `${min.who} needs at least ${min.gb} GB of disk: choose a bigger size.`;
  if (byteLength(f.userData) > USER_DATA_MAX_BYTES) errs.user_data = 'User data is limited to 64 KiB (65,536 bytes).';
  for (const k of Object.keys(errs) as (keyof FormErrors)[]) if (!errs[k]) delete errs[k];
  return errs;
}

export function toRequest(f: VmForm): CreateVmRequest {
  // From a snapshot, the image comes with it: the server refuses both.
  const body: CreateVmRequest = f.snapshot !== null ? { name: f.name, snapshot_id: f.snapshot, ssh_keys: f.sshKeys } : { name: f.name, image: f.image, ssh_keys: f.sshKeys };
  if (f.size === null) Object.assign(body, { ram: Number(f.custom.ram), cpu: Number(f.custom.cpu), disk: Number(f.custom.disk) });
  else body.size = f.size;
  if (f.userData.trim()) body.user_data = f.userData;
  return body;
}

const LABELS: Record<string, { key: keyof FormErrors; label: string }> = {
  name: { key: 'name', label: 'Name' },
  image: { key: 'image', label: 'Image' },
  os_type: { key: 'image', label: 'Image' },
  snapshot_id: { key: 'image', label: 'Snapshot' },
  size: { key: 'size', label: 'Size' },
  ram: { key: 'ram', label: 'Memory (MB)' },
  cpu: { key: 'cpu', label: 'vCPUs' },
  disk: { key: 'disk', label: 'Disk (GB)' },
  ssh_keys: { key: 'ssh_keys', label: 'SSH keys' },
  user_data: { key: 'user_data', label: 'User data' },
};

const root = (field: string) => field.split(/[.[/]/)[0] ?? field;

/** The server's complaints next to the fields they are about (ssh_keys.0 → SSH keys). */
export function serverFieldErrors(err: unknown): FormErrors {
  const out: FormErrors = {};
  if (!isApiError(err)) return out;
  const labels: Record<string, string> = {};
  for (const d of err.body.details ?? []) {
    const known = LABELS[root(d.field)];
    if (known) labels[d.field] = known.label;
  }
  for (const [field, message] of Object.entries(fieldErrors(err, labels))) {
    const key = LABELS[root(field)]!.key;
    out[key] ??= message;
  }
  if (err.code === 'conflict' && !out.name && /name|exists/i.test(err.message)) out.name = 'You already have a VM with this name. Choose another one.';
  return out;
}

/** True when the fields already say everything (a plain validation error). */
export function onlyFieldErrors(err: unknown): boolean {
  if (!isApiError(err) || err.code !== 'validation_failed') return false;
  const details = err.body.details ?? [];
  return details.length > 0 && details.every((d) => root(d.field) in LABELS);
}

/** A title for the alert over a failed creation, by error code. */
export function createErrorTitle(err: unknown): string {
  if (isApiError(err)) {
    if (err.code === 'insufficient_credits' || err.status === 402) return 'Not enough credits';
    if (err.code === 'quota_exceeded') return 'Quota reached';
    if (err.code === 'insufficient_storage' || err.status === 507) return 'Not enough storage on the host';
    if (err.code === 'conflict' && /name|exists/i.test(err.message)) return 'Name already in use';
  }
  return 'The VM was not created';
}
