/** What the scheduler knows of a host: its capacity, its flags and what its live VMs use. */
export interface HostCandidate {
  id: number;
  name: string;
  enabled: boolean;
  draining: boolean;
  ramMb: number;
  vcpus: number;
  usedRamMb: number;
  usedVcpus: number;
}

export interface Placement {
  ramMb: number;
  vcpus: number;
}

/**
 * Picks the host for a new VM: enabled, not draining, with room for its RAM and vCPUs; among
 * those, the most free RAM (spreads load; ties go to the oldest host). Undefined when none fits.
 */
export function pickHost(hosts: HostCandidate[], need: Placement): HostCandidate | undefined {
  const freeRam = (h: HostCandidate) => h.ramMb - h.usedRamMb;
  return hosts
    .filter((h) => h.enabled && !h.draining && freeRam(h) >= need.ramMb && h.vcpus - h.usedVcpus >= need.vcpus)
    .sort((a, b) => freeRam(b) - freeRam(a) || a.id - b.id)[0];
}
