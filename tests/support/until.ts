/**
 * Polls fn every 250 ms until it returns something other than undefined; fails after timeoutMs,
 * saying what it waited for (a function is asked at that moment, to tell what it saw last).
 */
export async function until<T>(what: string | (() => string), fn: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
