import ipaddr from 'ipaddr.js';
import { normalizeAddress } from '../../../lib/ip-address.js';

/**
 * One spelling per address, so a block, a group and a lookup agree: ::ffff:192.0.2.1 is
 * 192.0.2.1, IPv6 is written in its short form. undefined: not an IP address.
 */
export function canonicalAddress(raw: string): string | undefined {
  const text = raw.trim();
  if (!ipaddr.isValid(text)) return undefined;
  // isValid accepts short IPv4 forms (e.g. "10.1"); a block must name a full address.
  if (!text.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(text)) return undefined;
  return normalizeAddress(text);
}

/** Loopback: the server's own machine (a local client, a reverse proxy): never blocked automatically. */
export function isLoopback(address: string): boolean {
  const canonical = canonicalAddress(address);
  return canonical !== undefined && ipaddr.process(canonical).range() === 'loopback';
}
