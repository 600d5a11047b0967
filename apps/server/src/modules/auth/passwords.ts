import argon2 from 'argon2';
import type { ZxcvbnFactory } from '@zxcvbn-ts/core';

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

/**
 * zxcvbn's score: 3 means about 10^8 guesses or more ("safely unguessable" for an online attack
 * and a slow-hash offline one). Below that are the common and breached-list passwords
 * ("1234567890", "password12"), dictionary words with digits, keyboard walks and repeats.
 */
const MIN_SCORE = 3;

/**
 * The estimator with the common-password and English dictionaries. Loaded on the first password
 * that needs checking (register, password change, first admin), never at start or on a login:
 * building it takes ~150 ms and 10 MB; after that a check takes a few milliseconds.
 * Levenshtein matching is off: it makes each check 50–250 ms of blocked event loop.
 */
let estimator: Promise<ZxcvbnFactory> | undefined;
function loadEstimator(): Promise<ZxcvbnFactory> {
  estimator ??= (async () => {
    const [{ ZxcvbnFactory }, common, en] = await Promise.all([
      import('@zxcvbn-ts/core'),
      import('@zxcvbn-ts/language-common'),
      import('@zxcvbn-ts/language-en'),
    ]);
    return new ZxcvbnFactory({
      dictionary: { ...common.dictionary, ...en.dictionary },
      graphs: common.adjacencyGraphs,
      translations: en.translations,
    });
  })();
  return estimator;
}

// C0, DEL and C1 controls: invisible, and typed differently (or not at all) on another device.
const CONTROL = /\p{Cc}/u;

/**
 * Why a new password is refused, as a message that follows the field name ("is too easy to
 * guess: …"), or undefined when it is acceptable. The username and e-mail count as known
 * words (NIST SP 800-63B: no context-specific words).
 */
export async function passwordProblem(
  password: string,
  context: { username: string; email?: string },
  opts: { forbidUsername?: boolean } = { forbidUsername: true },
): Promise<string | undefined> {
  if (CONTROL.test(password)) return 'must not contain control characters (such as tabs or line breaks)';
  if (opts.forbidUsername && password.toLowerCase().includes(context.username.toLowerCase())) return 'must not contain the username';
  const userInputs = [context.username, ...(context.email ? [context.email, context.email.split('@')[0]!] : []), 'twarga', 'twarga cloud'];
  const result = (await loadEstimator()).check(password, userInputs);
  if (result.score >= MIN_SCORE) return undefined;
  const { warning, suggestions } = result.feedback;
  const advice = [warning, ...suggestions].filter((s): s is string => !!s).join(' ');
  return `is too easy to guess${advice ? `: ${advice}` : ''}`;
}
