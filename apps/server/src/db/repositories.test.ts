import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Kysely } from 'kysely';
import { LedgerService } from '../modules/billing/ledger.service.js';
import { UserChanges } from '../lib/user-changes.js';
import { LedgerRepository } from '../modules/billing/ledger.repository.js';
import { EventsRepository } from '../modules/events/events.repository.js';
import { SessionsRepository } from '../modules/auth/sessions.repository.js';
import { TokensRepository } from '../modules/tokens/tokens.repository.js';
import { UsersRepository } from '../modules/users/users.repository.js';
import { createTestDatabase, testDatabaseKinds, type TestDatabase } from '../test-support/databases.js';
import { migrate } from './migrator.js';

const now = () => new Date().toISOString();
const later = (ms: number) => new Date(Date.now() + ms).toISOString();

for (const kind of testDatabaseKinds()) {
  describe(`repositories (${kind})`, () => {
    let t: TestDatabase;
    let users: UsersRepository;
    let changes: UserChanges;
    let ledgerService: LedgerService;
    before(async () => {
      t = await createTestDatabase(kind);
      changes = new UserChanges();
      users = new UsersRepository(t.handle.db, changes);
      ledgerService = new LedgerService(t.handle.db, changes);
    });
    after(() => t.cleanup());

    const newUser = (username: string) =>
      users.insert(t.handle.db, { username, email: `${username}@example.com`, hashedPassword: 'x', isAdmin: false, now: now() });

    test('migrations are recorded and running them again changes nothing', async () => {
      const again = await migrate(t.handle.db as Kysely<unknown>, kind);
      assert.deepEqual(again, []);
    });

    test('usernames and e-mails are unique at the database level', async () => {
      await newUser('uniq');
      await assert.rejects(newUser('uniq'));
    });

    test('the ledger and the cached balance move together, atomically', async () => {
      const id = await newUser('ledger');
      const ledger = new LedgerRepository(t.handle.db);
      assert.equal(await ledgerService.apply({ userId: id, amount: 1000, reason: 'grant', actorId: null, now: now() }), 1000);
      assert.equal(await ledgerService.apply({ userId: id, amount: -300, reason: 'usage', actorId: null, now: now() }), 700);
      await assert.rejects(ledgerService.apply({ userId: id, amount: -701, reason: 'too much', actorId: null, now: now() }));
      const row = await users.findById(id);
      assert.equal(Number(row!.credits), 700);
      assert.equal(await ledger.sumForUser(id), 700);
      const entries = await ledger.listForUser(id);
      assert.deepEqual(entries.map((e) => [e.amount, e.balance_after]), [[-300, 700], [1000, 1000]]);
    });

    test('concurrent credit changes never lose an update', async () => {
      const id = await newUser('racer');
      await Promise.all(Array.from({ length: 20 }, () => ledgerService.apply({ userId: id, amount: 5, reason: 'tick', actorId: null, now: now() })));
      assert.equal(Number((await users.findById(id))!.credits), 100);
      assert.equal(await new LedgerRepository(t.handle.db).sumForUser(id), 100);
    });

    test("deleting a user keeps their events (and the ids are never reused)", async () => {
      const id = await newUser('ghost');
      const events = new EventsRepository(t.handle.db);
      await events.insert({ type: 'auth', action: 'login.succeeded', message: 'ghost logged in', userId: id, username: 'ghost', sourceIp: '127.0.0.1' }, now());
      await t.handle.db.deleteFrom('users').where('id', '=', id).execute();
      const kept = await events.list({ userId: id });
      assert.equal(kept.length, 1);
      assert.equal(kept[0]!.username, 'ghost');
      assert.ok((await newUser('newcomer')) > id, 'a new user does not inherit the old id');
    });

    test('sessions: live until revoked or expired', async () => {
      const id = await newUser('sess');
      const sessions = new SessionsRepository(t.handle.db, changes);
      const sid = await sessions.insert({ userId: id, tokenHash: 'a'.repeat(64), now: now(), expiresAt: later(60_000), sourceIp: '127.0.0.1', userAgent: null });
      await sessions.insert({ userId: id, tokenHash: 'b'.repeat(64), now: now(), expiresAt: later(-1), sourceIp: null, userAgent: null });
      assert.equal((await sessions.findLive('a'.repeat(64), now()))?.id, sid);
      assert.equal(await sessions.findLive('b'.repeat(64), now()), undefined, 'expired');
      await sessions.revoke(sid, now());
      assert.equal(await sessions.findLive('a'.repeat(64), now()), undefined, 'revoked');
    });

    test('tokens: expiry is honoured and only the owner can revoke', async () => {
      const owner = await newUser('tokowner');
      const other = await newUser('tokother');
      const tokens = new TokensRepository(t.handle.db, changes);
      const tok = await tokens.insert({ userId: owner, name: 'n', tokenHash: 'c'.repeat(64), prefix: 'twp_x', scope: 'read', now: now(), expiresAt: later(60_000) });
      assert.equal((await tokens.findLive('c'.repeat(64), now()))?.scope, 'read');
      assert.equal(await tokens.findLive('c'.repeat(64), later(120_000)), undefined);
      assert.equal(await tokens.revoke(other, tok.id, now()), undefined);
      assert.equal(await tokens.revoke(owner, tok.id, now()), 'n');
      assert.equal(await tokens.findLive('c'.repeat(64), now()), undefined);
    });
  });
}
