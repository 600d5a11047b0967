import { QgaClient } from './qga-client.js';

/**
 * Sets the guest's wall clock to the host's through the agent (guest-set-time). A guest resumed
 * from saved RAM believes no time passed since the save; without this its clock lags by the time
 * the state sat on disk. Best effort: resolves with why it could not, never throws.
 */
export async function syncGuestClock(qgaSocket: string, now = () => Date.now(), timeoutMs = 3000): Promise<{ synced: boolean; reason?: string }> {
  let qga: QgaClient | undefined;
  try {
    qga = await QgaClient.connect(qgaSocket, timeoutMs);
    // Nanoseconds since the epoch, a whole number (JSON prints it in full: below 2^63, above 2^53 only ms-precise, enough).
    await qga.execute('guest-set-time', { time: Math.round(now()) * 1_000_000 }, timeoutMs).catch((err: Error) => {
      // The agent sets the clock first, then runs hwclock -w; an image without hwclock reports that step only.
      if (!/hwclock/i.test(err.message)) throw err;
    });
    return { synced: true };
  } catch (err) {
    return { synced: false, reason: (err as Error).message };
  } finally {
    qga?.close();
  }
}
