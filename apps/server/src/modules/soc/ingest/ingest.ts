import type { FastifyBaseLogger } from 'fastify';
import type { EventCode, Severity } from '@twarga/contract';
import type { NewEvent } from '../../events/events.repository.js';
import type { SshPeers } from '../ports.js';
import { parseAuthLine, type AuthLine, type AuthOutcome } from './auth-parse.js';
import { SyslogFramer, type Frame } from './framing.js';
import { TokenBucket } from './rate-limit.js';
import { parseSyslog } from './syslog-parse.js';

/** The VM a source belongs to: who sees its events. */
export interface VmRef {
  id: number;
  userId: number;
}

/**
 * Where lines come from. Attribution is decided HERE, by the source, never by what a line says:
 * a `channel` is one VM's own (QEMU guestfwd socket); a `network` source is a VM only when its
 * address is that VM's known address (vm null: unattributed, admins only).
 */
export type Source = { kind: 'channel'; vm: VmRef; name: string } | { kind: 'network'; vm: VmRef | null; transport: 'udp' | 'tcp'; address: string };

export interface IngestCounters {
  /** Frames received (before any limit). */
  received: number;
  /** Events recorded from them. */
  events: number;
  /** Dropped by the per-VM rate limit. */
  rateLimited: number;
  /** Not syslog at all (dropped). */
  malformed: number;
  /** Longer than the limit: cut, then processed. */
  oversize: number;
  /** Dropped because the event log was too far behind. */
  backlog: number;
  /** Syslog, but not an SSH login line: nothing to record. */
  ignored: number;
}

export interface IngestOptions {
  /** The event log: recordMany (one INSERT per batch) when it has it, else record per event. */
  events: { record(event: NewEvent): Promise<void>; recordMany?(events: NewEvent[]): Promise<void> };
  peers: SshPeers;
  log: FastifyBaseLogger;
  maxLineBytes: number;
  linesPerSecondPerVm: number;
  /** Drop counts are reported as a 'syslog.dropped' event at most this often per source (default 60 s). */
  dropReportMs?: number;
  /** Events being recorded at once before new ones are dropped (counted as backlog). */
  maxPending?: number;
  now?: () => number;
}

/** The user-mode network's gateway: what a QEMU guest sees as the address of every host-side client. */
export const QEMU_GATEWAY = '10.0.2.2';
const RAW_MAX = 512;
/** Events per write to the event log. */
const BATCH = 1000;
/** dropbear processes remembered per source (pid → client), for lines that do not name the client. */
const PIDS_KEPT = 256;
/** Unattributed network sources tracked at once (each has its own bucket and counters). */
const SOURCES_KEPT = 10_000;

const CODES: Record<AuthOutcome, { code: EventCode; severity: Severity; verb: string }> = {
  failed: { code: 'ssh.login_failed', severity: 'warning', verb: 'failed SSH login' },
  invalid_user: { code: 'ssh.invalid_user', severity: 'warning', verb: 'SSH login for an unknown user' },
  succeeded: { code: 'ssh.login_succeeded', severity: 'info', verb: 'SSH login' },
  preauth: { code: 'ssh.disconnected_preauth', severity: 'info', verb: 'SSH client left before authenticating' },
};

interface SourceState {
  source: Source;
  bucket: TokenBucket;
  counters: IngestCounters;
  /** The counters as of the last drop report. */
  reported: IngestCounters;
  lastReportAt: number;
  reportTimer?: NodeJS.Timeout;
  pids: Map<number, { address: string; port: number }>;
}

const zero = (): IngestCounters => ({ received: 0, events: 0, rateLimited: 0, malformed: 0, oversize: 0, backlog: 0, ignored: 0 });
const drops = (c: IngestCounters) => c.rateLimited + c.malformed + c.oversize + c.backlog;

/**
 * The syslog INGEST: frames from guests → RFC 3164/5424 → sshd/dropbear login lines → security
 * events on the source's VM, through the event log (which publishes them to rules and the feed).
 * Never throws on input: a bad line is counted and dropped, an oversize one cut. Each source has
 * its own token bucket, so one flooding VM only loses its own lines; its drop counts go out as a
 * 'syslog.dropped' event at most once per report interval.
 */
export class SyslogIngest {
  private readonly states = new Map<string, SourceState>();
  private readonly totals = zero();
  /** Events waiting for the next batch, and the size of the batch being written. */
  private queue: NewEvent[] = [];
  private writing = 0;
  private flushing = false;
  private readonly now: () => number;
  private readonly dropReportMs: number;
  private readonly maxPending: number;
  private closed = false;

  constructor(private readonly o: IngestOptions) {
    this.now = o.now ?? Date.now;
    this.dropReportMs = o.dropReportMs ?? 60_000;
    this.maxPending = o.maxPending ?? 50_000;
  }

  /** A reader for one stream (a VM's channel, one TCP connection): feed it chunks as they come. */
  stream(source: Source): (chunk: Buffer) => void {
    const framer = new SyslogFramer(this.o.maxLineBytes);
    return (chunk) => {
      for (const frame of framer.push(chunk)) this.frame(source, frame);
    };
  }

  /** One UDP datagram: one message (a trailing newline is not part of it). */
  datagram(source: Source, msg: Buffer): void {
    let end = msg.length;
    while (end > 0 && (msg[end - 1] === 0x0a || msg[end - 1] === 0x0d || msg[end - 1] === 0)) end--;
    const cut = end > this.o.maxLineBytes;
    this.frame(source, { line: msg.subarray(0, Math.min(end, this.o.maxLineBytes)), cut, bad: false });
  }

  /** Totals and per-source counters (VM id, or the address of an unattributed sender). */
  stats(): { totals: IngestCounters; pending: number; sources: { key: string; vmId: number | null; counters: IngestCounters }[] } {
    return {
      totals: { ...this.totals },
      pending: this.queue.length + this.writing,
      sources: [...this.states.entries()].map(([key, s]) => ({ key, vmId: s.source.vm?.id ?? null, counters: { ...s.counters } })),
    };
  }

  /** Stops the drop-report timers; later input is ignored. */
  close(): void {
    this.closed = true;
    for (const s of this.states.values()) clearTimeout(s.reportTimer);
  }

  /** Forgets a VM's state (its VM was destroyed), after reporting what it dropped. */
  forget(vmId: number): void {
    const key = `vm:${vmId}`;
    const state = this.states.get(key);
    if (!state) return;
    clearTimeout(state.reportTimer);
    this.reportDrops(state);
    this.states.delete(key);
  }

  private frame(source: Source, frame: Frame): void {
    if (this.closed) return;
    const state = this.stateOf(source);
    const now = this.now();
    this.count(state, 'received');
    if (!state.bucket.take(now)) return this.drop(state, 'rateLimited', now);
    if (frame.bad) return this.drop(state, 'malformed', now);
    if (frame.cut) this.drop(state, 'oversize', now);
    try {
      this.process(state, frame.line.toString('utf8'), now);
    } catch (err) {
      // A parser bug must cost one line, never the stream.
      this.o.log.warn({ err }, 'syslog ingest: a line could not be processed');
      this.drop(state, 'malformed', now);
    }
  }

  private process(state: SourceState, text: string, now: number): void {
    const msg = parseSyslog(text);
    if (!msg) return this.drop(state, 'malformed', now);
    const auth = parseAuthLine(msg.app, msg.msg);
    if (!auth) return this.count(state, 'ignored');
    if (auth.outcome === 'connection') {
      if (msg.pid !== null) remember(state.pids, msg.pid, auth);
      return this.count(state, 'ignored');
    }
    // dropbear names the client in some lines only: the rest belong to the process that did.
    let { address, port } = auth;
    if (address === null && msg.pid !== null) ({ address, port } = state.pids.get(msg.pid) ?? { address: null, port: null });
    if (auth.outcome === 'preauth' && msg.pid !== null) state.pids.delete(msg.pid);
    this.record(state, { ...auth, address, port }, text, msg.hostname, msg.app);
  }

  private record(state: SourceState, auth: AuthLine, raw: string, hostname: string | null, app: string | null): void {
    if (this.queue.length + this.writing >= this.maxPending) return this.drop(state, 'backlog', this.now());
    const { source } = state;
    const vm = source.vm;
    const guestAddress = auth.address === null ? null : auth.address.includes(':') ? `[${auth.address}]:${auth.port}` : `${auth.address}:${auth.port}`;
    // Behind QEMU's user network every host-side client shows as 10.0.2.2: the SSH gateway knows who it really was.
    let sourceIp = auth.address;
    let clientPort = auth.port;
    let via = source.kind === 'channel' ? 'guest' : source.transport;
    let ours = false;
    if (source.kind === 'channel' && auth.address === QEMU_GATEWAY && auth.port !== null) {
      const peer = this.o.peers.lookup(source.vm.id, auth.port);
      if (peer) {
        sourceIp = peer.address;
        clientPort = peer.port ?? auth.port;
        via = peer.via;
        ours = peer.ours;
      } else {
        sourceIp = '127.0.0.1';
        via = 'host';
      }
    }
    const kind = CODES[auth.outcome];
    const who = auth.user === null ? '' : ` as '${auth.user.slice(0, 64)}'`;
    const event: NewEvent = {
      type: 'security',
      severity: kind.severity,
      action: kind.code,
      message: `${capitalize(kind.verb)}${who} on ${vm ? `VM ${vm.id}` : `an unknown host (${source.kind === 'network' ? source.address : '?'})`}${sourceIp ? ` from ${sourceIp}` : ''}`,
      userId: vm?.userId ?? null,
      vmId: vm?.id ?? null,
      sourceIp,
      details: {
        user: auth.user,
        method: auth.method,
        client_port: clientPort,
        guest_address: guestAddress,
        via,
        ours,
        channel: source.kind === 'channel' ? source.name : `${source.transport}:${source.address}`,
        attributed: vm !== null,
        hostname,
        program: app,
        raw: raw.length > RAW_MAX ? raw.slice(0, RAW_MAX) : raw,
      },
    };
    this.count(state, 'events');
    this.queue.push(event);
    if (!this.flushing) {
      this.flushing = true;
      // After the lines already read in this turn of the event loop: they go in the same batch.
      setImmediate(() => void this.flush());
    }
  }

  /** Writes the queue in batches, one at a time (a slow database gathers bigger batches, not more writers). */
  private async flush(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue.splice(0, BATCH);
      this.writing = batch.length;
      try {
        if (this.o.events.recordMany) await this.o.events.recordMany(batch);
        else await Promise.all(batch.map((e) => this.o.events.record(e)));
      } catch (err) {
        this.o.log.error({ err, events: batch.length }, 'syslog ingest: a batch of events could not be recorded');
      }
      this.writing = 0;
    }
    this.flushing = false;
  }

  private stateOf(source: Source): SourceState {
    const key = source.vm ? `vm:${source.vm.id}` : `addr:${source.kind === 'network' ? source.address : '?'}`;
    let state = this.states.get(key);
    if (!state) {
      if (!source.vm && this.states.size >= SOURCES_KEPT) this.evictUnattributed();
      const rate = this.o.linesPerSecondPerVm;
      // A burst of two seconds' worth: a login storm's lines arrive together.
      state = { source, bucket: new TokenBucket(rate, Math.max(10, rate * 2), this.now()), counters: zero(), reported: zero(), lastReportAt: -Infinity, pids: new Map() };
      this.states.set(key, state);
    } else if (source.vm) state.source = source; // the newest channel's name
    return state;
  }

  private evictUnattributed(): void {
    for (const [key, s] of this.states) {
      if (s.source.vm) continue;
      clearTimeout(s.reportTimer);
      this.states.delete(key);
      return;
    }
  }

  private count(state: SourceState, what: keyof IngestCounters): void {
    state.counters[what]++;
    this.totals[what]++;
  }

  private drop(state: SourceState, what: 'rateLimited' | 'malformed' | 'oversize' | 'backlog', now: number): void {
    this.count(state, what);
    if (state.reportTimer) return;
    const wait = Math.max(0, state.lastReportAt + this.dropReportMs - now);
    state.reportTimer = setTimeout(() => {
      state.reportTimer = undefined;
      this.reportDrops(state);
    }, wait);
    state.reportTimer.unref();
  }

  /** One 'syslog.dropped' event with what this source lost since the last report. */
  private reportDrops(state: SourceState): void {
    const c = state.counters;
    const last = state.reported;
    const total = drops(c) - drops(last);
    if (total === 0 || this.closed) return;
    state.reported = { ...c };
    state.lastReportAt = this.now();
    const { source } = state;
    const delta = { rate_limited: c.rateLimited - last.rateLimited, malformed: c.malformed - last.malformed, oversize: c.oversize - last.oversize, backlog: c.backlog - last.backlog };
    const where = source.vm ? `VM ${source.vm.id}` : `unattributed sender ${source.kind === 'network' ? source.address : '?'}`;
    void this.o.events.record({
      type: 'system',
      severity: 'warning',
      action: 'syslog.dropped',
      message: `Syslog from ${where}: ${total} line(s) dropped or cut (${delta.rate_limited} over the rate limit, ${delta.malformed} malformed, ${delta.oversize} oversize, ${delta.backlog} backlog)`,
      userId: source.vm?.userId ?? null,
      vmId: source.vm?.id ?? null,
      sourceIp: source.kind === 'network' ? source.address : null,
      details: { ...delta, channel: source.kind === 'channel' ? source.name : `${source.transport}:${source.address}`, totals: { ...c } },
    });
  }
}

function remember(pids: Map<number, { address: string; port: number }>, pid: number, at: { address: string; port: number }): void {
  pids.delete(pid);
  pids.set(pid, { address: at.address, port: at.port });
  if (pids.size > PIDS_KEPT) pids.delete(pids.keys().next().value!);
}

const capitalize = (s: string) => s[0]!.toUpperCase() + s.slice(1);
