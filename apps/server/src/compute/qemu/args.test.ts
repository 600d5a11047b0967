import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InstanceSpec } from '../driver.js';
import { qemuArgs } from './args.js';
import { instancePaths } from './paths.js';

const spec: InstanceSpec = {
  id: 'vm-7',
  hostname: 'web-1',
  memoryMb: 256,
  vcpus: 1,
  diskGb: 1,
  sshPort: 24567,
  boot: { kind: 'kernel', kernel: '/img/vmlinuz', initrd: '/img/initrd.img', cmdline: 'console=ttyS0' },
  seed: { metaData: '', userData: '' },
  info: {},
};
const paths = instancePaths('/data/vms', 'vm-7');

/** The value after each occurrence of a flag. */
const values = (args: string[], flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));

test('user networking is restricted: the guest reaches nothing but its own SSH forward', () => {
  const args = qemuArgs(spec, paths, 'tcg');
  // One NIC, one netdev: nothing else (no second netdev, no -nic/-net shortcut) gives the guest a way out.
  assert.deepEqual(values(args, '-netdev'), ['user,id=net0,restrict=on,hostname=web-1,hostfwd=tcp:127.0.0.1:24567-:22,guestfwd=tcp:10.0.2.100:514-chardev:syslog0']);
  assert.deepEqual(values(args, '-device').filter((d) => d.startsWith('virtio-net')), ['virtio-net-pci,netdev=net0']);
  assert.ok(!args.includes('-nic') && !args.includes('-net'));
  assert.ok(args.includes('-nodefaults'), 'no default NIC either');
});

test('a hostname or port that could add -netdev options is refused', () => {
  assert.throws(() => qemuArgs({ ...spec, hostname: 'x,restrict=off' }, paths, 'tcg'), /invalid hostname/);
  assert.throws(() => qemuArgs({ ...spec, hostname: 'x,hostfwd=tcp::2222-:22' }, paths, 'tcg'), /invalid hostname/);
  assert.throws(() => qemuArgs({ ...spec, sshPort: 0 }, paths, 'tcg'), /invalid SSH port/);
  assert.throws(() => qemuArgs({ ...spec, sshPort: 1.5 }, paths, 'tcg'), /invalid SSH port/);
});

test('kernel boot and accelerator land in the argv', () => {
  const tcg = qemuArgs(spec, paths, 'tcg');
  assert.deepEqual(values(tcg, '-accel'), ['tcg,tb-size=32']);
  assert.deepEqual([values(tcg, '-kernel'), values(tcg, '-initrd'), values(tcg, '-append')], [['/img/vmlinuz'], ['/img/initrd.img'], ['console=ttyS0']]);
  // A distribution's code needs a bigger TCG code buffer than the tiny image's.
  assert.deepEqual(values(qemuArgs({ ...spec, boot: { kind: 'disk', path: '/img/x.qcow2', format: 'qcow2' } }, paths, 'tcg'), '-accel'), ['tcg,tb-size=256']);
  const kvm = qemuArgs({ ...spec, boot: { kind: 'disk', path: '/img/x.qcow2', format: 'qcow2' } }, paths, 'kvm');
  assert.deepEqual([values(kvm, '-accel'), values(kvm, '-cpu'), values(kvm, '-kernel')], [['kvm'], ['host'], []]);
});

test('the guest agent channel and the balloon are wired', () => {
  const args = qemuArgs(spec, paths, 'tcg');
  assert.ok(values(args, '-chardev').includes('socket,id=qga0,path=/data/vms/vm-7/qga.sock,server=on,wait=off'));
  const devices = values(args, '-device');
  assert.ok(devices.includes('virtio-serial-pci,id=vser0'));
  assert.ok(devices.includes('virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0'));
  assert.ok(devices.includes('virtio-balloon-pci,id=balloon0'));
});

test("the syslog channel: the guest's TCP to 10.0.2.100:514 lands in this VM's own socket, QEMU never waits for a reader", () => {
  const args = qemuArgs(spec, paths, 'tcg');
  assert.ok(values(args, '-chardev').includes('socket,id=syslog0,path=/data/vms/vm-7/syslog.sock,server=on,wait=off'));
  assert.match(values(args, '-netdev')[0]!, /,guestfwd=tcp:10\.0\.2\.100:514-chardev:syslog0$/);
  // Another VM's argv points at its own socket: the channel is what tells VMs apart.
  const other = qemuArgs({ ...spec, id: 'vm-8' }, instancePaths('/data/vms', 'vm-8'), 'tcg');
  assert.ok(values(other, '-chardev').includes('socket,id=syslog0,path=/data/vms/vm-8/syslog.sock,server=on,wait=off'));
});

test('every VM gets a VM generation id: clones of one saved state reseed their RNG', () => {
  const devices = values(qemuArgs(spec, paths, 'tcg'), '-device');
  assert.ok(devices.includes('vmgenid,guid=auto'));
});

test('the incoming option waits for a saved state, paused; without it QEMU boots normally', () => {
  const cold = qemuArgs(spec, paths, 'tcg');
  assert.ok(!cold.includes('-incoming') && !cold.includes('-S'));
  const warm = qemuArgs(spec, paths, 'tcg', { incoming: true });
  assert.deepEqual(values(warm, '-incoming'), ['defer']);
  assert.ok(warm.includes('-S'));
  // Same devices either way: a saved state only loads into a QEMU built like the one that saved it.
  assert.deepEqual(warm.filter((a) => a !== '-S').slice(0, cold.length), cold);
});

test("the RAM is the named backend mem0: anonymous for a VM, a file for warm snapshots (shared while building, private in an instant VM)", () => {
  assert.deepEqual(values(qemuArgs(spec, paths, 'tcg'), '-object'), ['memory-backend-ram,id=mem0,size=256M']);
  assert.deepEqual(values(qemuArgs(spec, paths, 'tcg'), '-machine'), ['q35,memory-backend=mem0']);
  const build = qemuArgs(spec, paths, 'tcg', { memoryFile: { path: '/data/warm/k/ram', shared: true } });
  assert.deepEqual(values(build, '-object'), ['memory-backend-file,id=mem0,size=256M,mem-path=/data/warm/k/ram,share=on']);
  const clone = qemuArgs(spec, paths, 'tcg', { incoming: true, memoryFile: { path: '/data/warm/k/ram', shared: false } });
  assert.deepEqual(values(clone, '-object'), ['memory-backend-file,id=mem0,size=256M,mem-path=/data/warm/k/ram,share=off']);
  // A comma would add options to the backend (e.g. share=on on an instant VM's private mapping).
  assert.throws(() => qemuArgs(spec, paths, 'tcg', { memoryFile: { path: '/data/x,share=on', shared: false } }), /invalid memory file path/);
});
