import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import type { SyslogIngest } from './ingest.js';

export interface ChannelVm {
  id: number;
  user_id: number;
  host_id: number | null;
}

export interface SyslogChannelsOptions {
  ingest: SyslogIngest;
  /** The VMs that run now (their channels should be open). */
  running(): Promise<ChannelVm[]>;
  /** Opens a VM's channel; undefined when its driver has none (libvirt, Vagrant, the fake driver). */
  open(vm: ChannelVm): Promise<Duplex | undefined>;
  log: FastifyBaseLogger;
  /** How often the open channels are compared with the running VMs (default 2 s). */
  intervalMs?: number;
  now?: () => number;
}

interface Conn {
  socket?: Duplex;
  opening: boolean;
  /** No new attempt before this time (after a failure or a close). */
  retryAt: number;
  failures: number;
}

/** A driver without a channel is asked again this seldom (a VM does not gain one while it runs). */
const NO_CHANNEL_RECHECK_MS = 60_000;
const MAX_BACKOFF_MS = 10_000;

/**
 * Keeps one reader on each running VM's syslog channel: follows the VMs' lifecycle (a periodic
 * comparison with the VMs that run, and at once when told a VM changed), reconnects when a VM
 * starts or restarts (QEMU makes a new socket each start), with a short backoff while a channel
 * is not up yet. What a channel carries is that VM's, whatever the lines say.
 */
export class SyslogChannels {
  private readonly conns = new Map<number, Conn>();
  private timer?: NodeJS.Timeout;
  private soon?: NodeJS.Timeout;
  private running_?: Promise<void>;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly o: SyslogChannelsOptions) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    this.closed = false;
    void this.reconcile();
    this.timer = setInterval(() => void this.reconcile(), this.o.intervalMs ?? 2000);
    this.timer.unref();
  }

  /** A VM changed (started, stopped, restarted): look again shortly (debounced). */
  poke(): void {
    if (this.closed || this.soon) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void this.reconcile();
    }, 200);
    this.soon.unref();
  }

  /** VM ids whose channel is open now. */
  connected(): number[] {
    return [...this.conns.entries()].filter(([, c]) => c.socket).map(([id]) => id);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.soon);
    await this.running_?.catch(() => undefined);
    for (const c of this.conns.values()) c.socket?.destroy();
    this.conns.clear();
  }

  /** One comparison at a time; a call while one runs waits for it (and the next tick looks again). */
  reconcile(): Promise<void> {
    this.running_ ??= this.compare().finally(() => (this.running_ = undefined));
    return this.running_;
  }

  private async compare(): Promise<void> {
    if (this.closed) return;
    let vms: ChannelVm[];
    try {
      vms = await this.o.running();
    } catch (err) {
      this.o.log.warn({ err }, 'syslog channels: cannot list running VMs');
      return;
    }
    const ids = new Set(vms.map((v) => v.id));
    for (const [id, c] of this.conns) {
      if (ids.has(id)) continue;
      c.socket?.destroy();
      this.conns.delete(id);
    }
    const now = this.now();
    await Promise.all(
      vms.map(async (vm) => {
        const c = this.conns.get(vm.id) ?? { opening: false, retryAt: 0, failures: 0 };
        this.conns.set(vm.id, c);
        if (c.socket || c.opening || now < c.retryAt) return;
        c.opening = true;
        try {
          const socket = await this.o.open(vm);
          if (!socket) {
            c.retryAt = this.now() + NO_CHANNEL_RECHECK_MS;
            return;
          }
          if (this.closed || this.conns.get(vm.id) !== c) {
            socket.destroy();
            return;
          }
          this.attach(vm, c, socket);
        } catch {
          // Not up yet (the VM is starting) or gone: try again after a backoff.
          c.failures++;
          c.retryAt = this.now() + Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(c.failures, 5));
        } finally {
          c.opening = false;
        }
      }),
    );
  }

  private attach(vm: ChannelVm, c: Conn, socket: Duplex): void {
    c.socket = socket;
    c.failures = 0;
    const feed = this.o.ingest.stream({ kind: 'channel', vm: { id: vm.id, userId: vm.user_id }, name: `guestfwd:vm-${vm.id}` });
    socket.on('data', (chunk: Buffer) => feed(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (c.socket !== socket) return;
      c.socket = undefined;
      // The VM stopped or restarts: its next channel comes with its next QEMU.
      c.retryAt = this.now() + 500;
      this.poke();
    });
  }
}
