import sshpk from 'sshpk';

export interface ParsedPublicKey {
  /** Normalised single-line OpenSSH form: "<type> <base64> [comment]". */
  openssh: string;
  type: string;
  bits: number;
  fingerprint: string;
  fingerprintMd5: string;
}

/** Comments are labels ("user@laptop"); they end up in every VM's authorized_keys and in the UI. */
export const MAX_KEY_COMMENT_LENGTH = 255;

/** Key types and minimum sizes we accept: what current OpenSSH accepts by default. */
const MIN_BITS: Record<string, number> = { rsa: 2048, ecdsa: 256, ed25519: 256 };

/**
 * Parses an OpenSSH public key line with sshpk (not by hand) and fingerprints it.
 * Returns an error message instead of throwing, for the form to show.
 */
export function parsePublicKey(text: string): ParsedPublicKey | { error: string } {
  const line = text.trim();
  if (/[\r\n]/.test(line)) return { error: 'must be a single line' };
  if (/PRIVATE KEY/.test(line)) return { error: 'looks like a private key: paste the public key (.pub) instead' };
  let key: sshpk.Key;
  try {
    key = sshpk.parseKey(line, 'ssh');
  } catch {
    return { error: 'is not a valid OpenSSH public key' };
  }
  const min = MIN_BITS[key.type];
  if (min === undefined) return { error: `key type ${key.type} is not supported (use ed25519, ecdsa or rsa)` };
  if (key.size < min) return { error: `${key.type} keys must have at least ${min} bits` };
  const comment = key.comment && key.comment !== '(unnamed)' ? key.comment : '';
  if (comment.length > MAX_KEY_COMMENT_LENGTH) return { error: `comment must be at most ${MAX_KEY_COMMENT_LENGTH} characters` };
  // Escape sequences in a comment would be replayed to whoever views the key in a terminal.
  if (/[\x00-\x1f\x7f]/.test(comment)) return { error: 'comment must not contain control characters' };
  const base = key.toString('ssh').split(' ').slice(0, 2).join(' ');
  return {
    openssh: comment ? `${base} ${comment}` : base,
    type: key.type,
    bits: key.size,
    fingerprint: key.fingerprint('sha256').toString(),
    fingerprintMd5: key.fingerprint('md5').toString('hex'),
  };
}
