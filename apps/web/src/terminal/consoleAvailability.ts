import type { Vm } from '@twarga/contract';

/** Statuses in which the server opens (and keeps) a terminal: a reboot keeps the serial line. */
export const consoleAvailable = (vm: Vm) => vm.status === 'running' || vm.status === 'rebooting';

/** Why there is no console right now, in one sentence; undefined when there is one. */
export function consoleUnavailableReason(vm: Vm): string | undefined {
  if (consoleAvailable(vm)) return undefined;
  switch (vm.status) {
    case 'stopped':
      return 'VM is stopped — start it to use the console.';
    case 'stopping':
      return 'VM is stopping — start it again to use the console.';
    case 'pending':
    case 'provisioning':
      return 'VM is starting — the console opens once it is running.';
    case 'error':
      return 'VM is in an error state — start it to use the console.';
    case 'paused':
      return 'VM is paused by its hypervisor — stop it and start it again to use the console.';
    default:
      return 'VM is destroyed — there is no console any more.';
  }
}
