/**
 * The libvirt storage pool a compute host's driver uses: its own, else the server's
 * (config.libvirtPool). Only libvirt hosts have one to choose: qemu keeps its files in the data
 * directory, and vagrant-libvirt keeps its boxes and our seeds in its own `default` pool on this
 * machine (there is one vagrant host at most). Shared by the hosts API and the driver factory so
 * both name the same pool.
 */
export function hostPool(host: { driver: string; pool: string | null }, defaultPool: string): string | null {
  return host.driver === 'libvirt' ? (host.pool ?? defaultPool) : null;
}
