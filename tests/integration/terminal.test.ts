import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { ApiClient, ApiError, TERMINAL_CLOSE_CODES, type Vm } from '@twarga/contract';
import { waitForSshBanner } from '../../apps/server/src/test-support/ssh.js';
import { killQemusUnder } from '../support/qemu.js';
import { startServer } from '../support/server.js';
import { until } from '../support/until.js';
import { TerminalClient } from '../support/terminal.js';

const IDLE_SECONDS = 6;
const TICKET_SECONDS = 3;

/** Parses an asciicast v2 file strictly: header, then [time, code, data] events in time order. */
function parseAsciicast(text: string) {
  const [headerLine, ...lines] = text.trimEnd().split('\n');
  const header = JSON.parse(headerLine!) as { version: number; width: number; height: number; timestamp: number };
  let last = 0;
  const events = lines.map((l) => {
    const e = JSON.parse(l) as [number, string, string];
    assert.equal(e.length, 3);
    assert.ok(typeof e[0] === 'number' && e[0] >= last, `event times never go back (${e[0]} after ${last})`);
    assert.ok(['o', 'r', 'm', 'i'].includes(e[1]), `known event code ${e[1]}`);
    assert.equal(typeof e[2], 'string');
    last = e[0];
    return e;
  });
  return { header, events, output: events.filter((e) => e[1] === 'o').map((e) => e[2]).join('') };
}

/** The browser terminal against a real tiny VM (QEMU, software emulation) and the built server. */
describe('browser terminal: serial console and SSH to a real VM', () => {
  let dataDir: string;
  let server: Awaited<ReturnType<typeof startServer>>;
  let owner: ApiClient;
  let other: ApiClient;
  let otherToken: string;
  let vm: Vm;
  const marker = randomBytes(4).toString('hex');
  const origin = () => server.base;

  const events = (action: string) => {
    const db = new Database(path.join(dataDir, 'twarga.db'), { readonly: true });
    try {
      return db.prepare('SELECT * FROM events WHERE action = ? ORDER BY id').all(action) as { user_id: number; vm_id: number; source_ip: string; details: string }[];
    } finally {
      db.close();
    }
  };
  const open = async (kind: 'serial' | 'ssh', size?: { cols: number; rows: number }) => {
    const { ticket } = await owner.terminal.start(vm.id, { kind, ...size });
    const t = await TerminalClient.connect(server.base, ticket, { origin: origin() });
    await t.ready();
    return t;
  };
  /** Types a command and waits until what it prints shows up after the echo of the command. */
  const run = async (t: TerminalClient, command: string, expect: RegExp) => {
    const from = t.output.length;
    t.type(command + '\r');
    return t.until(`${command} → ${expect}`, () => expect.exec(t.since(from))?.[0]);
  };

  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-term-'));
    server = await startServer({
      TWARGA_DATA_DIR: dataDir, TWARGA_ADMIN_PASSWORD: 'terminal-admin-pw', TWARGA_ACCEL: 'tcg', TWARGA_SSH_PORTS: '23700-23749',
      TWARGA_TERMINAL_IDLE_SECONDS: String(IDLE_SECONDS), TWARGA_TERMINAL_TICKET_SECONDS: String(TICKET_SECONDS),
    });
    const anon = new ApiClient({ baseUrl: server.base });
    for (const u of ['termowner', 'termother']) await anon.auth.register({ username: u, email: `${u}@example.com`, password: 'correct horse battery' });
    owner = new ApiClient({ baseUrl: server.base, token: (await anon.auth.login('termowner', 'correct horse battery')).access_token });
    otherToken = (await anon.auth.login('termother', 'correct horse battery')).access_token;
    other = new ApiClient({ baseUrl: server.base, token: otherToken });
    const created = await owner.vms.create({ name: 'term-vm', image: 'tiny', size: 's-1vcpu-256mb' });
    vm = await until('VM running', async () => {
      const v = await owner.vms.get(created.id);
      if (v.status === 'error') throw new Error(`VM error: ${v.error}`);
      return v.status === 'running' && !v.locked ? v : undefined;
    });
    await waitForSshBanner(vm.ssh_port!, 120_000);
  });

  after(async () => {
    await server?.stop();
    killQemusUnder(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('serial console: the boot log comes first, a command typed runs in the guest, two viewers share it', async () => {
    const first = await open('serial');
    const ready = first.messages[0];
    assert.ok(ready?.type === 'ready' && ready.scrollback_bytes > 0, 'scrollback of the serial log is replayed');
    await first.until('boot log in scrollback', () => first.output.includes('Linux version'));
    await run(first, "", /# /);
    const hello = await run(first, `echo hello-${marker}`, new RegExp(`\\r\\nhello-${marker}\\r\\n`));
    assert.ok(hello);

    const second = await open('serial');
    const from = second.output.length;
    await run(first, `echo both-${marker}`, new RegExp(`\\r\\nboth-${marker}\\r\\n`));
    await second.until('the second viewer sees the first one’s command', () => second.since(from).includes(`\r\nboth-${marker}\r\n`));
    // …and the first sees what the second types.
    const from1 = first.output.length;
    await run(second, `echo back-${marker}`, new RegExp(`\\r\\nback-${marker}\\r\\n`));
    await first.until('the first viewer sees the second one’s command', () => first.since(from1).includes(`\r\nback-${marker}\r\n`));
    first.close();
    second.close();
    await first.closed();
  });

  test('SSH: a PTY as the VM user with the server-held key; resize changes stty size', async () => {
    const t = await open('ssh', { cols: 80, rows: 24 });
    assert.match(await run(t, 'uname -a', /Linux \S+ .*\r\n/), /Linux term-vm /);
    assert.ok(await run(t, 'stty size', /\r\n24 80\r\n/));
    t.resize(120, 40);
    assert.ok(await run(t, 'stty size', /\r\n40 120\r\n/));
    t.type('exit\r');
    const { code, last } = await t.closed();
    assert.equal(code, TERMINAL_CLOSE_CODES.normal);
    assert.ok(last?.type === 'exit' && last.reason === 'exited' && last.exit_code === 0, JSON.stringify(last));
  });

  test('refused: another user (404 at start, 4401 with their cookie), reused, expired, unknown ticket, wrong Origin', async () => {
    await assert.rejects(other.terminal.start(vm.id, { kind: 'serial' }), (e: ApiError) => e.status === 404);
    assert.ok(events('terminal.denied').some((e) => JSON.parse(e.details).reason === 'not_owner'));

    const refused = async (ticket: string | undefined, headers: Record<string, string>, code: number, reason: string) => {
      const t = await TerminalClient.connect(server.base, ticket, headers);
      const closed = await t.closed();
      assert.equal(closed.code, code, `${reason}: close code`);
      assert.ok(closed.last?.type === 'error' && closed.last.code === reason, `${reason}: ${JSON.stringify(closed.last)}`);
      assert.ok(!t.messages.some((m) => m.type === 'ready'));
      assert.equal(t.output, '', `${reason}: no terminal bytes`);
    };
    const mine = (await owner.terminal.start(vm.id, { kind: 'serial' })).ticket;
    await refused(mine, { origin: origin(), authorization: `Bearer ${otherToken}` }, TERMINAL_CLOSE_CODES.unauthorized, 'ticket_user_mismatch');
    await refused(mine, { origin: origin() }, TERMINAL_CLOSE_CODES.unauthorized, 'ticket_reused');
    await refused('not-a-ticket', { origin: origin() }, TERMINAL_CLOSE_CODES.unauthorized, 'ticket_unknown');
    const late = (await owner.terminal.start(vm.id, { kind: 'serial' })).ticket;
    await new Promise((r) => setTimeout(r, TICKET_SECONDS * 1000 + 300));
    await refused(late, { origin: origin() }, TERMINAL_CLOSE_CODES.unauthorized, 'ticket_expired');
    const fresh = (await owner.terminal.start(vm.id, { kind: 'serial' })).ticket;
    await refused(fresh, { origin: 'http://evil.example' }, TERMINAL_CLOSE_CODES.forbiddenOrigin, 'origin_forbidden');

    const reasons = events('terminal.denied').map((e) => JSON.parse(e.details).reason as string);
    for (const r of ['ticket_user_mismatch', 'ticket_reused', 'ticket_unknown', 'ticket_expired', 'origin_forbidden']) assert.ok(reasons.includes(r), `event for ${r}`);
    assert.ok(events('terminal.denied').every((e) => e.source_ip === '127.0.0.1'));
  });

  test('revoked access ends a real shell at once: a demoted admin loses root on the owner’s VM, a logout ends the owner’s console', async () => {
    const anon = new ApiClient({ baseUrl: server.base });
    const admin = new ApiClient({ baseUrl: server.base, token: (await anon.auth.login('admin', 'terminal-admin-pw')).access_token });
    const helper = await anon.auth.register({ username: 'termhelper', email: 'termhelper@example.com', password: 'correct horse battery' });
    await admin.admin.updateUser(helper.id, { is_admin: true });
    const helperApi = new ApiClient({ baseUrl: server.base, token: (await anon.auth.login('termhelper', 'correct horse battery')).access_token });

    // As an admin, a root shell on someone else's VM, and a ticket kept for later.
    const { ticket } = await helperApi.terminal.start(vm.id, { kind: 'serial' });
    const root = await TerminalClient.connect(server.base, ticket, { origin: origin() });
    await root.ready();
    assert.ok(await run(root, 'id -u', /\r\n0\r\n/), 'a root shell on the serial console');
    const spare = (await helperApi.terminal.start(vm.id, { kind: 'serial' })).ticket;
    await admin.admin.updateUser(helper.id, { is_admin: false });
    const demotedAt = Date.now();
    const ended = await root.closed(1_000);
    assert.ok(Date.now() - demotedAt <= 1_000, `the shell lasted ${Date.now() - demotedAt} ms after the demotion`);
    assert.equal(ended.code, TERMINAL_CLOSE_CODES.accessRevoked);
    assert.ok(ended.last?.type === 'exit' && ended.last.reason === 'access_revoked' && /not an administrator/.test(ended.last.message), JSON.stringify(ended.last));
    const late = await TerminalClient.connect(server.base, spare, { origin: origin() });
    assert.equal((await late.closed(1_000)).code, TERMINAL_CLOSE_CODES.accessRevoked, 'the ticket issued before the demotion opens nothing');
    await assert.rejects(helperApi.terminal.start(vm.id, { kind: 'serial' }), (e: ApiError) => e.status === 404);

    // The owner's own console, opened with a session that then logs out (from another tab, say).
    const session = new ApiClient({ baseUrl: server.base, token: (await anon.auth.login('termowner', 'correct horse battery')).access_token });
    const own = await TerminalClient.connect(server.base, (await session.terminal.start(vm.id, { kind: 'serial' })).ticket, { origin: origin() });
    await own.ready();
    await session.auth.logout();
    const loggedOutAt = Date.now();
    const gone = await own.closed(1_000);
    assert.ok(Date.now() - loggedOutAt <= 1_000);
    assert.equal(gone.code, TERMINAL_CLOSE_CODES.accessRevoked);
    await until('revocation events', async () => (events('terminal.session_revoked').length === 2 ? true : undefined), 5_000);
  });

  test('idle timeout: a session with no input or output closes by itself', async () => {
    const t = await open('serial');
    const started = Date.now();
    const { code, last } = await t.closed((IDLE_SECONDS + 30) * 1000);
    const closedAt = Date.now();
    assert.equal(code, TERMINAL_CLOSE_CODES.idleTimeout);
    assert.ok(last?.type === 'exit' && last.reason === 'idle_timeout');
    // Output from the guest (a kernel or dropbear line on the console) is activity too: the
    // clock counts from the last byte that reached us, not from the open.
    assert.ok((closedAt - started) / 1000 >= IDLE_SECONDS - 0.5, `closed after ${(closedAt - started) / 1000} s`);
    const quiet = (closedAt - t.lastDataAt) / 1000;
    assert.ok(quiet >= IDLE_SECONDS - 0.5 && quiet < IDLE_SECONDS + 3, `closed ${quiet} s after the last output`);
    await until('timeout event', async () => (events('terminal.session_timed_out').length ? true : undefined), 5_000);
  });

  test('recordings: every ended session has a valid asciicast v2 file for its owner, not for others', async () => {
    const { recent, active } = await owner.terminal.forVm(vm.id);
    assert.equal(active.length, 0);
    const serial = recent.find((s) => s.kind === 'serial' && s.end_reason === 'closed' && s.recording.available);
    const ssh = recent.find((s) => s.kind === 'ssh' && s.end_reason === 'exited');
    assert.ok(serial && ssh, JSON.stringify(recent));
    assert.ok(serial.bytes_in > 0 && serial.bytes_out > 0 && serial.source_ip === '127.0.0.1' && serial.username === 'termowner');

    const cast = parseAsciicast(await owner.terminal.recording(serial.id));
    assert.equal(cast.header.version, 2);
    assert.equal(cast.header.width, 80);
    assert.ok(cast.output.includes(`\r\nhello-${marker}\r\n`), 'the command’s output is in the recording');
    const sshCast = parseAsciicast(await owner.terminal.recording(ssh.id));
    assert.ok(sshCast.events.some((e) => e[1] === 'r' && e[2] === '120x40'), 'the resize is recorded');
    assert.ok(sshCast.output.includes('40 120'));

    await assert.rejects(other.terminal.recording(serial.id), (e: ApiError) => e.status === 404);
    await assert.rejects(other.terminal.forVm(vm.id), (e: ApiError) => e.status === 404);
    const started = events('terminal.session_started');
    assert.ok(started.length >= 4 && started.every((e) => e.vm_id === vm.id && e.source_ip === '127.0.0.1'));
  });

  test('live sessions: listed for the owner, ended by DELETE, and stopping the VM ends the rest', async () => {
    const a = await open('serial');
    await run(a, '', /# /);
    const live = await until('live byte counts', async () => {
      const l = await owner.terminal.live();
      return l[0]?.bytes_out ? l : undefined;
    }, 5_000);
    assert.equal(live.length, 1);
    assert.ok(live[0]!.active && live[0]!.bytes_in === 1, 'the Enter counted');
    assert.deepEqual(await other.terminal.live(), []);
    await assert.rejects(other.terminal.end(live[0]!.id), (e: ApiError) => e.status === 404);
    await owner.terminal.end(live[0]!.id);
    const ended = await a.closed();
    assert.equal(ended.code, TERMINAL_CLOSE_CODES.ended);

    // An admin sees every live session and can end it; that is audited.
    const admin = new ApiClient({ baseUrl: server.base, token: (await new ApiClient({ baseUrl: server.base }).auth.login('admin', 'terminal-admin-pw')).access_token });
    const c = await open('ssh');
    const all = await admin.terminal.live();
    assert.deepEqual(all.map((s) => [s.username, s.vm_id, s.kind]), [['termowner', vm.id, 'ssh']]);
    await admin.terminal.end(all[0]!.id);
    const byAdmin = await c.closed();
    assert.ok(byAdmin.code === TERMINAL_CLOSE_CODES.ended && byAdmin.last?.type === 'exit' && byAdmin.last.reason === 'ended_by_admin');
    await until('audit event', async () => (events('admin.terminal_ended').length === 1 ? true : undefined), 5_000);

    const b = await open('serial');
    await owner.vms.action(vm.id, { action: 'stop', force: true });
    const stopped = await b.closed(30_000);
    assert.equal(stopped.code, TERMINAL_CLOSE_CODES.vmStopped);
    await until('VM stopped', async () => {
      const v = await owner.vms.get(vm.id);
      return v.status === 'stopped' && !v.locked ? true : undefined;
    });
    await assert.rejects(owner.terminal.start(vm.id, { kind: 'serial' }), (e: ApiError) => e.status === 409 && e.code === 'vm_not_running');
  });

  test('after a stop/start the SSH terminal still trusts the VM: its host key lives on /data', async () => {
    await owner.vms.action(vm.id, { action: 'start' });
    await until('VM running again', async () => {
      const v = await owner.vms.get(vm.id);
      return v.status === 'running' && !v.locked ? v : undefined;
    });
    await waitForSshBanner(vm.ssh_port!, 120_000);
    const t = await open('ssh');
    assert.match(await run(t, 'uname -n', /term-vm\r\n/), /term-vm/);
    t.close();
    await t.closed();
  });
});
