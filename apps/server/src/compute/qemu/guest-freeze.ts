import { QgaClient } from './qga-client.js';

/**
 * Quiescing through the guest agent: guest-fsfreeze-freeze flushes and freezes the guest's
 * filesystems so a disk copy taken meanwhile is clean (no journal replay needed). An agent that
 * does not answer, or has nothing to freeze, is not an error: the copy is still point-in-time
 * (crash-consistent), only not quiesced.
 */
export interface Freeze {
  /** Filesystems the agent froze (0: nothing frozen). */
  frozen: number;
  /** Why nothing froze, when nothing did. */
  reason?: string;
  /** Thaws (safe to call again; never throws). Must run whenever freeze() returned. */
  thaw(): Promise<void>;
}

export async function freezeGuest(qgaSocket: string, timeouts: Partial<typeof DEFAULT_TIMEOUTS> = {}): Promise<Freeze> {
  const t = { ...DEFAULT_TIMEOUTS, ...timeouts };
  let client: QgaClient | undefined;
  try {
    client = await QgaClient.connect(qgaSocket, t.connectMs);
  } catch (err) {
    return { frozen: 0, reason: `guest agent silent: ${(err as Error).message}`, thaw: async () => {} };
  }
  let frozen = 0;
  let reason: string | undefined;
  // Once the request is sent the guest may freeze even if its answer never comes: thaw regardless.
  let sent = false;
  try {
    sent = true;
    frozen = await client.execute<number>('guest-fsfreeze-freeze', undefined, t.freezeMs);
    if (!frozen) reason = 'the guest agent had no filesystem to freeze';
  } catch (err) {
    reason = `fsfreeze failed: ${(err as Error).message}`;
    // The channel may still owe the late answer: a fresh session (its sync skips it) does the thaw.
    client.close();
    client = undefined;
  }
  let thawed = false;
  const thaw = async () => {
    if (thawed || !sent) return;
    thawed = true;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        client ??= await QgaClient.connect(qgaSocket, t.thawMs);
        await client.execute('guest-fsfreeze-thaw', undefined, t.thawMs);
        break;
      } catch {
        client?.close();
        client = undefined;
      }
    }
    client?.close();
    client = undefined;
  };
  if (!frozen) await thaw();
  return { frozen, ...(reason ? { reason } : {}), thaw };
}

export const DEFAULT_TIMEOUTS = {
  /** The agent answers at once or is not there (a paused or agentless guest). */
  connectMs: 1500,
  /** Freezing flushes dirty pages first: seconds on a busy guest. */
  freezeMs: 10_000,
  /** A thaw queued behind a slow freeze waits for it. */
  thawMs: 30_000,
};
