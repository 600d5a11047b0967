import { mkdir } from 'node:fs/promises';
import type { WebSocket } from 'ws';
import { TERMINAL_CLOSE_CODES, type TerminalServerMessage } from '@twarga/contract';
import { hasSerialConsole } from '../../compute/driver.js';
import { instanceId } from '../../compute/driver.js';
import { internalSshEndpointOf } from '../vms/vm-view.js';
import type { TerminalBackend } from './backend.js';
import { LiveSession, type SessionOutcome } from './live-session.js';
import { AsciicastRecorder } from './recorder.js';
import { SerialHubs } from './serial-hub.js';
import { HostKeyMismatch, openSshShell } from './ssh-shell.js';
import type { TerminalDeps } from './terminal.service.js';
import type { TicketGrant } from './tickets.js';

/** How much of the serial log a new viewer sees first (the boot log, earlier output). */
const SCROLLBACK_BYTES = 64 * 1024;
const SSH_TIMEOUT_MS = 15_000;

/** Turns a redeemed ticket into a live session (row, recording, backend) and writes it down at the end. */
export class SessionOpener {
  private readonly hubs = new SerialHubs();

  constructor(
    private readonly d: TerminalDeps,
    private readonly onEnd: (session: LiveSession, outcome: SessionOutcome) => void,
  ) {}

  async open(grant: TicketGrant, ws: WebSocket, sourceIp: string, register: (s: LiveSession) => void): Promise<void> {
    const { d } = this;
    const { access } = grant;
    // The login behind the ticket, and the right to this VM, may have gone since it was issued.
    if (!(await access.check())) {
      await d.events.record({
        type: 'security', severity: 'warning', action: 'terminal.denied', message: `Terminal refused: ${access.revoked!.message}`,
        userId: grant.userId, vmId: grant.vmId, sourceIp, details: { reason: 'access_revoked', cause: access.revoked!.cause },
      });
      refuse(ws, 'access_revoked', access.revoked!.message, TERMINAL_CLOSE_CODES.accessRevoked);
      return;
    }
    // The VM may have stopped since the ticket was issued.
    const vm = await d.vms.find(grant.vmId);
    if (!vm || vm.destroyed_at || vm.status !== 'running') {
      access.stop();
      refuse(ws, 'vm_not_running', `the VM is ${vm?.status ?? 'gone'}`, TERMINAL_CLOSE_CODES.vmStopped);
      return;
    }
    const startedAt = d.clock.now();
    const id = await d.sessions.insert({
      vm_id: vm.id, user_id: grant.userId, kind: grant.kind, source_ip: sourceIp, cols: grant.cols, rows: grant.rows,
      started_at: startedAt.toISOString(), ended_at: null, end_reason: null, recording_deleted_at: null, process_id: d.cluster.self,
    });
    if (grant.kind === 'serial' && (await this.serialHeldElsewhere(vm.id, id, ws))) {
      access.stop();
      return;
    }
    await mkdir(d.policy.recordingsDir, { recursive: true, mode: 0o700 });
    const recorder = new AsciicastRecorder(this.recordingPath(id), {
      width: grant.cols, height: grant.rows, timestamp: Math.floor(startedAt.getTime() / 1000),
      title: `${vm.name} ${grant.kind} #${id}`, maxBytes: d.policy.recordingMaxBytes,
    });
    const session = new LiveSession(
      { id, vmId: vm.id, userId: grant.userId, kind: grant.kind, cols: grant.cols, rows: grant.rows, startedAt },
      ws, recorder, { idleMs: d.policy.idleSeconds * 1000, maxMs: d.policy.maxSeconds * 1000 },
      (s, outcome) => {
        access.stop();
        this.onEnd(s, outcome);
      },
    );
    register(session);
    // Ends the session the moment its login or right goes (at once if it went while this opened).
    access.onRevoked((r) => session.end('access_revoked', r.message));
    await d.events.record({
      type: 'terminal', action: 'terminal.session_started', message: `${grant.kind} terminal #${id} opened on VM ${vm.name}`,
      userId: grant.userId, vmId: vm.id, sourceIp, details: { session_id: id, kind: grant.kind },
    });
    const ready = (scrollback: number): TerminalServerMessage => ({
      type: 'ready', session_id: id, vm_id: vm.id, kind: grant.kind, idle_timeout_seconds: d.policy.idleSeconds,
      max_duration_seconds: d.policy.maxSeconds, scrollback_bytes: scrollback,
    });
    try {
      if (grant.kind === 'serial') {
        const driver = await d.drivers.forVm(vm);
        if (!hasSerialConsole(driver)) throw new Error('this driver has no serial console');
        const backend = await this.hubs.attach(driver, instanceId(vm.id), session);
        const scrollback = await driver.serialScrollback(instanceId(vm.id), SCROLLBACK_BYTES);
        session.connect(backend, ready(scrollback.length), scrollback);
      } else {
        // Straight to the VM (never through the SSH gateway), labelled as ours for the SOC.
        const { host, port } = internalSshEndpointOf(vm);
        session.connect(await this.openSsh(vm.id, host, port!, vm.ssh_user, grant, session, sourceIp), ready(0));
      }
    } catch (err) {
      session.end('backend_error', `could not reach the VM: ${backendFailure(grant.kind, err as NodeJS.ErrnoException)}`);
    }
  }

  private async openSsh(vmId: number, host: string, port: number, username: string, grant: TicketGrant, session: LiveSession, sourceIp: string): Promise<TerminalBackend> {
    const key = await this.d.consoleKeys.privateKey(vmId);
    if (!key) throw new Error('the VM has no console key');
    try {
      const { backend, hostKey } = await openSshShell(
        {
          host, port, username, privateKey: key.privateKey, expectedHostKey: key.hostKeySha256, cols: grant.cols, rows: grant.rows, timeoutMs: SSH_TIMEOUT_MS,
          own: this.d.ownConnections && { vmId, registry: this.d.ownConnections },
        },
        session,
      );
      if (!key.hostKeySha256) await this.d.consoleKeys.pinHostKey(vmId, hostKey);
      return backend;
    } catch (err) {
      if (err instanceof HostKeyMismatch)
        await this.d.events.record({
          type: 'security', severity: 'critical', action: 'terminal.host_key_changed', message: err.message,
          userId: grant.userId, vmId, sourceIp, details: { seen: err.seen, pinned: key.hostKeySha256 },
        });
      throw err;
    }
  }

  /**
   * QEMU's console socket takes one client and queues the next without a word, and a PTY read by
   * two processes splits the output: a second process cannot share a console another one holds
   * (its viewers share it through that process's hub). Refused with the reason, never a silent hang.
   */
  private async serialHeldElsewhere(vmId: number, sessionId: number, ws: WebSocket): Promise<boolean> {
    const { cluster, sessions, clock } = this.d;
    const holder = await sessions.serialHolderOtherThan(vmId, cluster.self, await cluster.alive(), sessionId);
    if (!holder) return false;
    await sessions.update(sessionId, { ended_at: clock.now().toISOString(), end_reason: 'backend_error' });
    refuse(
      ws, 'console_busy',
      `the VM's serial console is open in another server process (${holder}), and a serial console takes one connection: ` +
        'close the other serial terminal or use SSH, or reach this site through the same server process',
      TERMINAL_CLOSE_CODES.backendError,
    );
    return true;
  }

  recordingPath(id: number): string {
    return `${this.d.policy.recordingsDir}/${id}.cast`;
  }

  /** Writes the session's end: its row, its recording's size, and the event. */
  async finalize(session: LiveSession, outcome: SessionOutcome): Promise<void> {
    const { info } = session;
    const recorder = session.recorder;
    await recorder?.close();
    const endedAt = this.d.clock.now();
    await this.d.sessions.update(info.id, {
      ended_at: endedAt.toISOString(), end_reason: outcome.reason, bytes_in: outcome.bytesIn, bytes_out: outcome.bytesOut,
      cols: outcome.cols, rows: outcome.rows, recording_bytes: recorder?.size ?? 0, recording_truncated: recorder?.truncated ? 1 : 0,
    });
    const timedOut = outcome.reason === 'idle_timeout' || outcome.reason === 'max_duration';
    const revoked = outcome.reason === 'access_revoked';
    const seconds = Math.round((endedAt.getTime() - info.startedAt.getTime()) / 1000);
    await this.d.events.record({
      type: revoked ? 'security' : 'terminal', severity: outcome.reason === 'backend_error' || revoked ? 'warning' : 'info',
      action: timedOut ? 'terminal.session_timed_out' : revoked ? 'terminal.session_revoked' : 'terminal.session_ended',
      message: `${info.kind} terminal #${info.id} ended after ${seconds} s: ${outcome.message}`,
      userId: info.userId, vmId: info.vmId, details: { session_id: info.id, kind: info.kind, reason: outcome.reason, seconds, bytes_in: outcome.bytesIn, bytes_out: outcome.bytesOut },
    });
  }
}

/** Why the backend failed, for the user; a console socket missing here means the VM runs on another machine. */
function backendFailure(kind: TicketGrant['kind'], err: NodeJS.ErrnoException): string {
  if (kind === 'serial' && err.code === 'ENOENT')
    return (
      `its serial console is not on this server's machine (${err.message}): ` +
      "QEMU's console socket is local to the machine whose data directory holds the VM; use SSH"
    );
  return err.message;
}

/** Refuses a socket before any session exists: an error message, then the close code. */
export function refuse(ws: WebSocket, code: string, message: string, closeCode: number): void {
  if (ws.readyState !== ws.OPEN) return;
  // The gateway pauses the socket after the first frame; the close handshake needs it reading.
  ws.resume();
  ws.send(JSON.stringify({ type: 'error', code, message } satisfies TerminalServerMessage));
  ws.close(closeCode, code);
}
