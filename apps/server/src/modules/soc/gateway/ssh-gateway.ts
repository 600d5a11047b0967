import { connect, createServer, type Server, type Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { Periodic } from '../../../lib/periodic.js';
import { systemClock, type Clock } from '../../../lib/time.js';
import type { LiveBus } from '../../../operations/live-bus.js';
import type { EventLog } from '../../events/event-log.js';
import type { VmRow, VmsRepository } from '../../vms/vms.repository.js';
import type { Blocklist } from '../ports.js';
import { normalizeAddress } from '../../../lib/ip-address.js';
import type { PeerRegistry } from './peer-registry.js';

/** Where QEMU's SSH forwards listen (qemu/args.ts: hostfwd=tcp:127.0.0.1:<port>-:22). */
const UPSTREAM_HOST = '127.0.0.1';
/** VM statuses in which the QEMU process (and its forward) is up. */
const FORWARDING = new Set(['running', 'rebooting', 'paused', 'stopping']);
/** Open connections per VM: bounds the file descriptors one flood can take (the guest's SSH limits its own). */
export const MAX_CONNECTIONS_PER_VM = 256;
/**
 * Open connections per VM from one client address. Behind user-mode networking every client is
 * 10.0.2.2 to the guest, and dropbear admits 5 unauthenticated connections per source address:
 * one client holding 5 slow ones would keep everybody out. With at most 4, one slot stays free.
 */
export const MAX_CONNECTIONS_PER_ADDRESS = 4;
/** Refusals of one address on one VM recorded as their own rows per minute; the rest fold into one row. */
const REFUSALS_AS_ROWS_PER_MINUTE = 20;

export interface SshGatewayDeps {
  /** The public address to listen on (checked by checkPublicAddress). */
  address: string;
  blocklist: Pick<Blocklist, 'blocksVm'>;
  peers: Pick<PeerRegistry, 'addGatewayClient'>;
  events: Pick<EventLog, 'record' | 'subscribeCluster'>;
  vms: Pick<VmsRepository, 'listLive'>;
  bus: Pick<LiveBus, 'subscribeCluster'>;
  log: FastifyBaseLogger;
  /** How often listeners are compared with the VMs (besides every VM change on the bus). */
  syncIntervalMs?: number;
  clock?: Clock;
}

interface Connection {
  client: Socket;
  upstream: Socket;
  address: string;
  clientPort: number | null;
}

interface Forward {
  vmId: number;
  port: number;
  server: Server;
  vm: Pick<VmRow, 'user_id' | 'name'>;
  connections: Set<Connection>;
}

/**
 * The SSH gateway: for every local QEMU VM with a forwarded SSH port, a listener on the public
 * address at the same port, piped to the forward on 127.0.0.1. Remote clients reach VMs only
 * through it, so it sees their real address (the guest sees every forwarded connection from
 * 10.0.2.2): it records which upstream local port carries which client (the peer registry; the
 * guest's log line names that port), refuses connections from blocked addresses before a byte
 * flows, and cuts open connections from an address the moment it is blocked.
 */
export class SshGateway {
  private readonly forwards = new Map<number, Forward>();
  /** Listeners that failed to open, by vm:port, so a lasting failure is logged once. */
  private readonly failing = new Set<string>();
  private readonly refusals = new Map<string, { minute: number; rows: number }>();
  private readonly periodic: Periodic;
  private readonly unsubscribe: Array<() => void> = [];
  private syncing: Promise<void> | null = null;
  private again = false;
  private closed = false;

  constructor(private readonly d: SshGatewayDeps) {
    this.periodic = new Periodic('SSH gateway', () => this.sync(), d.log);
  }

  async start(): Promise<void> {
    await this.sync();
    // A VM that starts, stops or moves port changes the listeners; a new block cuts connections.
    this.unsubscribe.push(
      // Cluster-wide: a VM started or stopped through another server process changes this host's listeners at once.
      this.d.bus.subscribeCluster((m) => {
        if (m.event.kind === 'vm') this.sync().catch((err: unknown) => this.d.log.error({ err }, 'SSH gateway: sync failed'));
      }),
    );
    // Cluster-wide: a block added through another server process cuts this process's connections from the address.
    // The blocks service brings the blocklist in step on the same event, before this (deferred) cut runs.
    this.unsubscribe.push(this.d.events.subscribeCluster((e) => e.code === 'soc.block_added' && setImmediate(() => this.cutBlocked())));
    this.periodic.start(this.d.syncIntervalMs ?? 5000);
  }

  /** Opens and closes listeners to match the VMs now; concurrent calls fold into one more pass. */
  sync(): Promise<void> {
    if (this.syncing) {
      this.again = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      do {
        this.again = false;
        await this.syncOnce();
      } while (this.again && !this.closed);
    })().finally(() => (this.syncing = null));
    return this.syncing;
  }

  /** The public ports listened on now, by VM (for tests and figures). */
  listening(): Map<number, number> {
    return new Map([...this.forwards.values()].map((f) => [f.vmId, f.port]));
  }

  /** Cuts every open connection whose client address is blocked now (a block just added). */
  cutBlocked(): void {
    for (const f of this.forwards.values()) {
      for (const c of f.connections) {
        if (!this.d.blocklist.blocksVm(c.address, f.vmId)) continue;
        this.drop(f, c);
        this.recordRefusal(f, c.address, c.clientPort, true);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.periodic.stop();
    for (const u of this.unsubscribe.splice(0)) u();
    await this.syncing?.catch(() => undefined);
    await Promise.all([...this.forwards.values()].map((f) => this.closeForward(f)));
  }

  private async syncOnce(): Promise<void> {
    if (this.closed) return;
    const wanted = new Map<number, VmRow>();
    for (const row of await this.d.vms.listLive()) {
      // Only QEMU's loopback forwards: guests with their own address (libvirt, Vagrant) are reached there.
      if (FORWARDING.has(row.status) && row.ssh_port !== null && !row.guest_ssh_host) wanted.set(row.id, row);
    }
    if (this.closed) return;
    for (const f of [...this.forwards.values()]) {
      const row = wanted.get(f.vmId);
      if (!row || row.ssh_port !== f.port) await this.closeForward(f);
      else f.vm = row;
    }
    for (const row of wanted.values()) if (!this.forwards.has(row.id)) await this.openForward(row);
    this.cutBlocked();
  }

  private async openForward(row: VmRow): Promise<void> {
    const port = row.ssh_port!;
    // pauseOnConnect: nothing is read from a client before its address is judged.
    const server = createServer({ pauseOnConnect: true, noDelay: true });
    server.maxConnections = MAX_CONNECTIONS_PER_VM;
    const f: Forward = { vmId: row.id, port, server, vm: row, connections: new Set() };
    server.on('connection', (client) => this.accept(f, client));
    const key = `${row.id}:${port}`;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: this.d.address, port, exclusive: true }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      // Tried again on the next pass (the port may be freed, the address added); logged once.
      if (!this.failing.has(key)) this.d.log.error({ err, vmId: row.id, port, address: this.d.address }, 'SSH gateway: cannot listen for a VM');
      this.failing.add(key);
      return;
    }
    this.failing.delete(key);
    server.on('error', (err) => this.d.log.error({ err, vmId: row.id, port }, 'SSH gateway listener failed'));
    if (this.closed) {
      server.close();
      return;
    }
    this.forwards.set(row.id, f);
  }

  private closeForward(f: Forward): Promise<void> {
    this.forwards.delete(f.vmId);
    for (const c of f.connections) this.drop(f, c);
    return new Promise((resolve) => f.server.close(() => resolve()));
  }

  private accept(f: Forward, client: Socket): void {
    const address = normalizeAddress(client.remoteAddress ?? '');
    const clientPort = client.remotePort ?? null;
    const current = this.forwards.get(f.vmId) === f;
    if (!current || this.d.blocklist.blocksVm(address, f.vmId)) {
      // Closed before a single byte either way: the client never sees the SSH banner.
      client.destroy();
      if (current) this.recordRefusal(f, address, clientPort, false);
      return;
    }
    if ([...f.connections].filter((c) => c.address === address).length >= MAX_CONNECTIONS_PER_ADDRESS) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: UPSTREAM_HOST, port: f.port, noDelay: true });
    const c: Connection = { client, upstream, address, clientPort };
    f.connections.add(c);
    upstream.once('connect', () => {
      // The guest will log this connection as 10.0.2.2:<our local port>: note who is behind it.
      const handle = this.d.peers.addGatewayClient(f.vmId, upstream.localPort!, { address, port: clientPort });
      upstream.once('close', () => handle.release());
    });
    client.setKeepAlive(true, 60_000);
    const end = () => this.drop(f, c);
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  private drop(f: Forward, c: Connection): void {
    f.connections.delete(c);
    c.client.destroy();
    c.upstream.destroy();
  }

  /**
   * An event per refused (or cut) connection, with the client's port. A blocked address that keeps
   * knocking gets its first refusals of each minute as rows, the rest counted on one folded row.
   */
  private recordRefusal(f: Forward, address: string, clientPort: number | null, cut: boolean): void {
    const minute = Math.floor((this.d.clock ?? systemClock).now().getTime() / 60_000);
    const key = `${f.vmId}|${address}`;
    let seen = this.refusals.get(key);
    if (!seen || seen.minute !== minute) {
      if (this.refusals.size > 10_000) this.refusals.clear();
      seen = { minute, rows: 0 };
      this.refusals.set(key, seen);
    }
    const ownRow = ++seen.rows <= REFUSALS_AS_ROWS_PER_MINUTE;
    void this.d.events.record({
      type: 'security',
      severity: 'warning',
      action: 'ssh.connection_refused',
      message: cut
        ? `SSH connection to VM ${f.vm.name} from ${address} cut: the address is now blocked`
        : `SSH connection to VM ${f.vm.name} from ${address} refused: the address is blocked`,
      userId: f.vm.user_id,
      vmId: f.vmId,
      sourceIp: address,
      details: { ...(ownRow ? { client_port: clientPort } : { folded: true }), ssh_port: f.port, ...(cut ? { cut: true } : {}) },
    });
  }
}
