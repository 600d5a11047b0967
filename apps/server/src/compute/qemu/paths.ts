import path from 'node:path';
import { assertInstanceId } from '../driver.js';

/** Where each file of a QEMU instance lives: one directory per VM under <data>/vms. */
export function instancePaths(vmsDir: string, id: string) {
  assertInstanceId(id);
  const dir = path.join(vmsDir, id);
  return {
    dir,
    disk: path.join(dir, 'disk.qcow2'),
    seed: path.join(dir, 'seed.iso'),
    qmp: path.join(dir, 'qmp.sock'),
    /** The guest agent's channel (virtio-serial port org.qemu.guest_agent.0). */
    qga: path.join(dir, 'qga.sock'),
    /** The guest's syslog channel: guest TCP 10.0.2.100:514 (guestfwd) lands here; the SOC's ingest reads it. */
    syslog: path.join(dir, 'syslog.sock'),
    serial: path.join(dir, 'serial.sock'),
    serialLog: path.join(dir, 'serial.log'),
    pidfile: path.join(dir, 'qemu.pid'),
    spec: path.join(dir, 'spec.json'),
    info: path.join(dir, '.vm_info'),
    qemuLog: path.join(dir, 'qemu.log'),
  };
}
export type InstancePaths = ReturnType<typeof instancePaths>;
