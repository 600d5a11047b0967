import { rm } from 'node:fs/promises';
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import {
  TERMINAL_PROTOCOL,
  TERMINAL_WEBSOCKET_PATH,
  type StartTerminalRequest,
  type TerminalEndReason,
  type TerminalSession,
  type TerminalTicket,
  type VmTerminalSessions,
} from '@twarga/contract';
import { hasSerialConsole } from '../../compute/driver.js';
import type { ComputeRegistry } from '../../compute/registry.js';
import { AppError, notFound } from '../../http/errors.js';
import type { Clock } from '../../lib/time.js';
import { Periodic } from '../../lib/periodic.js';
import type { LiveBus } from '../../operations/live-bus.js';
import type { Identity } from '../auth/identity.js';
import type { AccessWatch, LiveAccess } from '../auth/live-access.js';
import type { ExclusiveLock } from '../../lib/cluster-lock.js';
import type { ClusterSignals } from '../../lib/cluster-signals.js';
import type { EventLog } from '../events/event-log.js';
import type { VmRow, VmsRepository } from '../vms/vms.repository.js';
import { sshEndpointOf } from '../vms/vm-view.js';
import type { ConsoleKeys } from './console-keys.js';
import { LiveSession, type SessionOutcome } from './live-session.js';
import { SessionOpener } from './session-opener.js';
import type { TerminalSessionRow, TerminalSessionsRepository } from './terminal-sessions.repository.js';
import type { OwnConnectionRegistry } from '../../lib/own-connection.js';
import { toTerminalSession } from './terminal-view.js';
import { TerminalTickets, type TicketGrant } from './tickets.js';
import type { TicketsRepository } from './tickets.repository.js';

export interface TerminalPolicy {
  idleSeconds: number;
  maxSeconds: number;
  ticketSeconds: number;
  maxSessionsPerUser: number;
  recordingsDir: string;
  recordingMaxBytes: number;
  recordingRetentionDays: number;
  sshHost: string;
}

export interface TerminalDeps {
  sessions: TerminalSessionsRepository;
  tickets: TicketsRepository;
  /** Serializes ticket admissions (count, then issue) across server processes. */
  admission: ExclusiveLock;
  /**
   * This server process and those alive on the database (sessions and consoles are held by one),
   * and how to ask the others to end a session they hold.
   */
  cluster: { self: string; alive: () => Promise<string[]>; signals: ClusterSignals };
  vms: VmsRepository;
  consoleKeys: ConsoleKeys;
  drivers: ComputeRegistry;
  events: EventLog;
  bus: LiveBus;
  clock: Clock;
  log: FastifyBaseLogger;
  policy: TerminalPolicy;
  /** Ends tickets and sessions whose login or right to the VM goes away. */
  access: LiveAccess;
  /** The SOC's register of our own SSH connections (the SSH terminal is never an attack). */
  ownConnections?: OwnConnectionRegistry;
}

/** The signal asking the process that holds them to end sessions (one by id, or all of a VM's). */
const END_SESSIONS = 'terminal.end';
interface EndSessions {
  sessionId?: number;
  vmId?: number;
  reason: TerminalEndReason;
  message: string;
}
/** How long ending a session another process holds waits for it to be written down. */
const REMOTE_END_WAIT_MS = 3_000;

/** Statuses during which a terminal stays open (a reboot keeps the serial line). */
const KEEPS_TERMINAL = new Set(['running', 'rebooting']);

/**
 * The rules of the browser terminal: who may open one (the VM's owner or an admin, VM running),
 * single-use tickets, the live sessions and their end, recordings and their retention.
 */
export class TerminalService {
  readonly tickets: TerminalTickets;
  private readonly live = new Map<number, LiveSession>();
  private readonly guards = new Map<number, AccessWatch>();
  private readonly finishing = new Set<Promise<void>>();
  private readonly opener: SessionOpener;
  private readonly retention: Periodic;
  private unsubscribe?: () => void;
  private unsubscribeSignals?: () => void;

  constructor(private readonly d: TerminalDeps) {
    this.tickets = new TerminalTickets({ repo: d.tickets, access: d.access, right: (fresh, vmId) => this.mayUse(fresh, vmId), ttlMs: d.policy.ticketSeconds * 1000, clock: d.clock });
    this.opener = new SessionOpener(d, (session, outcome) => this.finish(session, outcome));
    this.retention = new Periodic('terminal housekeeping', () => this.housekeeping(), d.log);
  }

  private get limits() {
    return { idleSeconds: this.d.policy.idleSeconds, maxSeconds: this.d.policy.maxSeconds };
  }

  async issueTicket(identity: Identity, vmId: number, body: StartTerminalRequest, sourceIp: string): Promise<TerminalTicket> {
    const vm = await this.visibleVm(identity, vmId, sourceIp);
    const kind = body.kind ?? 'serial';
    if (!KEEPS_TERMINAL.has(vm.status) || vm.destroyed_at) throw new AppError(409, 'vm_not_running', `VM ${vm.name} is ${vm.status}: start it to open a terminal`);
    const driver = await this.d.drivers.forVm(vm);
    if (kind === 'serial' && !hasSerialConsole(driver))
      throw new AppError(409, 'console_unavailable', `VM ${vm.name}'s host gives this server no serial console (a remote libvirt host, or Vagrant with VirtualBox): use SSH`);
    if (kind === 'ssh' && (!sshEndpointOf(vm, this.d.policy.sshHost).port || !(await this.d.consoleKeys.privateKey(vm.id))))
      throw new AppError(409, 'console_unavailable', `VM ${vm.name} has no console key (created before the browser terminal existed): use the serial console`);
    const userId = identity.user.id;
    // Sessions and tickets of every server process count: admissions are serialized in the database.
    const { ticket, expiresAt } = await this.d.admission.runExclusive(async () => {
      const open = (await this.d.sessions.countOpen(userId, await this.d.cluster.alive())) + (await this.tickets.pending(userId));
      if (open >= this.d.policy.maxSessionsPerUser)
        throw new AppError(429, 'too_many_sessions', `you already have ${open} terminal sessions open (limit ${this.d.policy.maxSessionsPerUser})`);
      const { credentialHash, via } = identity;
      return this.tickets.issue({ userId, credentialHash, via, vmId: vm.id, kind, cols: body.cols ?? 80, rows: body.rows ?? 24, sourceIp });
    });
    return { ticket, expires_at: expiresAt.toISOString(), websocket_path: TERMINAL_WEBSOCKET_PATH, protocol: TERMINAL_PROTOCOL, vm_id: vm.id, kind };
  }

  /** Opens the session a redeemed ticket grants (the gateway has checked origin and ticket). */
  begin(grant: TicketGrant, ws: WebSocket, sourceIp: string): Promise<void> {
    const register = (session: LiveSession) => {
      this.live.set(session.info.id, session);
      this.guards.set(session.info.id, grant.access);
    };
    return this.opener.open(grant, ws, sourceIp, register).catch((err: unknown) => {
      grant.access.stop();
      throw err;
    });
  }

  /**
   * The right a terminal rests on, checked again on every change to its user and VM: the VM's
   * owner, or an administrator. Generic on purpose: once VMs can change hands, a session of the
   * old owner ends at the next check (any VM event triggers one, see start()).
   */
  private async mayUse(identity: Identity, vmId: number): Promise<string | undefined> {
    const vm = await this.d.vms.find(vmId);
    if (!vm) return 'the VM no longer exists';
    if (vm.user_id === identity.user.id || identity.user.is_admin) return undefined;
    return `you no longer have access to VM ${vm.name}: it is not yours and you are not an administrator`;
  }

  /** Live sessions on every server process (their byte counts are live for this process's own). */
  async listLive(identity: Identity): Promise<TerminalSession[]> {
    const rows = await this.d.sessions.openOn(await this.d.cluster.alive());
    const visible = await this.filterVisible(identity, rows);
    return visible.map((r) => this.liveView(r));
  }

  async forVm(identity: Identity, vmId: number): Promise<VmTerminalSessions> {
    const vm = await this.visibleVm(identity, vmId);
    const active = (await this.d.sessions.openOn(await this.d.cluster.alive(), vm.id)).map((r) => this.liveView(r));
    const recent = (await this.d.sessions.recentForVm(vm.id, 50)).map((r) => toTerminalSession(r, false, this.limits));
    return { vm_id: vm.id, active, recent };
  }

  private liveView(row: TerminalSessionRow): TerminalSession {
    const traffic = this.live.get(row.id)?.traffic;
    const view = toTerminalSession(row, true, this.limits);
    return traffic ? { ...view, bytes_in: traffic.bytesIn, bytes_out: traffic.bytesOut } : view;
  }

  /** Ends every live session on the VM (the VM's owner or an admin). */
  async stopForVm(identity: Identity, vmId: number, sourceIp: string): Promise<number> {
    const vm = await this.visibleVm(identity, vmId, sourceIp);
    const reason: TerminalEndReason = vm.user_id === identity.user.id ? 'ended_by_user' : 'ended_by_admin';
    const open = await this.d.sessions.openOn(await this.d.cluster.alive(), vm.id);
    const elsewhere = open.filter((r) => !this.live.has(r.id));
    if (elsewhere.length) this.d.cluster.signals.send(END_SESSIONS, { vmId: vm.id, reason, message: this.endMessage(identity, reason) } satisfies EndSessions);
    for (const row of open) this.endBy(identity, row, reason, sourceIp);
    await this.settled();
    await this.endedElsewhere(elsewhere.map((r) => r.id));
    return open.length;
  }

  /** Ends one live session, on whichever server process holds it. */
  async endSession(identity: Identity, sessionId: number, sourceIp: string): Promise<void> {
    const row = await this.d.sessions.find(sessionId);
    const live = row && !row.ended_at && row.process_id !== null && (this.live.has(sessionId) || (await this.d.cluster.alive()).includes(row.process_id));
    if (!row || !live || !(await this.filterVisible(identity, [row])).length) throw notFound('Live terminal session');
    const own = row.user_id === identity.user.id || (await this.d.vms.find(row.vm_id))?.user_id === identity.user.id;
    const reason: TerminalEndReason = own ? 'ended_by_user' : 'ended_by_admin';
    if (!this.live.has(sessionId)) this.d.cluster.signals.send(END_SESSIONS, { sessionId, reason, message: this.endMessage(identity, reason) } satisfies EndSessions);
    this.endBy(identity, row, reason, sourceIp);
    await this.settled();
    await this.endedElsewhere(this.live.has(sessionId) ? [] : [sessionId]);
  }

  /** Waits (briefly) until the processes holding these sessions have written their end. */
  private async endedElsewhere(ids: number[]): Promise<void> {
    for (const end = Date.now() + REMOTE_END_WAIT_MS; ids.length && Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
      const rows = await this.d.sessions.findMany(ids);
      if (rows.every((r) => r.ended_at !== null)) return;
    }
  }

  /** Ends what another process asked to end, if this process holds it. */
  private endAsked(asked: EndSessions): void {
    for (const s of this.live.values()) {
      if (s.info.id === asked.sessionId || s.info.vmId === asked.vmId) s.end(asked.reason, asked.message);
    }
  }

  /** The recording's path, for the owner of the session or the VM, or an admin. */
  async recordingFile(identity: Identity, sessionId: number): Promise<string> {
    const row = await this.d.sessions.find(sessionId);
    if (!row || !(await this.filterVisible(identity, [row])).length) throw notFound('Recording');
    if (this.live.has(sessionId)) throw new AppError(409, 'conflict', 'the session is still live: its recording is available once it ends');
    if (row.recording_deleted_at || Number(row.recording_bytes) === 0) throw notFound('Recording');
    return this.recordingPath(sessionId);
  }

  recordingPath(sessionId: number): string {
    return this.opener.recordingPath(sessionId);
  }

  /** At start: follow VM status; then every 6 hours close what a crashed process left open and prune old recordings. */
  async start(): Promise<void> {
    this.unsubscribeSignals = this.d.cluster.signals.on<EndSessions>(END_SESSIONS, (asked) => this.endAsked(asked));
    // Cluster-wide: a VM stopped or destroyed through another server process ends its terminals here too.
    this.unsubscribe = this.d.bus.subscribeCluster(({ event }) => {
      if (event.kind !== 'vm') return;
      const onVm = [...this.live.values()].filter((s) => s.info.vmId === event.vm.id);
      if (!KEEPS_TERMINAL.has(event.vm.status)) for (const s of onVm) s.end('vm_stopped', `the VM is ${event.vm.status}`);
      // Whatever changed about the VM (its owner, one day), each session's right is checked again.
      else for (const s of onVm) void this.guards.get(s.info.id)?.check();
    });
    await this.retention.run();
    this.retention.start(6 * 3_600_000);
  }

  private async housekeeping(): Promise<void> {
    // Only sessions of processes no longer alive: the others' are theirs to end.
    const abandoned = await this.d.sessions.closeAbandoned(this.d.clock.now().toISOString(), await this.d.cluster.alive());
    if (abandoned) this.d.log.info({ abandoned }, 'terminal sessions left open by a server process that stopped marked ended');
    await this.pruneRecordings();
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribeSignals?.();
    this.tickets.close();
    this.retention.stop();
    for (const s of this.live.values()) s.end('server_shutdown', 'the server is shutting down');
    await this.settled();
  }

  /** Resolves once every ended session is written down (row, recording, event). */
  async settled(): Promise<void> {
    while (this.finishing.size) await Promise.allSettled([...this.finishing]);
  }

  async pruneRecordings(): Promise<void> {
    const cutoff = new Date(this.d.clock.now().getTime() - this.d.policy.recordingRetentionDays * 86_400_000).toISOString();
    const expired = await this.d.sessions.expiredRecordings(cutoff);
    for (const { id } of expired) {
      await rm(this.recordingPath(id), { force: true });
      await this.d.sessions.update(id, { recording_deleted_at: this.d.clock.now().toISOString() });
    }
    if (expired.length) this.d.log.info({ removed: expired.length }, 'old terminal recordings removed');
  }

  private endMessage(identity: Identity, reason: TerminalEndReason): string {
    return reason === 'ended_by_admin' ? `ended by administrator ${identity.user.username}` : `ended by ${identity.user.username}`;
  }

  /** Ends the session if this process holds it (another's was asked by signal) and audits an admin's end. */
  private endBy(identity: Identity, row: TerminalSessionRow, reason: TerminalEndReason, sourceIp: string): void {
    this.live.get(row.id)?.end(reason, this.endMessage(identity, reason));
    if (reason === 'ended_by_admin')
      void this.d.events.record({
        type: 'admin', severity: 'warning', action: 'admin.terminal_ended', message: `${identity.user.username} ended terminal session #${row.id}`,
        userId: identity.user.id, username: identity.user.username, vmId: row.vm_id, sourceIp, details: { session_id: row.id, session_user_id: row.user_id },
      });
  }

  private finish(session: LiveSession, outcome: SessionOutcome): void {
    this.live.delete(session.info.id);
    this.guards.delete(session.info.id);
    const p = this.opener.finalize(session, outcome).finally(() => this.finishing.delete(p));
    this.finishing.add(p);
  }

  /** The VM if the caller owns it or is an admin; a 404 (and a security event) otherwise. */
  private async visibleVm(identity: Identity, vmId: number, sourceIp?: string): Promise<VmRow> {
    const vm = await this.d.vms.find(vmId);
    if (vm && !vm.destroyed_at && (vm.user_id === identity.user.id || identity.user.is_admin)) return vm;
    if (vm && sourceIp && vm.user_id !== identity.user.id)
      await this.d.events.record({
        type: 'security', severity: 'warning', action: 'terminal.denied', message: `${identity.user.username} asked for a terminal on someone else's VM #${vmId}`,
        userId: identity.user.id, username: identity.user.username, vmId, sourceIp, details: { reason: 'not_owner' },
      });
    throw notFound('VM');
  }

  private async filterVisible<T extends { user_id: number; vm_id: number }>(identity: Identity, rows: T[]): Promise<T[]> {
    if (identity.user.is_admin) return rows;
    const out: T[] = [];
    for (const r of rows) if (r.user_id === identity.user.id || (await this.d.vms.find(r.vm_id))?.user_id === identity.user.id) out.push(r);
    return out;
  }
}
