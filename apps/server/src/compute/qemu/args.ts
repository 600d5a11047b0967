import type { BootSource, InstanceSpec } from '../driver.js';
import type { InstancePaths } from './paths.js';

export type Accel = 'kvm' | 'tcg';

/** Where a QEMU guest sends its syslog (TCP): an address of the user network that only the guestfwd answers. */
export const SYSLOG_GUEST_ADDRESS = '10.0.2.100';
export const SYSLOG_GUEST_PORT = 514;

export interface QemuArgsOptions {
  /**
   * Start waiting for a saved state (`-incoming defer`, loaded later over QMP migrate-incoming)
   * and paused (`-S`) so the caller can adjust devices (block_resize) before `cont`.
   */
  incoming?: boolean;
  /**
   * The guest's RAM in a file instead of anonymous memory (warm snapshots, see warm-build.ts):
   * `shared` (the warm build) writes the RAM through to the file, so a save with x-ignore-shared
   * leaves it out of the migration stream; not shared (an instant VM) maps the file privately:
   * pages come from the page cache on first touch and are copied only when written, so the state
   * is not copied on restore and clones share what they never wrote.
   */
  memoryFile?: { path: string; shared: boolean };
}

/**
 * The version of the argv's shape: part of a warm snapshot's key, because a saved RAM state only
 * loads into a QEMU with the same devices. Bump it with every change to the devices below.
 */
export const QEMU_ARGS_VERSION = 3;

/**
 * The TCG code buffer (MiB). The tiny image's code fits in 32 (~35 MiB less per VM than the 1 GiB
 * default, same boot time); a whole distribution's does not: Debian 12 took 107 s to finish booting
 * with 32, 76 s with 128, 68 s with 256 (RSS 682 MiB) and 66 s with the default (RSS 1.5 GiB).
 */
export function tcgCodeBufferMiB(boot: BootSource): number {
  return boot.kind === 'kernel' ? 32 : 256;
}

/**
 * The qemu-system-x86_64 argv for an instance. Pure: same spec, same argv (unit-tested).
 * QEMU daemonizes itself with a pidfile so the VM outlives the control plane.
 */
export function qemuArgs(spec: InstanceSpec, paths: InstancePaths, accel: Accel, options: QemuArgsOptions = {}): string[] {
  // The hostname goes into the -netdev option string: a comma there could add options
  // (`x,restrict=off`). VM names are validated upstream; refuse anything else here too.
  if (!/^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/.test(spec.hostname)) throw new Error(`invalid hostname for QEMU: ${JSON.stringify(spec.hostname)}`);
  if (!Number.isInteger(spec.sshPort) || spec.sshPort < 1 || spec.sshPort > 65535) throw new Error(`invalid SSH port: ${spec.sshPort}`);
  if (!Number.isInteger(spec.memoryMb) || spec.memoryMb < 1) throw new Error(`invalid memory size: ${spec.memoryMb}`);
  // The file name goes into an -object option string: no comma (another option) or anything odd.
  const memoryFile = options.memoryFile;
  if (memoryFile && !/^\/[A-Za-z0-9._/-]+$/.test(memoryFile.path)) throw new Error(`invalid memory file path: ${JSON.stringify(memoryFile.path)}`);
  const args = [
    '-name', `${spec.id},process=qemu-${spec.id}`,
    // The RAM is a named backend for every VM (mem0), file-backed or not: a saved state names its
    // RAM block, so one saved by an instant VM (file-backed) loads into a plain one and back.
    '-machine', 'q35,memory-backend=mem0',
    '-object', memoryFile
      ? `memory-backend-file,id=mem0,size=${spec.memoryMb}M,mem-path=${memoryFile.path},share=${memoryFile.shared ? 'on' : 'off'}`
      : `memory-backend-ram,id=mem0,size=${spec.memoryMb}M`,
    '-accel', accel === 'tcg' ? `tcg,tb-size=${tcgCodeBufferMiB(spec.boot)}` : 'kvm',
    '-cpu', accel === 'kvm' ? 'host' : 'max',
    '-m', String(spec.memoryMb),
    '-smp', String(spec.vcpus),
    '-nodefaults',
    '-no-user-config',
    '-display', 'none',
    '-vga', 'none',
    '-daemonize',
    '-pidfile', paths.pidfile,
    '-D', paths.qemuLog,
    '-qmp', `unix:${paths.qmp},server=on,wait=off`,
    // Serial console: a socket the terminal attaches to, and a log of everything it printed.
    '-chardev', `socket,id=serial0,path=${paths.serial},server=on,wait=off,logfile=${paths.serialLog},logappend=on`,
    '-serial', 'chardev:serial0',
    '-drive', `file=${paths.disk},if=virtio,format=qcow2,cache=writeback,discard=unmap`,
    '-drive', `file=${paths.seed},if=virtio,format=raw,readonly=on`,
    // The syslog channel: the guest's TCP connections to 10.0.2.100:514 go into this VM's own
    // socket (guestfwd also works under restrict=on), so whatever arrives there is this VM's: the
    // SOC attributes lines by the socket, never by what they say. QEMU is the server (wait=off,
    // like QMP and the agent): the VM never waits for the ingest, which connects when it can.
    '-chardev', `socket,id=syslog0,path=${paths.syslog},server=on,wait=off`,
    // restrict=on: the guest reaches nothing through slirp (without it, its 10.0.2.2 is the host's
    // 127.0.0.1: the API, other VMs' SSH forwards, any loopback service). Only the hostfwd (its own
    // SSH from the host) and guestfwd rules still work; the price is no outbound network.
    '-netdev', `user,id=net0,restrict=on,hostname=${spec.hostname},hostfwd=tcp:127.0.0.1:${spec.sshPort}-:22,guestfwd=tcp:${SYSLOG_GUEST_ADDRESS}:${SYSLOG_GUEST_PORT}-chardev:syslog0`,
    '-device', 'virtio-net-pci,netdev=net0',
    '-device', 'virtio-rng-pci',
    // A VM generation id: a guest restored from a saved state (an instant VM, a memory snapshot)
    // sees a new one and reseeds its RNG, so two clones of one warm snapshot never share random state.
    '-device', 'vmgenid,guid=auto',
    // The QEMU guest agent's channel: a virtio-serial port the image's qemu-ga opens, a socket here.
    '-chardev', `socket,id=qga0,path=${paths.qga},server=on,wait=off`,
    '-device', 'virtio-serial-pci,id=vser0',
    '-device', 'virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0',
    // The balloon only for its statistics (guest memory as the guest sees it); its polling is set over QMP.
    '-device', 'virtio-balloon-pci,id=balloon0',
  ];
  if (spec.boot.kind === 'kernel') {
    args.push('-kernel', spec.boot.kernel, '-initrd', spec.boot.initrd, '-append', spec.boot.cmdline);
  }
  if (options.incoming) args.push('-incoming', 'defer', '-S');
  return args;
}
