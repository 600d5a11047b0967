import type { AddressInfo } from 'node:net';
import os from 'node:os';
import type {} from 'fastify';

declare module 'fastify' {
  interface FastifyInstance {
    /** This site's browser origins (decorated in app.ts). */
    origins: OriginPolicy;
  }
}

/**
 * Which browser origins are "this site". Checks compare the Origin header against the configured
 * public URL, never against the request's Host header: a Host-derived origin is whatever the
 * attacker's DNS name is after a DNS-rebinding attack, so it would always "match".
 *
 * Without TWARGA_PUBLIC_URL the origins are derived from the listening address:
 * - a specific address (127.0.0.1, 192.0.2.10, a host name): that name and port;
 * - a loopback address: also localhost, 127.0.0.1 and [::1], which all reach the server;
 * - all interfaces (0.0.0.0 / ::): the IP literals of this machine's interfaces, localhost and
 *   the machine's host name. IP literals cannot be rebound; a DNS name in front of the server
 *   (or a reverse proxy on another port) needs TWARGA_PUBLIC_URL.
 * Derived origins accept http and https (a TLS proxy on the same port), never another port.
 */
export class OriginPolicy {
  private allowed?: Set<string>;

  constructor(
    private readonly opts: {
      publicUrl?: string;
      host: string;
      /** A function, because with port 0 the real port is known only once the server listens. */
      port: () => number;
      /** For tests: the interface addresses and host name used for 0.0.0.0. */
      interfaces?: () => { addresses: string[]; hostname: string };
    },
  ) {}

  /** True when the Origin header names this site. "null" and malformed values never match. */
  allows(origin: string): boolean {
    const normalised = normaliseOrigin(origin);
    return normalised !== undefined && this.origins().has(normalised);
  }

  /** The accepted origins, for logs and error messages. */
  origins(): Set<string> {
    if (this.allowed) return this.allowed;
    const { publicUrl, host } = this.opts;
    if (publicUrl) {
      const only = normaliseOrigin(publicUrl);
      if (!only) throw new Error(`publicUrl ${publicUrl} is not an origin`);
      return (this.allowed = new Set([only]));
    }
    const port = this.opts.port();
    const names = new Set<string>([host]);
    if (isLoopback(host)) ['localhost', '127.0.0.1', '::1'].forEach((n) => names.add(n));
    if (isWildcard(host)) {
      const { addresses, hostname } = (this.opts.interfaces ?? localInterfaces)();
      ['localhost', hostname, ...addresses].forEach((n) => names.add(n));
      names.delete(host);
    }
    const set = new Set<string>();
    for (const name of names) {
      for (const scheme of ['http', 'https']) {
        const o = normaliseOrigin(`${scheme}://${name.includes(':') ? `[${name}]` : name}:${port}`);
        if (o) set.add(o);
      }
    }
    // With port 0 the server is not listening yet: do not cache a set naming port 0.
    if (port !== 0) this.allowed = set;
    return set;
  }
}

/** "HTTP://Example.com:80" → "http://example.com"; undefined when it is not an http(s) origin. */
export function normaliseOrigin(value: string): string | undefined {
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || /^127\./.test(host);
const isWildcard = (host: string) => host === '0.0.0.0' || host === '::' || host === '';

function localInterfaces(): { addresses: string[]; hostname: string } {
  const addresses = Object.values(os.networkInterfaces())
    .flat()
    .filter((i) => i !== undefined && !(i.family === 'IPv6' && i.scopeid)) // link-local needs a zone id
    .map((i) => i!.address);
  return { addresses, hostname: os.hostname() };
}

/**
 * Whether a browser request comes from a page of this site. Browsers send Origin on every
 * cross-origin request and on same-origin POSTs, and Sec-Fetch-Site on every request; a request
 * with neither (curl, the CLI, scripts) is not a browser and cannot be forged by a page.
 * Returns the reason to refuse, or undefined.
 */
export function crossSiteReason(headers: { origin?: string; 'sec-fetch-site'?: string | string[] }, policy: OriginPolicy): string | undefined {
  const site = headers['sec-fetch-site'];
  // same-site is refused too: a sibling sub-domain is another party's page.
  if (site === 'cross-site' || site === 'same-site') return `Sec-Fetch-Site is ${site}`;
  const origin = headers.origin;
  if (origin !== undefined && !policy.allows(origin)) return `origin ${origin.slice(0, 200)} is not this site`;
  return undefined;
}

/** The port a listening server has (0 before it listens). */
export const portOf = (address: string | AddressInfo | null): number => (address && typeof address === 'object' ? address.port : 0);

