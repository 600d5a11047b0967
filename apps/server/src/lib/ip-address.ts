import ipaddr from 'ipaddr.js';

/** One spelling per address: IPv4-mapped IPv6 (::ffff:192.0.2.7) as IPv4, IPv6 compressed. */
export function normalizeAddress(address: string): string {
  return ipaddr.isValid(address) ? ipaddr.process(address).toString() : address;
}
