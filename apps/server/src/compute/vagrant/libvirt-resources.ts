import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { RunResult } from '../../infra/process.js';
import { managementNetworkXml, type ManagementNetwork } from './vagrantfile.js';

/** The libvirt objects a vagrant-libvirt machine needs before `vagrant up`: its pool and network. */
type Virsh = (args: string[]) => Promise<RunResult>;

/** vagrant-libvirt makes the `default` pool on its first `up`; our seed volume must go in before that. */
export async function ensurePool(virsh: Virsh, pool: string): Promise<void> {
  const info = await virsh(['pool-info', pool]).catch(() => undefined);
  if (!info) {
    if (pool !== 'default') throw new Error(`libvirt storage pool ${pool} does not exist`);
    await virsh(['pool-define-as', 'default', 'dir', '--target', '/var/lib/libvirt/images']);
    await virsh(['pool-build', 'default']).catch(() => undefined);
    await virsh(['pool-autostart', 'default']).catch(() => undefined);
  }
  if (!info || !/State:\s+running/.test(info.stdout)) await virsh(['pool-start', pool]).catch(() => undefined);
}

/**
 * The management network exists and isolates its guests' ports: defined (and set to autostart)
 * when missing; one that exists WITHOUT isolation is refused rather than silently used.
 * vagrant-libvirt starts it if it is not running.
 */
export async function ensureIsolatedNetwork(virsh: Virsh, network: ManagementNetwork): Promise<void> {
  const { name } = network;
  const dumpxml = () => virsh(['net-dumpxml', name]).then((r) => r.stdout, () => undefined);
  let xml = await dumpxml();
  if (xml === undefined) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'twarga-vagrant-net-'));
    try {
      const file = path.join(dir, 'network.xml');
      await writeFile(file, managementNetworkXml(network));
      await virsh(['net-define', file]).catch(async (err) => {
        if ((await dumpxml()) === undefined) throw err; // not a lost race with another start
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    await virsh(['net-autostart', name]).catch(() => undefined);
    xml = (await virsh(['net-dumpxml', name])).stdout;
  }
  if (!/<port\s+isolated=['"]yes['"]\s*\/>/.test(xml)) {
    throw new Error(`libvirt network ${name} exists without <port isolated='yes'/>: its guests could reach each other. Add it (virsh net-edit ${name}) or remove the network`);
  }
}
