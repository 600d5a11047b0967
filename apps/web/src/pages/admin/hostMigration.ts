import type { Action, ComputeHost, HostVm } from '@twarga/contract';

/**
 * Where a VM on `from` may be cold-migrated: the other libvirt hosts that take new VMs. Room is
 * left to the server (its 409 names the host that is full), as usage changes between polls.
 */
export function migrationTargets(hosts: ComputeHost[], from: ComputeHost): ComputeHost[] {
  if (from.driver !== 'libvirt') return [];
  return hosts.filter((h) => h.id !== from.id && h.driver === 'libvirt' && h.enabled && !h.draining);
}

/** Cold migration moves stopped VMs between libvirt hosts only. */
export const canMigrate = (host: ComputeHost, vm: HostVm): boolean => host.driver === 'libvirt' && vm.status === 'stopped';

/** "rack-3 · 12,288 MB free" (never below zero on an overcommitted host). */
export function targetLabel(host: ComputeHost, format: (n: number) => string): string {
  return `${host.name} · ${format(Math.max(0, host.ram_mb - host.usage.ram_mb))} MB free`;
}

/**
 * A migration runs as the VM's action (copying volumes can take minutes): asks for it every
 * `everyMs` until it ends; an errored one throws its reason, as a refused request would.
 */
export async function untilActionEnds(get: (id: number) => Promise<Action>, started: Action, everyMs = 1000): Promise<Action> {
  let action = started;
  while (action.status === 'in-progress') {
    await new Promise((resolve) => setTimeout(resolve, everyMs));
    action = await get(action.id);
  }
  if (action.status === 'errored') throw new Error(action.error ?? `the ${action.type} failed`);
  return action;
}
