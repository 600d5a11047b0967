import type { Clock } from '../../../lib/time.js';
import type { OwnConnections, SshPeer, SshPeers } from '../ports.js';

/** How long a closed connection stays known: the guest's log lines about it arrive after it closed. */
export const PEER_RETENTION_MS = 10 * 60_000;

interface Entry {
  peer: SshPeer;
  /** When the connection closed (ms), null while it is open. */
  releasedAt: number | null;
}

/**
 * Who is behind each host-side connection to a VM's SSH forward, keyed by the VM and the
 * connection's local port on the host. QEMU's user-mode networking shows the guest every
 * loopback connection as coming from 10.0.2.2 but keeps this port, so the guest's log line
 * ("from 10.0.2.2:<port>") names the entry.
 * Two writers: the SSH gateway (a remote client, its real address) and the control plane's own
 * connections (terminal, banner probes: ours, never an attack). The syslog ingest reads.
 */
export class PeerRegistry implements SshPeers, OwnConnections {
  private readonly entries = new Map<string, Entry>();
  private added = 0;

  constructor(
    private readonly clock: Clock,
    private readonly retentionMs = PEER_RETENTION_MS,
  ) {}

  lookup(vmId: number, guestPort: number): SshPeer | undefined {
    const entry = this.entries.get(key(vmId, guestPort));
    if (!entry) return undefined;
    if (this.expired(entry, this.clock.now().getTime())) {
      this.entries.delete(key(vmId, guestPort));
      return undefined;
    }
    return { ...entry.peer };
  }

  /** The control plane's own connection from local `port` (ours: never counted as an attack). */
  add(vmId: number, port: number): { release(): void } {
    return this.register(vmId, port, { address: '127.0.0.1', port, ours: true, via: 'control-plane' });
  }

  /** A remote client's connection that the gateway forwards from local `port`. */
  addGatewayClient(vmId: number, port: number, client: { address: string; port: number | null }): { release(): void } {
    return this.register(vmId, port, { address: client.address, port: client.port, ours: false, via: 'gateway' });
  }

  /** Entries held (open plus recently closed); for tests and figures. */
  get size(): number {
    return this.entries.size;
  }

  private register(vmId: number, port: number, peer: SshPeer): { release(): void } {
    // Lazy clean-up: every 256 connections, forget those closed longer ago than the retention.
    if (++this.added % 256 === 0) this.sweep();
    const k = key(vmId, port);
    // A port the kernel hands out again replaces the old connection's entry.
    const entry: Entry = { peer, releasedAt: null };
    this.entries.set(k, entry);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        entry.releasedAt = this.clock.now().getTime();
      },
    };
  }

  private expired(entry: Entry, now: number): boolean {
    return entry.releasedAt !== null && now - entry.releasedAt > this.retentionMs;
  }

  private sweep(): void {
    const now = this.clock.now().getTime();
    for (const [k, entry] of this.entries) if (this.expired(entry, now)) this.entries.delete(k);
  }
}

const key = (vmId: number, port: number) => `${vmId}:${port}`;
