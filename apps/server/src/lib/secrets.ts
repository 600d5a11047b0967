import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A bearer secret with a readable prefix (tws_ session, twp_ personal API token). */
export function newToken(prefix: 'tws' | 'twp'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** Tokens are 256-bit random values, so a fast hash is enough to store them safely. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function hmac(key: string, value: string): string {
  return createHmac('sha256', key).update(value).digest('base64url');
}

export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/** A random password for the first admin: 20 characters from an unambiguous alphabet. */
export function randomPassword(length = 20): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const bytes = randomBytes(length * 2);
  let out = '';
  for (const b of bytes) {
    if (b >= 256 - (256 % alphabet.length)) continue; // avoid modulo bias
    out += alphabet[b % alphabet.length];
    if (out.length === length) return out;
  }
  return out + randomPassword(length - out.length);
}
