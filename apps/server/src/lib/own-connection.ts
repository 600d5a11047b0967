import { connect, type Socket } from 'node:net';

/** Where the control plane's own connections to a VM's SSH register (the SOC's OwnConnections). */
export interface OwnConnectionRegistry {
  add(vmId: number, port: number): { release(): void };
}

/** Which VM a connection goes to, and where to register it as ours. */
export interface OwnConnectionTag {
  vmId: number;
  registry: OwnConnectionRegistry;
}

/**
 * A TCP connection the control plane itself opens to a VM's SSH (terminal, banner probe). With a
 * tag, its local port is registered as ours once connected and released when it closes: the guest
 * sees the connection from 10.0.2.2:<that port>, and the SOC must not count it as an attack.
 */
export function connectOwned(host: string, port: number, tag?: OwnConnectionTag): Socket {
  const socket = connect({ host, port });
  if (tag) {
    socket.once('connect', () => {
      if (socket.localPort === undefined) return;
      const handle = tag.registry.add(tag.vmId, socket.localPort);
      socket.once('close', () => handle.release());
    });
  }
  return socket;
}

