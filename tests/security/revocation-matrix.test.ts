import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TERMINAL_CLOSE_CODES } from '@twarga/contract';
import { testDatabaseKinds } from '../../apps/server/src/test-support/databases.js';
import { createHarness, PASSWORD, type Harness } from '../../apps/server/src/test-support/harness.js';
import { TerminalClient } from '../support/terminal.js';
import { EventStreamClient, SerialFakeDriver } from './live-clients.js';

/** "At once": what a revocation ends must be over this soon after the revoking request returns. */
const WITHIN_MS = 1_000;

interface Actor {
  id: number;
  username: string;
  /** A session of the actor that is not the credential under test (to revoke tokens, change the password). */
  session: string;
  /** The credential the live things are opened with. */
  credential: string;
  tokenId?: number;
}

interface Live {
  terminal: TerminalClient;
  sessionId: number;
  ticket: string;
  stream: EventStreamClient;
}

/**
 * Every way access is taken away × everything that outlives a request: a live terminal, an
 * unused terminal ticket, the live event stream, and the next API call. Through the real
 * server (listening on loopback), websocket gateway and SSE route; the VM is the fake driver
 * with an echoing serial port (the real-QEMU case is in tests/integration/terminal.test.ts).
 */
for (const kind of testDatabaseKinds()) {
  describe(`revoked access ends live sessions at once (${kind})`, () => {
    let h: Harness;
    let base: string;
    let admin: string;
    let n = 0;
    const open: { close(): void }[] = [];

    before(async () => {
      h = await createHarness(kind, { terminalMaxSessionsPerUser: 20, sshPortRange: '25600-25699' }, new SerialFakeDriver());
      await h.services.terminal.start(); // as server.ts does: follows VM events
      await h.app.listen({ port: 0, host: '127.0.0.1' });
      const address = h.app.server.address() as { port: number };
      base = `http://127.0.0.1:${address.port}`;
      admin = await h.adminToken();
    });
    after(async () => {
      for (const c of open) c.close();
      await h.close();
    });

    const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, token: string, body?: unknown) => h.request({ method, url, token, body });
    const ok = async (res: Promise<{ statusCode: number; body: string; json(): any }>, status = 200) => {
      const r = await res;
      assert.equal(r.statusCode, status, r.body);
      return r.body ? r.json() : undefined;
    };

    async function actor(opts: { admin?: boolean; via: 'session' | 'token' }): Promise<Actor> {
      const username = `rev${++n}`;
      const u = await h.user(username);
      if (opts.admin) await ok(call('PATCH', `/api/admin/users/${u.id}`, admin, { is_admin: true }));
      if (opts.via === 'token') {
        const t = await ok(call('POST', '/api/account/tokens', u.token, { name: 'live', scope: 'read-write' }), 201);
        return { id: u.id, username, session: u.token, credential: t.token, tokenId: t.id };
      }
      const second = (await ok(call('POST', '/api/auth/login', '', { username, password: PASSWORD }))).access_token;
      return { id: u.id, username, session: u.token, credential: second };
    }

    async function vmOf(token: string): Promise<number> {
      const vm = await ok(call('POST', '/api/vms', token, { name: `box${++n}`, image: 'tiny' }), 201);
      await h.services.ops.idle();
      assert.equal((await ok(call('GET', `/api/vms/${vm.id}`, token))).status, 'running');
      return vm.id;
    }

    async function openAll(credential: string, vmId: number): Promise<Live> {
      const t1 = await ok(call('POST', `/api/terminal/start/${vmId}`, credential, { kind: 'serial' }), 201);
      const terminal = await TerminalClient.connect(base, t1.ticket);
      open.push(terminal);
      const ready = await terminal.ready();
      // The session is real: typed text comes back from the (echoing) serial port.
      terminal.type('ping-me');
      await terminal.until('echo', () => terminal.output.includes('ping-me'), 5_000);
      const { ticket } = await ok(call('POST', `/api/terminal/start/${vmId}`, credential, { kind: 'serial' }), 201);
      const stream = await EventStreamClient.open(base, credential);
      open.push(stream);
      return { terminal, sessionId: ready.session_id, ticket, stream };
    }

    /** The revoking request, timed: everything must be over within WITHIN_MS of its answer. */
    async function revoke(action: () => Promise<unknown>): Promise<number> {
      await action();
      return Date.now();
    }

    async function expectEnded(live: Live, who: Actor, t0: number, expect: { cause: 'credential' | 'right'; api: { url: string; status: number } }) {
      const [term] = await Promise.all([live.terminal.closed(WITHIN_MS + 200), live.stream.ended(WITHIN_MS + 200)]);
      const took = Date.now() - t0;
      assert.ok(took <= WITHIN_MS, `ended ${took} ms after the revocation`);
      assert.ok(live.stream.endedAt! - t0 <= WITHIN_MS, `stream ended ${live.stream.endedAt! - t0} ms after the revocation`);
      // Terminal: an exit with the reason, then the access-revoked close code.
      assert.equal(term.code, TERMINAL_CLOSE_CODES.accessRevoked);
      assert.equal(term.last?.type, 'exit');
      assert.equal(term.last?.type === 'exit' && term.last.reason, 'access_revoked');
      // Stream: a final `revoked` event saying why, then the end.
      const last = live.stream.events.at(-1)!;
      assert.equal(last.kind, 'revoked');
      assert.equal(last.reason, expect.cause);
      assert.ok(typeof last.message === 'string' && last.message.length > 10, JSON.stringify(last));
      // The unused ticket is dropped in the same second (it no longer counts), and it opens nothing.
      while (await h.services.terminal.tickets.pending(who.id) > 0 && Date.now() - t0 <= WITHIN_MS) await new Promise((r) => setTimeout(r, 5));
      assert.equal(await h.services.terminal.tickets.pending(who.id), 0, 'the unused ticket is revoked');
      const late = await TerminalClient.connect(base, live.ticket);
      open.push(late);
      const refused = await late.closed(WITHIN_MS);
      assert.equal(refused.code, TERMINAL_CLOSE_CODES.accessRevoked);
      assert.equal(refused.last?.type, 'error');
      // The next API call with the credential.
      assert.equal((await call('GET', expect.api.url, who.credential)).statusCode, expect.api.status);
      // Each end is on the record.
      await h.services.terminal.settled();
      const ended = await h.services.events.list({ action: 'terminal.session_revoked', limit: 1000 });
      assert.ok(ended.some((e) => (e.details as { session_id: number }).session_id === live.sessionId && e.user_id === who.id && e.type === 'security'), `terminal.session_revoked event for #${live.sessionId}`);
      // The stream's end is written after its last byte went out: give the write a moment under load.
      const streamEnd = async () => (await h.services.events.list({ action: 'stream.revoked', limit: 1000 })).some((e) => e.user_id === who.id && (e.details as { cause: string }).cause === expect.cause);
      const recordedBy = Date.now() + 2000;
      while (!(await streamEnd()) && Date.now() < recordedBy) await new Promise((r) => setTimeout(r, 20));
      assert.ok(await streamEnd(), 'stream.revoked event');
      const row = await h.db.handle.db.selectFrom('terminal_sessions').select(['end_reason', 'ended_at']).where('id', '=', live.sessionId).executeTakeFirstOrThrow();
      assert.equal(row.end_reason, 'access_revoked');
      assert.ok(row.ended_at, 'the session row is closed');
    }

    const credentialGone = { cause: 'credential' as const, api: { url: '/api/auth/me', status: 401 } };

    test('logout (session)', async () => {
      const a = await actor({ via: 'session' });
      const live = await openAll(a.credential, await vmOf(a.session));
      const t0 = await revoke(() => ok(call('POST', '/api/auth/logout', a.credential), 204));
      await expectEnded(live, a, t0, credentialGone);
    });

    test('logout in the browser (cookie session): its event stream ends', async () => {
      const a = await actor({ via: 'session' });
      const login = await h.request({ method: 'POST', url: '/api/auth/login', body: { username: a.username, password: PASSWORD, cookie: true } });
      const cookies = Object.fromEntries(login.cookies.map((c) => [c.name, c.value]));
      const stream = await EventStreamClient.open(base, { cookie: Object.entries(cookies).map(([k, v]) => `${k}=${v}`).join('; ') });
      open.push(stream);
      const res = await h.app.inject({ method: 'POST', url: '/api/auth/logout', cookies, headers: { 'x-csrf-token': login.json().csrf_token } });
      assert.equal(res.statusCode, 204, res.body);
      const t0 = Date.now();
      await stream.ended(WITHIN_MS + 200);
      assert.ok(stream.endedAt! - t0 <= WITHIN_MS);
      assert.equal(stream.events.at(-1)?.kind, 'revoked');
    });

    test('logout with an API token (revokes the token)', async () => {
      const a = await actor({ via: 'token' });
      const live = await openAll(a.credential, await vmOf(a.session));
      const t0 = await revoke(() => ok(call('POST', '/api/auth/logout', a.credential), 204));
      await expectEnded(live, a, t0, credentialGone);
    });

    test('API token revoked', async () => {
      const a = await actor({ via: 'token' });
      const live = await openAll(a.credential, await vmOf(a.session));
      const t0 = await revoke(() => ok(call('DELETE', `/api/account/tokens/${a.tokenId}`, a.session), 204));
      await expectEnded(live, a, t0, credentialGone);
    });

    test('all API tokens revoked', async () => {
      const a = await actor({ via: 'token' });
      const live = await openAll(a.credential, await vmOf(a.session));
      const t0 = await revoke(() => ok(call('DELETE', '/api/account/tokens', a.session)));
      await expectEnded(live, a, t0, credentialGone);
    });

    test('password change ends the other sessions', async () => {
      const a = await actor({ via: 'session' });
      const live = await openAll(a.credential, await vmOf(a.session));
      const t0 = await revoke(() => ok(call('POST', '/api/auth/password', a.session, { current_password: PASSWORD, new_password: 'A-new-and-long-passphrase-42' }), 204));
      await expectEnded(live, a, t0, credentialGone);
      assert.equal((await call('GET', '/api/auth/me', a.session)).statusCode, 200, 'the session that changed it stays');
    });

    test('account deactivated (session)', async () => {
      const a = await actor({ via: 'session' });
      const live = await openAll(a.credential, await vmOf(a.session));
      const t0 = await revoke(() => ok(call('PATCH', `/api/admin/users/${a.id}`, admin, { is_active: false })));
      await expectEnded(live, a, t0, credentialGone);
    });

    test('account deactivated (API token)', async () => {
      const a = await actor({ via: 'token' });
      const live = await openAll(a.credential, await vmOf(a.session));
      const t0 = await revoke(() => ok(call('PATCH', `/api/admin/users/${a.id}`, admin, { is_active: false })));
      await expectEnded(live, a, t0, credentialGone);
    });

    for (const via of ['session', 'token'] as const) {
      test(`admin demoted (${via}): the root shell on another user's VM and the everyone-stream end`, async () => {
        const owner = await h.user(`owner${++n}`);
        const vmId = await vmOf(owner.token);
        const a = await actor({ admin: true, via });
        const live = await openAll(a.credential, vmId);
        const vm = await ok(call('GET', `/api/vms/${vmId}`, owner.token));
        const t0 = await revoke(() => ok(call('PATCH', `/api/admin/users/${a.id}`, admin, { is_admin: false })));
        // The owner's VM changes right after: the ex-admin must not hear of it.
        h.services.bus.publish(owner.id, { kind: 'vm', vm });
        await expectEnded(live, a, t0, { cause: 'right', api: { url: '/api/admin/users', status: 403 } });
        assert.ok(!live.stream.events.some((e) => e.kind === 'vm'), `no event of another user after the demotion: ${JSON.stringify(live.stream.events)}`);
        assert.equal((await call('GET', '/api/auth/me', a.credential)).statusCode, 200, 'the login itself is still good');
      });
    }

    test('the VM changes owner: the old owner’s session ends and a ticket they hold opens nothing (generic re-check)', async () => {
      const a = await actor({ via: 'session' });
      const newOwner = await h.user(`heir${++n}`);
      const vmId = await vmOf(a.session);
      const live = await openAll(a.credential, vmId);
      // No owner-change feature exists yet: do what one would, change the row and publish the VM.
      const t0 = await revoke(async () => {
        await h.db.handle.db.updateTable('vms').set({ user_id: newOwner.id }).where('id', '=', vmId).execute();
        const row = await h.db.handle.db.selectFrom('vms').selectAll().where('id', '=', vmId).executeTakeFirstOrThrow();
        await h.services.ops.publish(row);
      });
      const term = await live.terminal.closed(WITHIN_MS + 200);
      assert.ok(Date.now() - t0 <= WITHIN_MS);
      assert.equal(term.code, TERMINAL_CLOSE_CODES.accessRevoked);
      const late = await TerminalClient.connect(base, live.ticket);
      open.push(late);
      assert.equal((await late.closed(WITHIN_MS)).code, TERMINAL_CLOSE_CODES.accessRevoked);
      // The user's login is fine: their stream goes on.
      assert.equal(live.stream.endedAt, undefined);
      live.stream.close();
    });

    test('a change that takes nothing away ends nothing: credits, a demoted admin on their own VM', async () => {
      const a = await actor({ admin: true, via: 'session' });
      const own = await openAll(a.credential, await vmOf(a.session));
      await ok(call('POST', `/api/admin/users/${a.id}/credits`, admin, { amount: 5, reason: 'bonus' }));
      const plain = await actor({ via: 'token' });
      const plainLive = await openAll(plain.credential, await vmOf(plain.session));
      await ok(call('POST', `/api/admin/users/${plain.id}/credits`, admin, { amount: 5, reason: 'bonus' }));
      await new Promise((r) => setTimeout(r, WITHIN_MS + 200));
      for (const live of [own, plainLive]) {
        assert.equal(live.terminal.closeCode, undefined);
        assert.equal(live.stream.endedAt, undefined);
        live.terminal.type('still-here');
        await live.terminal.until('echo after the change', () => live.terminal.output.includes('still-here'), 5_000);
      }
      assert.equal(await h.services.terminal.tickets.pending(a.id), 1);
      assert.equal(await h.services.terminal.tickets.pending(plain.id), 1);
      // The streams still deliver: the user's own VM event to the user, and to the (still) admin.
      const vm = await ok(call('GET', `/api/vms/${(await ok(call('GET', '/api/vms', plain.session)))[0].id}`, plain.session));
      h.services.bus.publish(plain.id, { kind: 'vm', vm });
      await plainLive.stream.until('own VM event', () => plainLive.stream.events.some((e) => e.kind === 'vm'));
      await own.stream.until("another user's VM event, as an admin", () => own.stream.events.some((e) => e.kind === 'vm'));
      // Demoted, the admin keeps the shell on their own VM; the stream that showed everyone's events ends.
      await ok(call('PATCH', `/api/admin/users/${a.id}`, admin, { is_admin: false }));
      await own.stream.ended(WITHIN_MS + 200);
      assert.equal(own.stream.events.at(-1)?.reason, 'right');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(own.terminal.closeCode, undefined);
      assert.equal(await h.services.terminal.tickets.pending(a.id), 1);
      // Nothing is watched once closed: what is left are the two unused tickets.
      for (const live of [own, plainLive]) {
        live.terminal.close();
        await live.terminal.closed(WITHIN_MS);
        live.stream.close();
      }
      for (let i = 0; i < 100 && h.services.liveAccess.size !== 2; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(h.services.liveAccess.size, 2, 'closed terminals and streams, revoked tickets and sessions stop being watched');
    });
  });
}
