import type { ComponentStatus } from '@twarga/contract';

const RANK: Record<ComponentStatus, number> = { healthy: 0, degraded: 1, failed: 2 };

/** The worst of several statuses (healthy when there are none). */
export const worst = (statuses: ComponentStatus[]): ComponentStatus =>
  statuses.reduce<ComponentStatus>((w, s) => (RANK[s] > RANK[w] ? s : w), 'healthy');

/** Resolves with the promise's value, or with `onTimeout()` after ms (the promise keeps running). */
export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    // Not unref'd: someone is waiting for this answer.
    timer = setTimeout(() => resolve(onTimeout()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
