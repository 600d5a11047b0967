import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { run } from '../infra/process.js';

export interface SeedInput {
  instanceId: string;
  hostname: string;
  sshAuthorizedKeys: string[];
  /** The user's own cloud-init user-data, if any. Ours is merged in front of it. */
  userData?: string;
}

/** NoCloud meta-data and user-data for a VM: hostname, root's SSH keys, the user's extra config. */
export function seedFiles(input: SeedInput): { metaData: string; userData: string } {
  const metaData = `instance-id: ${input.instanceId}\nlocal-hostname: ${input.hostname}\n`;
  const keys = input.sshAuthorizedKeys.map((k) => `  - ${JSON.stringify(k)}`).join('\n');
  const ours = [
    '#cloud-config',
    `hostname: ${input.hostname}`,
    'disable_root: false',
    input.sshAuthorizedKeys.length ? `ssh_authorized_keys:\n${keys}` : 'ssh_authorized_keys: []',
  ].join('\n');
  if (!input.userData?.trim()) return { metaData, userData: ours + '\n' };
  // A user's own user-data travels as a second part of a MIME multipart document.
  const boundary = `twarga-${input.instanceId}`;
  const userData = [
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    'MIME-Version: 1.0',
    '',
    `--${boundary}`,
    'Content-Type: text/cloud-config; charset="utf-8"',
    '',
    ours,
    `--${boundary}`,
    `Content-Type: ${input.userData.startsWith('#!') ? 'text/x-shellscript' : 'text/cloud-config'}; charset="utf-8"`,
    '',
    input.userData,
    `--${boundary}--`,
    '',
  ].join('\n');
  return { metaData, userData };
}

/** Writes a NoCloud seed ISO (volume label cidata) with genisoimage. */
export async function writeSeedIso(target: string, files: { metaData: string; userData: string }): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'twarga-seed-'));
  try {
    await writeFile(path.join(dir, 'meta-data'), files.metaData);
    await writeFile(path.join(dir, 'user-data'), files.userData);
    await run('genisoimage', ['-quiet', '-output', target, '-volid', 'cidata', '-joliet', '-rock', path.join(dir, 'user-data'), path.join(dir, 'meta-data')], {
      timeoutMs: 30_000,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
