import type { Identity } from '../../auth/identity.js';

/** Who did something to an incident or a block; null: the system (a rule, an expiry). */
export type Actor = { userId: number; username: string; admin: boolean; ip?: string } | null;

export const actorOf = (identity: Identity, ip?: string): Exclude<Actor, null> => ({
  userId: identity.user.id,
  username: identity.user.username,
  admin: identity.user.is_admin,
  ...(ip ? { ip } : {}),
});

/** The events API's viewer: whose things they may see. */
export interface Viewer {
  userId: number;
  admin: boolean;
}
