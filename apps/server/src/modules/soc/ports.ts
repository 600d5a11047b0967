/**
 * What the SOC's parts need from each other, as small interfaces, so that the syslog ingest, the
 * SSH gateway, the detection engine and the control-plane guard do not reach into each other.
 */

/** Active address blocks, answered from memory (it sits on every connection and request). */
export interface Blocklist {
  /** True when `address` may not reach this VM's SSH (a block on the VM, or on every VM). */
  blocksVm(address: string, vmId: number): boolean;
  /** True when `address` may not use the control plane (API, web, terminal). */
  blocksControlPlane(address: string): boolean;
}

/** Who is really behind a connection a guest saw arrive from its user-mode gateway (10.0.2.2:port). */
export interface SshPeer {
  /** The client's real address and port where it entered the host (the SSH gateway), or 127.0.0.1 for a local client. */
  address: string;
  port: number | null;
  /** The control plane's own connection (terminal, health probe): never an attack. */
  ours: boolean;
  /** 'gateway' (a remote client through the SSH gateway), 'control-plane' (ours), 'host' (some local process). */
  via: 'gateway' | 'control-plane' | 'host';
}

export interface SshPeers {
  /**
   * The peer behind the connection that the VM's guest saw from its gateway's `guestPort`
   * (QEMU user-mode networking keeps the host-side source port). undefined: not known.
   */
  lookup(vmId: number, guestPort: number): SshPeer | undefined;
}

/** The control plane's own SSH connections to VMs register their local port here (terminal, probes). */
export interface OwnConnections {
  /** Marks the connection from local `port` to the VM as ours until `release()` plus a grace period. */
  add(vmId: number, port: number): { release(): void };
}
