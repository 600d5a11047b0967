import argon2 from 'argon2';

/**
 * argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): about 20 ms here,
 * cheap enough for a login, costly enough for an offline attacker.
 */
const OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const hashPassword = (password: string) => argon2.hash(password, OPTIONS);

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

/** Verified against when the user does not exist, so a miss costs as long as a hit. */
let dummyHash: Promise<string> | undefined;
export async function burnVerifyTime(password: string): Promise<void> {
  dummyHash ??= hashPassword('twarga-timing-equaliser');
  await verifyPassword(await dummyHash, password);
}

/** Rules beyond length: reject passwords that are only the username or a single repeated character. */
export function passwordProblem(password: string, username: string): string | undefined {
  if (password.toLowerCase().includes(username.toLowerCase())) return 'must not contain the username';
  if (new Set(password).size < 4) return 'must use at least 4 different characters';
  return undefined;
}
