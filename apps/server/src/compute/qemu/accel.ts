import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../../infra/fs.js';
import { watchOutput } from '../../infra/process.js';
import type { Accel } from './args.js';

export type AccelSetting = 'auto' | 'kvm' | 'tcg';

interface ProbeRecord {
  kernel: string;
  accel: Accel;
  reason: string;
  checked_at: string;
}

/**
 * `auto` trusts KVM only after it has booted the tiny kernel to its init (nested KVM can hang
 * after decompression); the verdict is cached per kernel in <data>/accel.json.
 */
export async function resolveAccel(opts: {
  setting: AccelSetting;
  dataDir: string;
  kernel: string;
  initrd: string;
  log: (msg: string, extra?: Record<string, unknown>) => void;
}): Promise<Accel> {
  if (opts.setting !== 'auto') return opts.setting;
  const cacheFile = path.join(opts.dataDir, 'accel.json');
  const kernelHash = createHash('sha256').update(readFileSync(opts.kernel)).digest('hex').slice(0, 16);
  const cached = await readFile(cacheFile, 'utf8').then((s) => JSON.parse(s) as ProbeRecord).catch(() => undefined);
  if (cached?.kernel === kernelHash) return cached.accel;

  let accel: Accel = 'tcg';
  let reason: string;
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    const probe = await watchOutput(
      'qemu-system-x86_64',
      ['-accel', 'kvm', '-cpu', 'host', '-m', '256', '-nodefaults', '-no-user-config', '-display', 'none', '-serial', 'stdio',
        '-kernel', opts.kernel, '-initrd', opts.initrd, '-append', 'console=ttyS0 panic=-1', '-no-reboot'],
      { timeoutMs: 20_000, until: (out) => out.includes('Run /init as init process') },
    );
    if (probe.matched) {
      accel = 'kvm';
      reason = 'KVM booted the tiny kernel to init';
    } else {
      reason = `KVM did not boot the tiny kernel within 20 s: ${probe.output.trim().split('\n').slice(-2).join(' | ').slice(0, 200) || 'no output'}`;
    }
  } catch {
    reason = '/dev/kvm is not accessible';
  }
  opts.log(`acceleration: ${accel} (${reason})`, { accel, reason });
  await writeFileAtomic(cacheFile, JSON.stringify({ kernel: kernelHash, accel, reason, checked_at: new Date().toISOString() } satisfies ProbeRecord, null, 2));
  return accel;
}
