import ipaddr from 'ipaddr.js';
import { ConfigError } from '../../../config/config.js';

/**
 * Why `address` cannot be the SSH gateway's listening address, or null when it can. It must be
 * one address of this machine: the wildcard (0.0.0.0, ::) would also take 127.0.0.1:<port>, where
 * QEMU's own forward listens, and loopback is where that forward already is.
 */
export function publicAddressProblem(address: string): string | null {
  if (!ipaddr.isValid(address)) return `"${address}" is not an IP address (a host name is not accepted: give the address to listen on)`;
  const addr = ipaddr.process(address);
  const range = addr.range();
  if (range === 'unspecified') return `${address} is the wildcard address: it would also take 127.0.0.1:<port>, where each VM's QEMU forward listens. Give one address of this machine`;
  if (range === 'loopback') return `${address} is a loopback address: VMs' SSH forwards already listen on 127.0.0.1, and nobody remote could reach it`;
  return null;
}

/** The configured public address, or a configuration error (the server does not start) saying what is wrong. */
export function checkedPublicAddress(address: string): string {
  const problem = publicAddressProblem(address);
  if (problem) throw new ConfigError(`TWARGA_SSH_PUBLIC_ADDRESS: ${problem}`);
  return address;
}
