import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config/config.js';
import { once } from '../lib/once.js';
import type { ComputeDriver } from './driver.js';
import { resolveAccel } from './qemu/accel.js';
import { QemuDriver } from './qemu/qemu-driver.js';
import type { WarmPoolEvent } from './qemu/warm-pool.js';
import type { DriverFactory } from './registry.js';
import { LibvirtDriver } from './libvirt/libvirt-driver.js';
import { VagrantDriver } from './vagrant/vagrant-driver.js';
import type { ComputeDriverName } from '@twarga/contract';
import type { ActionProgress } from '../operations/action-progress.js';
import { hostPool } from '../lib/host-pool.js';

/** How each kind of compute host gets its driver on this server. */
export function driverFactories(config: Config, log: FastifyBaseLogger, progress: ActionProgress, onWarmEvent?: (event: WarmPoolEvent) => void): Partial<Record<ComputeDriverName, DriverFactory>> {
  // One QEMU driver for this machine, whichever host row names it.
  const local = new QemuDriver({
    vmsDir: path.join(config.dataDir, 'vms'),
    stopTimeoutMs: config.stopTimeoutSeconds * 1000,
    onWarmEvent,
    accel: once(() =>
      resolveAccel({
        setting: config.accel,
        dataDir: config.dataDir,
        kernel: path.join(config.tinyImageDir, 'vmlinuz'),
        initrd: path.join(config.tinyImageDir, 'initrd.img'),
        log: (msg, extra) => log.info(extra ?? {}, msg),
      }),
    ),
  });
  // Software emulation unless KVM was asked for: `auto` proves KVM only for the QEMU driver.
  const domainType = config.accel === 'kvm' ? 'kvm' : 'qemu';
  const libvirt: DriverFactory = (host) =>
    new LibvirtDriver({
      uri: host.uri ?? config.libvirtUri,
      // Each host may keep its volumes in a pool of its own (two hosts on one libvirtd stay apart).
      poolName: hostPool(host, config.libvirtPool) ?? config.libvirtPool,
      network: config.libvirtNetwork,
      domainType,
      namePrefix: config.libvirtPrefix,
      stopTimeoutMs: config.stopTimeoutSeconds * 1000,
    });
  const vagrant: DriverFactory = () =>
    new VagrantDriver({
      machinesDir: path.join(config.dataDir, 'vagrant'),
      provider: 'libvirt',
      libvirtUri: config.libvirtUri,
      libvirtDomainType: domainType,
      // Apart from the libvirt driver's domains, so neither takes the other's for its own.
      domainPrefix: `${config.libvirtPrefix}vagrant-`,
      timeouts: { haltMs: config.stopTimeoutSeconds * 1000 },
      onProgress: (instance, line) => progress.line(instance, line),
    });
  return { qemu: () => local, libvirt, vagrant };
}

/** Tests of the layers above compute: one fake driver stands in for every kind of host. */
export function singleDriverFactories(driver: ComputeDriver): Partial<Record<ComputeDriverName, DriverFactory>> {
  return { qemu: () => driver, libvirt: () => driver, vagrant: () => driver };
}
