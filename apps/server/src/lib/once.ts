/** Runs fn the first time and hands every caller that same promise (a failed run is retried). */
export function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= fn().catch((err) => {
      pending = undefined;
      throw err;
    });
    return pending;
  };
}
