import type { CreateSnapshotRequest, Snapshot, SnapshotList, Vm } from '@twarga/contract';
import { SNAPSHOT_NAME_PATTERN } from '@twarga/contract/browser';
import { formatBytes } from '../../../charts/units';
import { credits, formatNumber } from '../../../format';

const SNAPSHOT_NAME_RE = new RegExp(SNAPSHOT_NAME_PATTERN);

export const SNAPSHOT_NAME_HINT = 'Optional. Letters, digits, and . _ - inside, up to 64 characters. Empty: the VM name and the time.';

/** The live check of a snapshot name (empty is fine: the server names it). */
export function snapshotNameProblem(name: string): string | undefined {
  if (!name) return undefined;
  if (name.length > 64) return 'Use at most 64 characters.';
  if (!SNAPSHOT_NAME_RE.test(name)) return 'Use letters, digits, and . _ - inside; start and end with a letter or a digit.';
  return undefined;
}

/** RAM can only be saved from a running VM (its memory is what is copied). */
export const canIncludeRam = (vm: Pick<Vm, 'status'>) => vm.status === 'running';

export function snapshotRequest(name: string, memory: boolean, vm: Pick<Vm, 'status'>): CreateSnapshotRequest {
  const body: CreateSnapshotRequest = {};
  if (name.trim()) body.name = name.trim();
  if (memory && canIncludeRam(vm)) body.memory = true;
  return body;
}

/** Why a new snapshot cannot be taken now, or undefined when it can. */
export function takeBlocked(vm: Pick<Vm, 'status' | 'locked'>, list: Pick<SnapshotList, 'used' | 'limit'> | undefined): string | undefined {
  if (vm.locked) return 'Another action is running on this VM: wait for it to finish.';
  if (vm.status !== 'running' && vm.status !== 'stopped') return `A snapshot needs the VM running or stopped (it is ${vm.status}).`;
  if (list && list.used >= list.limit) return `You have ${formatNumber(list.used)} of ${formatNumber(list.limit)} snapshots: delete one to take another.`;
  return undefined;
}

/** What a restore does to the VM, for the confirmation. */
export function restoreEffect(s: Pick<Snapshot, 'memory'>, vm: Pick<Vm, 'status'>): string {
  const replaced = "The VM's current disk is replaced by the snapshot's: changes made since it was taken are lost.";
  if (s.memory) return `${replaced} The saved memory is loaded too: the VM resumes where it was when the snapshot was taken, running processes and all.`;
  // A disk snapshot holds no running state: the guest must be off while its disk is swapped.
  return vm.status === 'running' ? `${replaced} The VM is powered off first (a disk snapshot holds no memory) and stays stopped: start it when you are ready.` : `${replaced} The VM stays stopped.`;
}

/** "48.2 MiB" on the host, and "1 GB billed" (nothing while it is being made). */
export const snapshotSize = (s: Pick<Snapshot, 'size_bytes' | 'size_gb' | 'status'>) =>
  s.status === 'creating' ? { bytes: '—', billed: '' } : { bytes: formatBytes(s.size_bytes), billed: `${formatNumber(s.size_gb)} GB billed` };

/** "Disk + RAM" / "Disk", and whether the guest's filesystems were frozen for the copy. */
export function snapshotContents(s: Pick<Snapshot, 'memory' | 'quiesced' | 'status'>): { kind: string; note: string } {
  const kind = s.memory ? 'Disk + RAM' : 'Disk';
  if (s.status === 'creating') return { kind, note: '' };
  return { kind, note: s.quiesced ? 'quiesced' : 'not quiesced' };
}

/** "10 credits/month" */
export const monthlyPrice = (n: number) => `${credits(n)}/month`;

/** A snapshot a VM can be made from: available and of the user's. */
export const usableSnapshots = (list: Snapshot[] | undefined) => (list ?? []).filter((s) => s.status === 'available');

/** Why the VM cannot be restored now (the server restores a running, stopped or failed VM), or undefined. */
export function restoreBlocked(vm: Pick<Vm, 'status' | 'locked'>): string | undefined {
  if (vm.locked) return 'Another action is running on this VM: wait for it to finish.';
  if (vm.status !== 'running' && vm.status !== 'stopped' && vm.status !== 'error') return `A restore needs the VM running, stopped or in error (it is ${vm.status}).`;
  return undefined;
}
