import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A real key pair made by OpenSSH, and the fingerprints ssh-keygen prints for it (MD5 without its prefix). */
export function opensshKey(comment = 'test@do') {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-do-key-'));
  try {
    const file = path.join(dir, 'id');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], { timeout: 30_000 });
    const fp = (hash: string) => execFileSync('ssh-keygen', ['-l', '-E', hash, '-f', `${file}.pub`], { timeout: 10_000 }).toString().split(' ')[1]!;
    return { publicKey: readFileSync(`${file}.pub`, 'utf8').trim(), sha256: fp('sha256'), md5: fp('md5').replace(/^MD5:/, '') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A fresh ed25519 public key line in OpenSSH form, made in-process (fast, for bulk tests). */
export function quickEd25519(comment = ''): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  const blob = Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]);
  return `ssh-ed25519 ${blob.toString('base64')}${comment ? ` ${comment}` : ''}`;
}
