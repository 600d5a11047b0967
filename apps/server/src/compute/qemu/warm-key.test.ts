import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { InstanceSpec } from '../driver.js';
import type { Accel } from './args.js';
import { FileChecksums, warmKeyInputs, warmKeyOf } from './warm-key.js';

test('the warm key changes with anything a saved RAM state depends on, and only with that', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-warm-key-'));
  try {
    const kernel = path.join(dir, 'vmlinuz');
    const initrd = path.join(dir, 'initrd.img');
    writeFileSync(kernel, 'kernel');
    writeFileSync(initrd, 'initrd');
    const spec: InstanceSpec = {
      id: 'vm-1', hostname: 'a', memoryMb: 256, vcpus: 1, diskGb: 10, sshPort: 2222,
      boot: { kind: 'kernel', kernel, initrd, cmdline: 'console=ttyS0' },
      seed: { metaData: 'x', userData: 'y' }, info: {},
    };
    const env: { qemuVersion: string; accel: Accel; checksums: FileChecksums } = { qemuVersion: 'QEMU emulator version 7.2.22', accel: 'tcg', checksums: new FileChecksums() };
    const key = async (s: InstanceSpec, e = env) => warmKeyOf((await warmKeyInputs(s, e))!);
    const base = await key(spec);
    // Not part of it: what each VM gets for itself (identity, disk size, port).
    assert.equal(await key({ ...spec, id: 'vm-2', hostname: 'b', diskGb: 50, sshPort: 2223, seed: { metaData: 'z', userData: '' } }), base);
    // Part of it: shape, boot, QEMU, accelerator.
    for (const changed of [
      await key({ ...spec, memoryMb: 512 }),
      await key({ ...spec, vcpus: 2 }),
      await key({ ...spec, boot: { kind: 'kernel', kernel, initrd, cmdline: 'console=ttyS0 quiet' } }),
      await key(spec, { ...env, qemuVersion: 'QEMU emulator version 8.0.0' }),
      await key(spec, { ...env, accel: 'kvm' }),
    ]) assert.notEqual(changed, base);
    // The image's file changes in place (same path): its checksum is recomputed, the key changes.
    appendFileSync(initrd, '\0\0\0\0');
    assert.notEqual(await key(spec), base);
    assert.equal(await warmKeyInputs({ ...spec, boot: { kind: 'disk', path: kernel, format: 'raw' } }, env), undefined, 'disk images have no warm snapshot');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
