import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { TERMINAL_CLOSE_CODES, type TerminalServerMessage } from '@twarga/contract';
import { buildApp } from './app.js';
import type { DriverInfo, SerialConsole } from './compute/driver.js';
import { loadOrCreateSecrets } from './config/secrets.js';
import { openDatabase, type DatabaseHandle } from './db/database.js';
import { FakeDriver } from './test-support/fake-driver.js';
import { PASSWORD, createHarness, type Harness } from './test-support/harness.js';

type App = Awaited<ReturnType<typeof buildApp>>['app'];

/** The fake driver with a serial port that echoes what is typed (the gateway, tickets and sessions are the product's). */
class EchoSerialDriver extends FakeDriver implements SerialConsole {
  override info(): DriverInfo {
    const base = super.info();
    return { ...base, features: { ...base.features, console: true } };
  }
  async openSerial(): Promise<Duplex> {
    return new Duplex({ read() {}, write(chunk, _enc, done) { this.push(chunk); done(); } });
  }
  async serialScrollback(): Promise<Buffer> {
    return Buffer.alloc(0);
  }
}

/** A websocket terminal client: control messages, terminal output, the close code. */
class Term {
  readonly messages: TerminalServerMessage[] = [];
  output = '';
  closeCode?: number;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, binary) => {
      if (binary) this.output += data.toString();
      else this.messages.push(JSON.parse(data.toString()) as TerminalServerMessage);
    });
    ws.on('close', (code) => (this.closeCode = code));
  }
  static async open(port: number, ticket: string): Promise<Term> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/terminal/ws`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send(JSON.stringify({ type: 'auth', ticket }));
    return new Term(ws);
  }
  async until(what: string, ok: () => boolean, ms = 5_000): Promise<void> {
    for (const end = Date.now() + ms; !ok(); await new Promise((r) => setTimeout(r, 10)))
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(this.messages)} close ${this.closeCode}`);
  }
  /** The first control message: ready, or the refusal's error. */
  async first(): Promise<TerminalServerMessage> {
    await this.until('a first message', () => this.messages.length > 0);
    return this.messages[0]!;
  }
}

/**
 * Terminal tickets across two server processes on one PostgreSQL (issue 16): a ticket issued by
 * one is redeemed by the other's websocket, once, with the login checked again there.
 */
const needsPg = { skip: process.env.TWARGA_TEST_PG_URL ? false : 'needs TWARGA_TEST_PG_URL' };

describe('terminals across two server processes on one PostgreSQL', needsPg, () => {
  let h: Harness;
  let b: { app: App; database: DatabaseHandle; terminal: Awaited<ReturnType<typeof buildApp>>['services']['terminal'] };
  let c: { app: App; database: DatabaseHandle };
  const onC = (method: 'GET' | 'DELETE' | 'POST', url: string, token = alice.token) => c.app.inject({ method, url, headers: { authorization: `Bearer ${token}` } });
  let alice: { id: number; token: string };
  let vmId: number;
  const PORT_A = 27800;
  const PORT_B = 27801;
  const open: Term[] = [];
  before(async () => {
    h = await createHarness('postgres', { terminalMaxSessionsPerUser: 3, sshPortRange: '27820-27849' }, new EchoSerialDriver());
    const database = await openDatabase({ url: h.db.url!, dataDir: h.db.dataDir });
    const secrets = loadOrCreateSecrets(h.db.dataDir);
    // B relays (its config names the database URL); the harness's A does not: see the logout test.
    const built = await buildApp({ config: { ...h.config, databaseUrl: h.db.url! }, secrets, database, clock: h.clock, logger: false, driver: new EchoSerialDriver() });
    b = { app: built.app, database, terminal: built.services.terminal };
    // As server.ts does: B follows VM changes and other processes' requests to end its sessions.
    await b.terminal.start();
    // C relays too: what it asks of B (end a session, a user's change) goes through PostgreSQL.
    const cDatabase = await openDatabase({ url: h.db.url!, dataDir: h.db.dataDir });
    c = { app: (await buildApp({ config: { ...h.config, databaseUrl: h.db.url! }, secrets, database: cDatabase, clock: h.clock, logger: false, driver: new EchoSerialDriver() })).app, database: cDatabase };
    await h.app.listen({ port: PORT_A, host: '127.0.0.1' });
    await b.app.listen({ port: PORT_B, host: '127.0.0.1' });
    alice = await h.user('alice');
    vmId = (await h.request({ method: 'POST', url: '/api/vms', token: alice.token, body: { name: 'box', image: 'tiny' } })).json().id;
    await h.services.ops.idle();
  });
  after(async () => {
    for (const t of open) t.ws.close();
    await b?.app.close();
    await b?.database.close();
    await c?.app.close();
    await c?.database.close();
    await h.close();
  });

  const ticketFromA = async (token = alice.token) => {
    const res = await h.request({ method: 'POST', url: `/api/terminal/start/${vmId}`, token, body: { kind: 'serial' } });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().ticket as string;
  };
  const connect = async (port: number, ticket: string) => {
    const t = await Term.open(port, ticket);
    open.push(t);
    return t;
  };

  test('a ticket issued by A opens a working serial terminal on B; replayed on A it is ticket_reused', async () => {
    const ticket = await ticketFromA();
    const onB = await connect(PORT_B, ticket);
    assert.equal((await onB.first()).type, 'ready', JSON.stringify(onB.messages));
    onB.ws.send(Buffer.from('hello-from-b'));
    await onB.until('the echo', () => onB.output.includes('hello-from-b'));
    const replay = await connect(PORT_A, ticket);
    assert.deepEqual(await replay.first(), { type: 'error', code: 'ticket_reused', message: 'the ticket was already used' });
    await replay.until('the close', () => replay.closeCode !== undefined);
    assert.equal(replay.closeCode, TERMINAL_CLOSE_CODES.unauthorized);
  });

  test("the limit counts B's live session and both processes' tickets; a serial console B holds is refused on A at once, with the reason", async () => {
    // Limit 3: B's live session (previous test), one unused ticket from each process.
    await ticketFromA();
    const fromB = await b.app.inject({
      method: 'POST', url: `/api/terminal/start/${vmId}`, headers: { authorization: `Bearer ${alice.token}` }, payload: { kind: 'serial' },
    });
    assert.equal(fromB.statusCode, 201, fromB.body);
    const over = await h.request({ method: 'POST', url: `/api/terminal/start/${vmId}`, token: alice.token, body: { kind: 'serial' } });
    assert.equal(over.statusCode, 429, over.body);
    assert.equal(over.json().code, 'too_many_sessions');
    // B holds the VM's serial console: A says so instead of attaching to a socket that never answers.
    const t0 = Date.now();
    const onA = await connect(PORT_A, fromB.json().ticket);
    const refused = await onA.first();
    assert.equal(refused.type, 'error');
    assert.equal(refused.type === 'error' && refused.code, 'console_busy');
    assert.match(refused.type === 'error' ? refused.message : '', /serial console is open in another server process .*use SSH/);
    assert.ok(Date.now() - t0 < 2_000, `answered in ${Date.now() - t0} ms`);
    await onA.until('the close', () => onA.closeCode !== undefined);
    for (const t of open) t.ws.close();
  });

  test('the same ticket redeemed by both processes at once succeeds exactly once (20 rounds)', async () => {
    h.clock.advanceMinutes(1); // the earlier unused tickets expire
    for (let i = 0; i < 20; i++) {
      const ticket = await ticketFromA();
      const both = await Promise.all([h.services.terminal.tickets.redeem(ticket), b.terminal.tickets.redeem(ticket)]);
      const won = both.filter((r) => r.ok);
      assert.equal(won.length, 1, both.map((r) => (r.ok ? 'ok' : r.reason)).join(' '));
      assert.deepEqual(both.find((r) => !r.ok), { ok: false, reason: 'ticket_reused' });
      for (const r of won) if (r.ok) r.grant.access.stop();
    }
  });

  const refusedAsRevoked = async (port: number, ticket: string) => {
    const t = await connect(port, ticket);
    const refused = await t.first();
    assert.equal(refused.type === 'error' && refused.code, 'ticket_revoked', JSON.stringify(refused));
    await t.until('the close', () => t.closeCode !== undefined);
    assert.equal(t.closeCode, TERMINAL_CLOSE_CODES.accessRevoked);
  };

  test('B checks the login again when it redeems: logged out through B after A stopped watching its tickets (as a stopped A does)', async () => {
    const login = await h.request({ method: 'POST', url: '/api/auth/login', body: { username: 'alice', password: PASSWORD } });
    const token = login.json().access_token as string;
    const ticket = await ticketFromA(token);
    h.services.terminal.tickets.close();
    assert.equal((await b.app.inject({ method: 'POST', url: '/api/auth/logout', headers: { authorization: `Bearer ${token}` } })).statusCode, 204);
    await refusedAsRevoked(PORT_B, ticket);
  });

  test("C lists the session B holds and ends it by id; ending all of the VM's sessions on C ends B's too", async () => {
    for (const t of open.splice(0)) t.ws.close();
    await Promise.all([h.services.terminal.settled(), b.terminal.settled()]);
    const onB = await connect(PORT_B, await ticketFromA());
    assert.equal((await onB.first()).type, 'ready', JSON.stringify(onB.messages));
    const listed = (await onC('GET', '/api/terminal/sessions')).json() as { id: number; vm_id: number }[];
    assert.deepEqual(listed.map((s) => s.vm_id), [vmId], 'the session B holds is in the list C answers');
    const ended = await onC('DELETE', `/api/terminal/sessions/${listed[0]!.id}`);
    assert.equal(ended.statusCode, 204, ended.body);
    await onB.until('B to end it', () => onB.closeCode !== undefined);
    assert.equal(onB.closeCode, TERMINAL_CLOSE_CODES.ended);
    assert.deepEqual((await onC('GET', '/api/terminal/sessions')).json(), [], 'and it is gone from the list');

    const again = await connect(PORT_B, await ticketFromA());
    assert.equal((await again.first()).type, 'ready', JSON.stringify(again.messages));
    const stop = await onC('DELETE', `/api/terminal/stop/${vmId}`);
    assert.equal(stop.statusCode, 200, stop.body);
    assert.equal(stop.json().ended, 1, stop.body);
    await again.until('B to end the VM\'s session', () => again.closeCode !== undefined);
    assert.equal(again.closeCode, TERMINAL_CLOSE_CODES.ended);
  });

  test("a live terminal on B ends within seconds when its login is logged out on a third process C (the relay carries the user's change)", async () => {
    for (const t of open.splice(0)) t.ws.close();
    await Promise.all([h.services.terminal.settled(), b.terminal.settled()]);
    {
      const login = await h.request({ method: 'POST', url: '/api/auth/login', body: { username: 'alice', password: PASSWORD } });
      const token = login.json().access_token as string;
      const onB = await connect(PORT_B, await ticketFromA(token));
      assert.equal((await onB.first()).type, 'ready', JSON.stringify(onB.messages));
      assert.equal((await onC('POST', '/api/auth/logout', token)).statusCode, 204);
      await onB.until('the session on B to end', () => onB.closeCode !== undefined, 5_000);
      assert.equal(onB.closeCode, TERMINAL_CLOSE_CODES.accessRevoked, JSON.stringify(onB.messages));
    }
  });

  test('a ticket whose login was logged out on A is refused on B as revoked', async () => {
    // alice's token is a login session (the last test uses it: it ends here).
    const ticket = await ticketFromA();
    assert.equal((await h.request({ method: 'POST', url: '/api/auth/logout', token: alice.token })).statusCode, 204);
    await refusedAsRevoked(PORT_B, ticket);
  });
});
