import type { Vm, VmStatus } from '@twarga/contract';

/** What the hypervisor's reason for a paused guest means, for people. */
export function pausedReasonText(reason: string | null | undefined): string {
  switch (reason) {
    case 'io-error':
      return 'a disk write failed (often a full disk on the host)';
    case 'paused':
      return 'paused by an operator';
    case 'guest-panicked':
      return 'the guest kernel panicked';
    case 'internal-error':
      return 'the hypervisor hit an internal error';
    case 'suspended':
      return 'the guest suspended itself';
    default:
      return reason ? `hypervisor state "${reason}"` : 'no reason given';
  }
}

/** The badge's text: a paused VM says why ("paused: io-error"). */
export function statusLabel(status: VmStatus, reason: string | null | undefined): string {
  return status === 'paused' && reason ? `paused: ${reason}` : status;
}

/**
 * Which power actions the server accepts in this state (mirrors its rules): nothing while an
 * action holds the VM; destroy from anything but destroyed, also a VM a crash left destroying.
 */
export function allowedActions(vm: Pick<Vm, 'status' | 'locked'>, pending: boolean) {
  const busy = vm.locked || pending;
  const s = vm.status;
  return {
    start: !busy && (s === 'stopped' || s === 'error'),
    stop: !busy && (s === 'running' || s === 'paused'),
    reboot: !busy && s === 'running',
    destroy: !busy && s !== 'destroyed',
  };
}

/** Why Resize and Rebuild are not offered now (undefined: they are). The server takes resize when stopped, rebuild when stopped or in error. */
export function changeBlocked(vm: Pick<Vm, 'status' | 'locked'>): { resize?: string; rebuild?: string } {
  if (vm.locked) return { resize: 'Wait for the running action to finish.', rebuild: 'Wait for the running action to finish.' };
  return {
    resize: vm.status === 'stopped' ? undefined : 'Stop the VM first: it is resized while stopped.',
    rebuild: vm.status === 'stopped' || vm.status === 'error' ? undefined : 'Stop the VM first: it is rebuilt while stopped.',
  };
}
