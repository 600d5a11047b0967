import { createServer } from 'node:net';

export function parsePortRange(range: string): { first: number; last: number } {
  const [first, last] = range.split('-').map(Number) as [number, number];
  if (!(first >= 1024 && last <= 65535 && first <= last)) throw new Error(`invalid port range ${range}`);
  return { first, last };
}

/** True when nothing else on this host listens on the port. */
export function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** The first port of the range that no VM holds and nothing else is bound to on any of `hosts`. */
export async function pickFreePort(range: string, hosts: string[], taken: Set<number>): Promise<number | undefined> {
  const { first, last } = parsePortRange(range);
  for (let port = first; port <= last; port++) {
    if (taken.has(port)) continue;
    let free = true;
    for (const host of hosts) free &&= await portIsFree(host, port);
    if (free) return port;
  }
  return undefined;
}
