import type { Size, Vm, VmActionRequest } from '@twarga/contract';
import { isApiError } from '../../api';
import { formatNumber } from '../../format';
import type { FormErrors } from './createForm';
import { formatPrice } from './format';
import type { CustomSize } from './SizePicker';

/** What the resize dialog holds: a size slug, or null with custom numbers. */
export interface ResizeForm {
  size: string | null;
  custom: CustomSize;
}

/** The VM's own size preselected (or Custom with its numbers, for a custom VM). */
export function initialResize(vm: Pick<Vm, 'size' | 'ram' | 'cpu' | 'disk'>, sizes: Size[] | undefined): ResizeForm {
  const known = vm.size !== null && (sizes === undefined || sizes.some((s) => s.slug === vm.size));
  return { size: known ? vm.size : null, custom: { ram: String(vm.ram), cpu: String(vm.cpu), disk: String(vm.disk) } };
}

/** A size a VM cannot move to: its disk would shrink. */
export const shrinksDisk = (vm: Pick<Vm, 'disk'>, size: Pick<Size, 'disk'>) => (size.disk < vm.disk ? `Its ${formatNumber(size.disk)} GB disk is smaller than this VM's ${formatNumber(vm.disk)} GB` : undefined);

const whole = (s: string, min: number) => /^\d+$/.test(s.trim()) && Number(s) >= min;

/** The new RAM/vCPUs/disk, once the form is valid. */
export function target(f: ResizeForm, size: Size | undefined): { ram: number; cpu: number; disk: number } | undefined {
  if (f.size === null) return { ram: Number(f.custom.ram), cpu: Number(f.custom.cpu), disk: Number(f.custom.disk) };
  return size && { ram: size.memory, cpu: size.vcpus, disk: size.disk };
}

export function validateResize(vm: Pick<Vm, 'size' | 'ram' | 'cpu' | 'disk'>, f: ResizeForm, size: Size | undefined): FormErrors {
  const errs: FormErrors = {};
  if (f.size === null) {
    if (!whole(f.custom.ram, 64)) errs.ram = 'Enter a whole number of MB, at least 64.';
    if (!whole(f.custom.cpu, 1)) errs.cpu = 'Enter a whole number of vCPUs, at least 1.';
    if (!whole(f.custom.disk, 1)) errs.disk = 'Enter a whole number of GB.';
    else if (Number(f.custom.disk) < vm.disk) errs.disk = `A disk only grows: at least ${formatNumber(vm.disk)} GB.`;
  } else if (!size) errs.size = 'Choose a size.';
  else errs.size = shrinksDisk(vm, size);
  for (const k of Object.keys(errs) as (keyof FormErrors)[]) if (!errs[k]) delete errs[k];
  if (Object.keys(errs).length > 0) return errs;
  const t = target(f, size)!;
  const sameSlug = f.size === null ? vm.size === null : f.size === vm.size;
  if (sameSlug && t.ram === vm.ram && t.cpu === vm.cpu && t.disk === vm.disk) errs.size = 'This is the size the VM has: choose another one.';
  return errs;
}

export function resizeRequest(f: ResizeForm): VmActionRequest {
  if (f.size !== null) return { action: 'resize', size: f.size };
  return { action: 'resize', ram: Number(f.custom.ram), cpu: Number(f.custom.cpu), disk: Number(f.custom.disk) };
}

/** "4 credits/hour (now 1 credit/hour), from the next hour" */
export function priceLine(vm: Pick<Vm, 'price_hourly'>, size: Size | undefined, custom: boolean): string {
  if (custom || !size) return `Set by the server for custom sizes (now ${formatPrice(vm.price_hourly)}), charged from the next hour.`;
  return `${formatPrice(size.price_hourly)} (now ${formatPrice(vm.price_hourly)}), charged from the next hour.`;
}

/** A title for the alert over a refused resize, by error code. */
export function resizeErrorTitle(err: unknown): string {
  if (isApiError(err)) {
    if (err.code === 'quota_exceeded') return 'Quota reached';
    if (err.code === 'insufficient_storage' || err.status === 507) return 'Not enough storage on the host';
    if (err.code === 'no_capacity' || err.status === 409) return 'Not possible right now';
    if (err.code === 'insufficient_credits') return 'Not enough credits';
  }
  return 'The VM was not resized';
}
