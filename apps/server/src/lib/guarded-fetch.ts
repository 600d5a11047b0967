import { lookup as dnsLookup } from 'node:dns/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * HTTP requests to URLs a person supplied (admin image downloads, users' notification webhooks)
 * that cannot be turned against the host (SSRF): every hop's host is resolved ONCE, every address
 * is checked, and the socket connects to exactly those addresses (a pinned `lookup`), so DNS
 * rebinding between check and connect is impossible. GET follows redirects by hand, checking each
 * hop again; other methods never follow redirects.
 */

export type ResolvedAddress = { address: string; family: 4 | 6 };
/** Host name → addresses. Tests inject one; the default asks the system resolver. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface FetchPolicy {
  /** Host names (lower case) that may resolve to a private/loopback/CGNAT/ULA address: a local mirror. */
  mirrorHosts: ReadonlySet<string>;
  resolve?: Resolver;
  /** Redirects followed at most (default 5). */
  maxRedirects?: number;
  /** A socket idle this long is dropped (default 60 s). */
  idleTimeoutMs?: number;
  /** The setting that lists mirrorHosts, named in refusals (default imageMirrorHosts). */
  allowListName?: string;
  /** Sent as User-Agent (default twarga-image-download). */
  userAgent?: string;
}

/** A URL or address the policy refuses. Its message names the host and address, never response content. */
export class DownloadRefused extends Error {
  override name = 'DownloadRefused';
}

/** Parses TWARGA_IMAGE_MIRROR_HOSTS ("a.example,b.example") into the policy's set. */
export function parseMirrorHosts(list: string): Set<string> {
  return new Set(
    list
      .split(',')
      .map((h) => h.trim().toLowerCase().replace(/\.$/, ''))
      .filter(Boolean),
  );
}

/** Cloud metadata and host-agent addresses: refused even for a mirror host, whatever range they sit in. */
const METADATA: [ipaddr.IPv4 | ipaddr.IPv6, number][] = [
  '169.254.169.254/32', // AWS, GCP, Azure, OpenStack, Oracle…
  '169.254.170.2/32', // AWS ECS task credentials
  'fd00:ec2::254/128', // AWS IMDS over IPv6 (a ULA)
  '100.100.100.200/32', // Alibaba Cloud (in CGNAT space)
  '168.63.129.16/32', // Azure wire server (a public address)
  '192.0.0.192/32', // Oracle Cloud
].map((c) => ipaddr.parseCIDR(c));

/** ::/8 holds the deprecated IPv4-compatible form (::127.0.0.1); ipaddr.js calls it unicast. */
const IPV6_RESERVED_ZERO = ipaddr.parseCIDR('::/8');

/** Ranges a mirror host may resolve to, beyond public unicast. Link-local, multicast and the rest stay refused. */
const MIRROR_RANGES = new Set(['private', 'loopback', 'carrierGradeNat', 'uniqueLocal']);

/**
 * Why `ip` may not be connected to, or null when it may. IPv4-mapped IPv6 (::ffff:127.0.0.1)
 * is judged as the IPv4 address it carries.
 */
export function refusalReason(ip: string, allowPrivate: boolean, allowListName = 'imageMirrorHosts'): string | null {
  if (!isIP(ip)) return 'is not an IP address';
  const addr = ipaddr.process(ip);
  for (const [net, bits] of METADATA) {
    if (addr.kind() === net.kind() && addr.match(net, bits)) return 'is a cloud metadata address';
  }
  if (addr.kind() === 'ipv6' && addr.match(IPV6_RESERVED_ZERO[0], IPV6_RESERVED_ZERO[1]) && addr.range() !== 'loopback') {
    return 'is a reserved IPv6 address';
  }
  const range = addr.range();
  if (range === 'unicast') return null;
  if (allowPrivate && MIRROR_RANGES.has(range)) return null;
  const what = range.replace(/([A-Z])/g, ' $1').toLowerCase();
  return MIRROR_RANGES.has(range)
    ? `is a ${what} address (only a host listed in ${allowListName} may use one)`
    : `is a ${what} address`;
}

const systemResolve: Resolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

/** The URL's host as compared with imageMirrorHosts: lower case, IPv6 without brackets, no trailing dot. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
}

/**
 * Resolves the host of one hop once and checks every address it has; any bad one refuses the hop
 * (DownloadRefused). A name that does not resolve is a plain Error. Exported so a URL can be
 * judged before it is stored (a webhook target), without connecting.
 */
export async function checkedAddresses(url: URL, policy: FetchPolicy): Promise<ResolvedAddress[]> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DownloadRefused(`refused: only http and https URLs are allowed, not ${url.protocol}`);
  const host = hostOf(url);
  const mirror = policy.mirrorHosts.has(host);
  let addrs: ResolvedAddress[];
  const family = isIP(host);
  if (family) {
    addrs = [{ address: host, family: family === 6 ? 6 : 4 }];
  } else {
    try {
      addrs = await (policy.resolve ?? systemResolve)(host);
    } catch (err) {
      throw new Error(`could not resolve ${host}: ${(err as NodeJS.ErrnoException).code ?? 'lookup failed'}`);
    }
    if (addrs.length === 0) throw new Error(`could not resolve ${host}`);
  }
  for (const a of addrs) {
    const why = refusalReason(a.address, mirror, policy.allowListName);
    if (why) throw new DownloadRefused(`refused: ${host}${a.address === host ? '' : ` → ${a.address}`} ${why}`);
  }
  return addrs;
}

/** A `lookup` that answers only with the addresses already checked: the socket can connect nowhere else. */
function pinnedLookup(host: string, addrs: ResolvedAddress[]): LookupFunction {
  return (hostname, options, callback) => {
    const usable = addrs.filter((a) => !options.family || a.family === options.family);
    if (hostname.toLowerCase().replace(/\.$/, '') !== host || usable.length === 0) {
      const err = Object.assign(new Error(`no checked address for ${hostname}`), { code: 'ENOTFOUND' });
      return (callback as (e: Error, a: string, f: number) => void)(err, '', 0);
    }
    if (options.all) return (callback as (e: null, a: ResolvedAddress[]) => void)(null, usable);
    return callback(null, usable[0]!.address, usable[0]!.family);
  };
}

const sameAddress = (a: string, b: string) => {
  try {
    return ipaddr.process(a).toNormalizedString() === ipaddr.process(b).toNormalizedString();
  } catch {
    return false;
  }
};

/** What one request sends besides the URL: GET with no body unless told otherwise. */
export interface GuardedRequest {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string | Buffer;
}

function requestOnce(url: URL, addrs: ResolvedAddress[], policy: FetchPolicy, signal: AbortSignal, send: GuardedRequest = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).request(url, {
      method: send.method ?? 'GET',
      agent: false, // no pooled socket that was connected under another lookup
      lookup: pinnedLookup(hostOf(url), addrs),
      signal,
      timeout: policy.idleTimeoutMs ?? 60_000,
      headers: { 'user-agent': policy.userAgent ?? 'twarga-image-download', accept: '*/*', ...send.headers },
    });
    req.on('timeout', () => req.destroy(new Error('timed out waiting for the server')));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.name === 'AbortError') return reject(signal.reason ?? err);
      reject(err instanceof DownloadRefused ? err : new Error(`could not fetch from ${hostOf(url)}: ${err.code ?? err.message}`));
    });
    req.on('response', (res) => {
      // Belt and braces: the peer must be one of the checked addresses.
      const peer = res.socket.remoteAddress;
      if (!peer || !addrs.some((a) => sameAddress(a.address, peer))) {
        req.destroy(new DownloadRefused(`refused: connected to an address that was not checked`));
        return;
      }
      resolve(res);
    });
    req.end(send.body);
  });
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * GETs `url` under `policy`, following up to maxRedirects redirects (each re-checked).
 * Resolves with the final response (any status); the caller reads or destroys it.
 */
export async function guardedGet(url: string, policy: FetchPolicy, signal: AbortSignal): Promise<IncomingMessage> {
  let current = parseUrl(url);
  const maxRedirects = policy.maxRedirects ?? 5;
  for (let hop = 0; ; hop++) {
    const addrs = await checkedAddresses(current, policy);
    const res = await requestOnce(current, addrs, policy, signal);
    if (!REDIRECTS.has(res.statusCode ?? 0)) return res;
    res.destroy(); // a redirect's body is never read
    const location = res.headers.location;
    if (!location) throw new Error(`${hostOf(current)} answered HTTP ${res.statusCode} without a Location`);
    if (hop >= maxRedirects) throw new DownloadRefused(`refused: more than ${maxRedirects} redirects`);
    try {
      current = new URL(location, current);
    } catch {
      throw new DownloadRefused('refused: a redirect to an invalid URL');
    }
  }
}

function parseUrl(url: string): URL {
  try {
    return new URL(url);
  } catch {
    throw new DownloadRefused('refused: not a valid URL');
  }
}

/**
 * One request (a webhook's POST) to `url` under `policy`: the host is resolved and checked now,
 * at send time, so a name that was public when it was saved cannot be pointed at the host later.
 * Redirects are NOT followed: the 3xx response is returned like any other.
 */
export async function guardedRequest(url: string, policy: FetchPolicy, signal: AbortSignal, send: GuardedRequest): Promise<IncomingMessage> {
  const target = parseUrl(url);
  return requestOnce(target, await checkedAddresses(target, policy), policy, signal, send);
}

/** Reads at most `limit` bytes of a response as text, then drops the connection. */
export async function readTextCapped(res: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= limit) break;
  }
  res.destroy();
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}
