import assert from 'node:assert/strict';
import { hashToken } from '../../lib/secrets.js';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';

/** Who may open a terminal and when, with a fake driver; the sessions themselves run against real QEMU in tests/integration. */
for (const kind of testDatabaseKinds()) {
  describe(`terminal rules (${kind})`, () => {
    let h: Harness;
    let driver: FakeDriver;
    let alice: { id: number; token: string };
    let bob: { id: number; token: string };
    let vmId: number;
    before(async () => {
      driver = new FakeDriver();
      h = await createHarness(kind, { terminalMaxSessionsPerUser: 2, sshPortRange: '25400-25499' }, driver);
      alice = await h.user('alice');
      bob = await h.user('bob');
      const res = await h.request({ method: 'POST', url: '/api/vms', token: alice.token, body: { name: 'box', image: 'tiny' } });
      vmId = res.json().id;
      await h.services.ops.idle();
    });
    after(() => h.close());

    const start = (token: string | undefined, body: Record<string, unknown> = { kind: 'ssh' }, id = vmId) =>
      h.request({ method: 'POST', url: `/api/terminal/start/${id}`, token, body });

    test('the VM gets its own console key in its seed, next to the user’s keys', async () => {
      const spec = driver.instances.get(`vm-${vmId}`)!.spec;
      const key = await h.db.handle.db.selectFrom('vm_console_keys').selectAll().where('vm_id', '=', vmId).executeTakeFirstOrThrow();
      assert.match(key.public_key, /^ssh-ed25519 \S+ twarga-console@box$/);
      assert.ok(spec.seed.userData.includes(key.public_key.split(' ')[1]!));
      assert.ok(!key.private_key_enc.includes('PRIVATE KEY'), 'the private key is stored sealed');
    });

    test('a ticket for the owner: single use, 30 s, and the websocket path', async () => {
      const res = await start(alice.token);
      assert.equal(res.statusCode, 201, res.body);
      const t = res.json();
      assert.equal(t.kind, 'ssh');
      assert.equal(t.websocket_path, '/api/terminal/ws');
      assert.equal(Date.parse(t.expires_at) - h.clock.now().getTime(), 30_000);
      assert.ok(t.ticket.length >= 40);
      const redeemed = await h.services.terminal.tickets.redeem(t.ticket);
      assert.ok(redeemed.ok);
      const { access, ...grant } = redeemed.grant;
      assert.deepEqual(grant, { userId: alice.id, vmId, kind: 'ssh', cols: 80, rows: 24, sourceIp: '127.0.0.1' });
      assert.deepEqual(access.grant, { userId: alice.id, credentialHash: hashToken(alice.token), via: 'session' });
      access.stop();
    });

    test('refused: anonymous 401, read-only token 403, another user 404 (+ event), bad size 400, no serial on this driver 409', async () => {
      assert.equal((await start(undefined)).statusCode, 401);
      const ro = await h.request({ method: 'POST', url: '/api/account/tokens', token: alice.token, body: { name: 'ro', scope: 'read' } });
      assert.equal((await start(ro.json().token)).statusCode, 403);
      const other = await start(bob.token);
      assert.equal(other.statusCode, 404);
      const denied = await h.services.events.list({ action: 'terminal.denied' });
      assert.ok(denied.some((e) => e.user_id === bob.id && e.vm_id === vmId));
      assert.equal((await start(alice.token, { kind: 'ssh', cols: 5000 })).statusCode, 400);
      assert.equal((await start(alice.token, { kind: 'telnet' })).statusCode, 400);
      assert.equal((await start(alice.token, {}, 99999)).statusCode, 404);
      const serial = await start(alice.token, { kind: 'serial' });
      assert.equal(serial.statusCode, 409);
      assert.equal(serial.json().code, 'console_unavailable');
    });

    test('open sessions and unused tickets count against the per-user limit', async () => {
      // One ticket of the earlier test was redeemed; two more fill the limit of 2.
      assert.equal((await start(alice.token)).statusCode, 201);
      assert.equal((await start(alice.token)).statusCode, 201);
      const third = await start(alice.token);
      assert.equal(third.statusCode, 429);
      assert.equal(third.json().code, 'too_many_sessions');
      h.clock.advanceMinutes(1);
      assert.equal((await start(alice.token)).statusCode, 201, 'expired tickets no longer count');
    });

    test('tickets live in the database, hashed: a replay is reused, a late one expired, a made-up one unknown', async () => {
      const redeem = (ticket: string) => h.services.terminal.tickets.redeem(ticket);
      const { ticket } = (await start(alice.token)).json();
      const rows = await h.db.handle.db.selectFrom('terminal_tickets').selectAll().execute();
      assert.ok(rows.length > 0 && rows.every((r) => r.ticket_hash !== ticket && r.ticket_hash.length === 64), 'only hashes are stored');
      const first = await redeem(ticket);
      assert.ok(first.ok);
      first.grant.access.stop();
      assert.deepEqual(await redeem(ticket), { ok: false, reason: 'ticket_reused' });
      assert.deepEqual(await redeem('x'.repeat(43)), { ok: false, reason: 'ticket_unknown' });
      h.clock.advanceMinutes(1);
      const late = (await start(alice.token)).json().ticket;
      h.clock.advanceMinutes(1);
      assert.deepEqual(await redeem(late), { ok: false, reason: 'ticket_expired' });
      // Issuing sweeps rows a TTL past their expiry: the table does not grow without bound.
      h.clock.advanceMinutes(1);
      await redeem((await start(alice.token)).json().ticket).then((r) => r.ok && r.grant.access.stop());
      assert.equal((await h.db.handle.db.selectFrom('terminal_tickets').selectAll().where('user_id', '=', alice.id).execute()).length, 1);
    });

    test('a ticket whose API token is revoked stops counting at once and is refused as revoked', async () => {
      const made = await h.request({ method: 'POST', url: '/api/account/tokens', token: alice.token, body: { name: 'term', scope: 'read-write' } });
      const issued = await start(made.json().token);
      assert.equal(issued.statusCode, 201, issued.body + made.body);
      const { ticket } = issued.json();
      assert.equal(await h.services.terminal.tickets.pending(alice.id), 1);
      assert.equal((await h.request({ method: 'DELETE', url: `/api/account/tokens/${made.json().id}`, token: alice.token })).statusCode, 204);
      for (let i = 0; i < 100 && (await h.services.terminal.tickets.pending(alice.id)) > 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(await h.services.terminal.tickets.pending(alice.id), 0);
      assert.deepEqual(await h.services.terminal.tickets.redeem(ticket), { ok: false, reason: 'ticket_revoked' });
    });

    test('a stopped VM gets 409 vm_not_running', async () => {
      await h.request({ method: 'POST', url: `/api/vms/${vmId}/action`, token: alice.token, body: { action: 'stop' } });
      await h.services.ops.idle();
      const res = await start(alice.token);
      assert.equal(res.statusCode, 409);
      assert.equal(res.json().code, 'vm_not_running');
    });

    test('old recordings are removed by the retention pass; the session stays listed', async () => {
      const sessions = h.db.handle.db;
      const { id } = await sessions
        .insertInto('terminal_sessions')
        .values({ vm_id: vmId, user_id: alice.id, kind: 'serial', source_ip: '127.0.0.1', cols: 80, rows: 24, started_at: '2026-01-01T00:00:00.000Z', ended_at: '2026-01-01T00:10:00.000Z', end_reason: 'closed', recording_bytes: 100, recording_deleted_at: null })
        .returning('id')
        .executeTakeFirstOrThrow();
      const file = h.services.terminal.recordingPath(id);
      mkdirSync(`${h.config.dataDir}/recordings`, { recursive: true });
      writeFileSync(file, '{"version":2,"width":80,"height":24}\n');
      assert.equal((await h.request({ method: 'GET', url: `/api/terminal/recordings/${id}`, token: alice.token })).statusCode, 200);
      assert.equal((await h.request({ method: 'GET', url: `/api/terminal/recordings/${id}`, token: bob.token })).statusCode, 404);
      await h.services.terminal.pruneRecordings();
      assert.ok(!existsSync(file));
      const listed = (await h.request({ method: 'GET', url: `/api/terminal/session/${vmId}`, token: alice.token })).json();
      assert.equal(listed.recent.find((s: { id: number }) => s.id === id).recording.available, false);
      assert.equal((await h.request({ method: 'GET', url: `/api/terminal/recordings/${id}`, token: alice.token })).statusCode, 404);
    });

    test('destroying the VM deletes its console key', async () => {
      await h.request({ method: 'POST', url: `/api/vms/${vmId}/action`, token: alice.token, body: { action: 'destroy' } });
      await h.services.ops.idle();
      const key = await h.db.handle.db.selectFrom('vm_console_keys').selectAll().where('vm_id', '=', vmId).executeTakeFirst();
      assert.equal(key, undefined);
    });
  });
}
