import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Event, StreamEvent } from '@twarga/contract';
import { openEventStream } from '../../test-support/event-stream.js';
import { createHarness, type Harness } from '../../test-support/harness.js';
import { testDatabaseKinds } from '../../test-support/databases.js';
import type { NewEvent } from './events.repository.js';

/** An open events stream that also finds the recorded events received with a message. */
async function openStream(base: string, token: string) {
  const { received, close } = await openEventStream(base, token);
  return {
    /** The recorded events this stream received with that message. */
    events: (message: string) => received.flatMap((m) => (m.kind === 'event' && m.event.message === message ? [m.event] : [])),
    close,
  };
}

const settle = () => new Promise((r) => setTimeout(r, 300));

for (const kind of testDatabaseKinds()) {
  describe(`the event log publishes what it stores on the live bus (${kind})`, () => {
    let h: Harness;
    let base: string;
    let alice: { id: number; token: string };
    let bob: { id: number; token: string };
    let admin: string;
    before(async () => {
      h = await createHarness(kind);
      await h.app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
      alice = await h.user('alice');
      bob = await h.user('bob');
      admin = await h.adminToken();
    });
    after(() => h.close());

    test("recording an event sends it once to its owner's stream and to an admin's, never to another user's", async () => {
      const streams = { alice: await openStream(base, alice.token), bob: await openStream(base, bob.token), admin: await openStream(base, admin) };
      try {
        const owned = 'SSH key "laptop" added (published once?)';
        const nobodys = 'Registration attempt while registration is closed (published to admins?)';
        await h.services.events.record({ type: 'auth', action: 'ssh_key.added', message: owned, userId: alice.id, username: 'alice', sourceIp: '127.0.0.1', details: { key_id: 7 } });
        await h.services.events.record({ type: 'security', severity: 'warning', action: 'register.denied', message: nobodys, sourceIp: '192.0.2.9' });
        await settle();

        const [stored] = (await h.services.events.list({ action: 'ssh_key.added' })).filter((e) => e.message === owned);
        assert.ok(stored, 'the event is in the log');
        assert.deepEqual(streams.alice.events(owned), [stored], 'the owner gets the stored event, exactly once');
        assert.deepEqual(streams.admin.events(owned), [stored], 'an admin gets it too');
        assert.deepEqual(streams.bob.events(owned), [], 'another user does not');

        assert.equal(streams.admin.events(nobodys).length, 1, "an event without a user goes to admins");
        assert.equal(streams.admin.events(nobodys)[0]!.source_ip, '192.0.2.9');
        assert.deepEqual(streams.alice.events(nobodys), []);
        assert.deepEqual(streams.bob.events(nobodys), []);
      } finally {
        for (const s of Object.values(streams)) s.close();
      }
    });

    test('a flood of one security event is published once per stored write, not per occurrence, and ends with the full count', async () => {
      const seen: Event[] = [];
      const unsubscribe = h.services.events.subscribe((e) => seen.push(e));
      try {
        const message = '403 on GET /api/admin/users: admin_only (flood)';
        const denied: NewEvent = { type: 'security', severity: 'warning', action: 'access.denied', message, userId: bob.id, username: 'bob', sourceIp: '127.0.0.1' };
        await Promise.all(Array.from({ length: 200 }, () => h.services.events.record(denied)));
        const published = seen.filter((e) => e.message === message);
        const [row] = (await h.services.events.list({ action: 'access.denied' })).filter((e) => e.message === message);
        assert.equal(row?.count, 200);
        assert.ok(published.length >= 1 && published.length <= 3, `published ${published.length} times for 200 occurrences`);
        assert.ok(published.every((e) => e.id === row.id), 'every publication is the one stored row');
        assert.equal(published.at(-1)!.count, 200, 'the last publication carries the stored count');
      } finally {
        unsubscribe();
      }
    });

    test('a failing listener neither fails the recording nor keeps the event from the listeners after it', async () => {
      const seen: Event[] = [];
      const unsubscribe = [
        h.services.events.subscribe(() => {
          throw new Error('a broken rule');
        }),
        h.services.events.subscribe((e) => seen.push(e)),
      ];
      try {
        const message = 'logout while a listener throws';
        await h.services.events.record({ type: 'auth', action: 'logout', message, userId: alice.id });
        assert.equal((await h.services.events.list({ action: 'logout' })).filter((e) => e.message === message).length, 1, 'stored');
        assert.equal(seen.filter((e) => e.message === message).length, 1, 'the next listener still got it');
      } finally {
        for (const u of unsubscribe) u();
      }
    });

    test('record() takes only the codes the contract lists (checked by the type checker)', () => {
      // Never called: `npm run typecheck` fails if an unknown code stops being a type error.
      const misspelt = () =>
        h.services.events.record({
          type: 'auth',
          // @ts-expect-error 'login.failled' is not an EventCode
          action: 'login.failled',
          message: 'a typo',
        });
      assert.equal(typeof misspelt, 'function');
    });
  });
}
