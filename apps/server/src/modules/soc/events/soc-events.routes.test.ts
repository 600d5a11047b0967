import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Event } from '@twarga/contract';
import { testDatabaseKinds } from '../../../test-support/databases.js';
import { FakeDriver } from '../../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../../test-support/harness.js';
import { EventsRepository, type NewEvent } from '../../events/events.repository.js';

type User = { id: number; token: string };

for (const kind of testDatabaseKinds()) {
  describe(`SOC events API: list, filters, pages, search, visibility (${kind})`, () => {
    let h: Harness;
    let admin: string;
    let alice: User;
    let bob: User;
    let aliceVm: number;
    let bobVm: number;
    let repo: EventsRepository;
    const at = (minutesAgo: number) => new Date(h.clock.now().getTime() - minutesAgo * 60_000).toISOString();
    const add = (e: Partial<NewEvent>, minutesAgo = 0) =>
      repo.insert({ type: 'security', severity: 'warning', action: 'ssh.login_failed', message: 'Failed password', ...e } as NewEvent, at(minutesAgo));
    const get = (url: string, token: string) => h.request({ method: 'GET', url, token });
    const ids = (events: Event[]) => events.map((e) => e.id);

    before(async () => {
      h = await createHarness(kind, { sshPortRange: '25900-25999' }, new FakeDriver());
      repo = new EventsRepository(h.db.handle.db);
      admin = await h.adminToken();
      alice = await h.user('alice');
      bob = await h.user('bob');
      aliceVm = await h.vm(alice, 'web');
      bobVm = await h.vm(bob, 'db');
    });
    after(() => h.close());

    test('GET /api/soc/events: an array of events, newest first, 50 by default, each with its code', async () => {
      for (let i = 0; i < 55; i++) await add({ userId: alice.id, username: 'alice', message: `bulk ${i}`, details: { port: 40000 + i } });
      const res = await get('/api/soc/events', alice.token);
      assert.equal(res.statusCode, 200, res.body);
      const events = res.json() as Event[];
      assert.equal(events.length, 50);
      assert.deepEqual(ids(events), [...ids(events)].sort((a, b) => b - a), 'newest first');
      assert.equal(events[0]!.message, 'bulk 54');
      assert.equal(events[0]!.code, 'ssh.login_failed');
      assert.equal(events[0]!.action, 'ssh.login_failed');
      assert.deepEqual(events[0]!.details, { port: 40054 });
      assert.ok(res.headers['x-next-cursor'], 'more pages: a cursor');
    });

    test('each filter narrows to exactly the matching events', async () => {
      const mark = `f${Date.now()}`;
      const fixture = [
        await add({ type: 'auth', severity: 'info', action: 'login.succeeded', userId: alice.id, username: 'alice', sourceIp: '198.51.100.1', message: `${mark} signed in` }, 120),
        await add({ type: 'security', severity: 'critical', action: 'ssh.login_succeeded', userId: alice.id, vmId: aliceVm, sourceIp: '198.51.100.2', message: `${mark} ssh ok` }, 60),
        await add({ type: 'security', severity: 'warning', action: 'ssh.invalid_user', userId: bob.id, vmId: bobVm, sourceIp: '198.51.100.2', message: `${mark} invalid` }, 30),
        await add({ type: 'vm', severity: 'info', action: 'vm.start', userId: bob.id, vmId: bobVm, message: `${mark} started` }, 10),
      ];
      const cases: [string, (e: Event) => boolean][] = [
        ['type=auth', (e) => e.type === 'auth'],
        ['severity=critical', (e) => e.severity === 'critical'],
        ['code=ssh.invalid_user', (e) => e.code === 'ssh.invalid_user'],
        [`vm_id=${bobVm}`, (e) => e.vm_id === bobVm],
        [`user_id=${alice.id}`, (e) => e.user_id === alice.id],
        ['source_ip=198.51.100.2', (e) => e.source_ip === '198.51.100.2'],
        [`from=${encodeURIComponent(at(45))}`, (e) => e.timestamp >= at(45)],
        [`to=${encodeURIComponent(at(45))}`, (e) => e.timestamp < at(45)],
        [`from=${encodeURIComponent(at(90))}&to=${encodeURIComponent(at(20))}`, (e) => e.timestamp >= at(90) && e.timestamp < at(20)],
      ];
      for (const [filter, keep] of cases) {
        const res = await get(`/api/soc/events?limit=500&q=${mark}&${filter}`, admin);
        assert.equal(res.statusCode, 200, `${filter}: ${res.body}`);
        const got = res.json() as Event[];
        assert.ok(got.length > 0 && got.length < fixture.length, `${filter} narrows: ${got.length}`);
        assert.deepEqual(ids(got), ids(fixture.filter(keep)).reverse(), filter);
      }
      // Without q, the filter alone: every row satisfies it and the fixture's matching rows are there.
      const all = (await get(`/api/soc/events?limit=500&severity=critical`, admin)).json() as Event[];
      assert.ok(all.every((e) => e.severity === 'critical'));
      assert.ok(all.some((e) => e.id === fixture[1]!.id));
    });

    test('bad input: 400 with the one error body', async () => {
      const cursor = Buffer.from('nope').toString('base64url');
      for (const url of [
        `/api/soc/events?cursor=${cursor}`,
        '/api/soc/events?cursor=%22%3B--',
        `/api/soc/events?from=${encodeURIComponent(at(1))}&to=${encodeURIComponent(at(10))}`,
        '/api/soc/events?from=yesterday',
        '/api/soc/events?limit=0',
        '/api/soc/events?limit=501',
        '/api/soc/events?severity=bogus',
        '/api/soc/events?code=DROP%20TABLE',
        '/api/soc/events?vm_id=abc',
        '/api/soc/events?colour=red',
        '/api/soc/events/export?format=xml',
        `/api/soc/statistics?from=${encodeURIComponent(at(1))}&to=${encodeURIComponent(at(10))}`,
      ]) {
        const res = await get(url, alice.token);
        assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
        const body = res.json();
        assert.equal(body.code, 'validation_failed', url);
        assert.ok(body.message && body.request_id, url);
      }
    });

    test('cursor pages walk every event once, in order, while new events arrive', async () => {
      const seen: number[] = [];
      let url: string | undefined = '/api/soc/events?limit=7';
      let pages = 0;
      let newest = 0;
      const arrived: number[] = [];
      while (url) {
        const res = await get(url, alice.token);
        assert.equal(res.statusCode, 200, res.body);
        const page = res.json() as Event[];
        if (pages === 0) newest = page[0]!.id;
        seen.push(...ids(page));
        const next = res.headers['x-next-cursor'] as string | undefined;
        const link = res.headers.link as string | undefined;
        if (next) {
          assert.equal(page.length, 7);
          assert.match(link ?? '', /^<\/api\/soc\/events\?limit=7&cursor=[A-Za-z0-9_-]+>; rel="next"$/);
          assert.ok(link!.includes(`cursor=${next}`));
          url = link!.slice(1, link!.indexOf('>'));
        } else {
          assert.equal(link, undefined, 'no Link on the last page');
          url = undefined;
        }
        // Someone keeps acting while the pages are read: the walk neither repeats nor skips.
        arrived.push((await add({ userId: alice.id, message: `arrived during page ${pages}` })).id);
        pages++;
      }
      assert.ok(pages >= 9, `${pages} pages`);
      assert.equal(new Set(seen).size, seen.length, 'no duplicates');
      assert.deepEqual(seen, [...seen].sort((a, b) => b - a), 'strictly newest first');
      const expected = ((await get('/api/soc/events?limit=500', alice.token)).json() as Event[]).filter((e) => e.id <= newest);
      assert.deepEqual(seen, ids(expected), 'no gaps: every event up to the first page');
      assert.ok(arrived.every((id) => id > newest && !seen.includes(id)));
    });

    test('full-text q: a word only in the details, several words (all must match), an address, a code', async () => {
      const inDetails = await add({ userId: alice.id, message: 'Invalid user from somewhere', details: { user: 'zanzibarquux', port: 51234 } });
      const other = await add({ userId: alice.id, message: 'Invalid user', details: { user: 'otherquux' } });
      const addr = await add({ userId: alice.id, message: 'refused', sourceIp: '203.0.113.77', details: { user: 'root' } });
      const q = async (text: string, token = alice.token) => {
        const res = await get(`/api/soc/events?limit=500&q=${encodeURIComponent(text)}`, token);
        assert.equal(res.statusCode, 200, `${text}: ${res.body}`);
        return ids(res.json());
      };
      assert.deepEqual(await q('zanzibarquux'), [inDetails.id]);
      assert.deepEqual(await q('ZANZIBARQUUX invalid'), [inDetails.id], 'case-insensitive, every word');
      assert.deepEqual(await q('zanzibarquux refused'), [], 'all words must match');
      assert.deepEqual(await q('otherquux'), [other.id]);
      assert.deepEqual(await q('203.0.113.77'), [addr.id]);
      assert.ok((await q('ssh.login_failed zanzibarquux')).includes(inDetails.id), 'the code is searchable');
      assert.deepEqual(await q('zanzibarquux', bob.token), [], "not in another user's search");
    });

    test('hostile q strings never break the query: 200, and quotes are just characters', async () => {
      const quoted = await add({ userId: alice.id, message: 'said "hello" OR NEAR(x) col:val it\'s *', details: {} });
      for (const text of ['"', '""', '*', 'OR', 'AND', 'NOT', 'NEAR(', 'NEAR(a b)', ':', "'", "it's", 'message:root', '^start', 'a OR', '(', ')', '-', '+', '\\', '%', '_', '\u0000', "'; DROP TABLE events; --", 'a"b', '"unterminated', '* OR *', 'x:y:z', '{}', '!!', 'ab*', '& | !', '<->', '😀']) {
        for (const token of [alice.token, admin]) {
          const res = await get(`/api/soc/events?q=${encodeURIComponent(text)}`, token);
          assert.equal(res.statusCode, 200, `q=${text}: ${res.body}`);
          assert.ok(Array.isArray(res.json()));
        }
      }
      const found = ids((await get(`/api/soc/events?q=${encodeURIComponent('"hello" NEAR(x) col:val')}`, alice.token)).json());
      assert.ok(found.includes(quoted.id), 'words around operators are searched as words');
    });

    test("visibility: a user sees their account's and their VMs' events only; admins see all", async () => {
      const bobsOwn = await add({ userId: bob.id, username: 'bob', message: 'bob private thing', details: { secret: 'bobsecretword' } });
      // Bob's attempt on Alice's VM is about Alice's VM: Alice sees it too.
      const onAlicesVm = await add({ type: 'security', action: 'terminal.denied', userId: bob.id, username: 'bob', vmId: aliceVm, message: 'bob asked for a terminal on VM web' });
      const noOwner = await add({ type: 'vm', action: 'vm.orphan_removed', vmId: null, message: 'orphan' });
      const list = async (token: string, query = 'limit=500') => ids((await get(`/api/soc/events?${query}`, token)).json());
      const aliceSees = await list(alice.token);
      assert.ok(!aliceSees.includes(bobsOwn.id));
      assert.ok(aliceSees.includes(onAlicesVm.id), "another user's event on Alice's VM");
      assert.ok(!aliceSees.includes(noOwner.id));
      const rows = (await get('/api/soc/events?limit=500', alice.token)).json() as Event[];
      assert.ok(rows.every((e) => e.user_id === alice.id || e.vm_id === aliceVm), 'only her account and VM');
      // Filters narrow what one may see; they never widen it.
      assert.deepEqual(await list(alice.token, `user_id=${bob.id}&limit=500`), [onAlicesVm.id], "only Bob's events about Alice's VM");
      assert.deepEqual(await list(alice.token, `vm_id=${bobVm}`), []);
      assert.deepEqual(await list(alice.token, 'q=bobsecretword'), []);
      assert.deepEqual(await list(alice.token, 'q=asked+terminal'), [onAlicesVm.id], "a search finds another user's event on her VM");
      assert.deepEqual(await list(bob.token, 'q=bobsecretword'), [bobsOwn.id]);
      for (const url of [`/api/soc/events/${bobsOwn.id}`, `/api/soc/events/${noOwner.id}`, '/api/soc/events/999999']) {
        const res = await get(url, alice.token);
        assert.equal(res.statusCode, 404, `${url}: ${res.body}`);
        assert.equal(res.json().code, 'not_found');
        assert.ok(!res.body.includes('bobsecretword'));
      }
      const csv = await get(`/api/soc/events/export?format=csv&user_id=${bob.id}`, alice.token);
      assert.ok(!csv.body.includes('bob private thing'));
      const adminSees = await list(admin);
      for (const e of [bobsOwn, onAlicesVm, noOwner]) assert.ok(adminSees.includes(e.id));
      assert.equal((await get(`/api/soc/events/${bobsOwn.id}`, admin)).statusCode, 200);
    });

    test('event detail: the event and its related events (same address, same VM, same incident)', async () => {
      const ip = '192.0.2.55';
      const earlier = await add({ userId: alice.id, vmId: aliceVm, sourceIp: ip, message: 'first try' });
      const otherVm = await add({ userId: alice.id, sourceIp: ip, message: 'control plane try' });
      const bobsFromIp = await add({ userId: bob.id, vmId: bobVm, sourceIp: ip, message: 'bob from same ip' });
      const target = await add({ userId: alice.id, vmId: aliceVm, sourceIp: ip, message: 'second try' });
      const res = await get(`/api/soc/events/${target.id}`, alice.token);
      assert.equal(res.statusCode, 200, res.body);
      const d = res.json();
      assert.equal(d.event.id, target.id);
      assert.equal(d.event.code, 'ssh.login_failed');
      assert.deepEqual(ids(d.related.same_source), [otherVm.id, earlier.id], "same address, newest first, not itself, not Bob's");
      assert.ok(ids(d.related.same_vm).includes(earlier.id));
      assert.ok(!ids(d.related.same_vm).includes(target.id) && !ids(d.related.same_vm).includes(otherVm.id));
      assert.ok(d.related.same_vm.length <= 10);
      assert.deepEqual(d.related.same_incident, []);
      const asAdmin = (await get(`/api/soc/events/${target.id}`, admin)).json();
      assert.deepEqual(ids(asAdmin.related.same_source), [bobsFromIp.id, otherVm.id, earlier.id], 'admins: every related event');
    });

    test('with the detection part: an event of an incident lists the incident\'s other events; statistics count the incident', async () => {
      const ip = '198.51.100.66';
      for (let port = 50001; port <= 50006; port++) {
        await h.services.events.record({ type: 'security', severity: 'warning', action: 'ssh.login_failed', message: `Failed password for root from ${ip} port ${port} ssh2`, userId: alice.id, vmId: aliceVm, sourceIp: ip, details: { user: 'root', port } });
      }
      const failures = (await get(`/api/soc/events?source_ip=${ip}&code=ssh.login_failed`, alice.token)).json() as Event[];
      assert.equal(failures.length, 6);
      let related: Event[] = [];
      for (const deadline = Date.now() + 5_000; Date.now() < deadline && related.length === 0; ) {
        related = (await get(`/api/soc/events/${failures[0]!.id}`, alice.token)).json().related.same_incident;
        if (!related.length) await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(related.length >= 4, `the brute force incident's other failures: ${related.length}`);
      assert.ok(related.every((e) => e.source_ip === ip && e.id !== failures[0]!.id));
      assert.ok((await get('/api/soc/statistics', alice.token)).json().open_incidents >= 1);
      assert.equal((await get('/api/soc/statistics', bob.token)).json().open_incidents, 0, "not Bob's");
    });

    test('repeats folded into one row stay one searchable row with their count', async () => {
      const e: NewEvent = { type: 'security', severity: 'warning', action: 'access.denied', message: 'refused: admin only', userId: alice.id, sourceIp: '127.0.0.1', details: { path: '/api/admin/foldmarker' } };
      await h.services.events.record(e);
      await h.services.events.record(e);
      await h.services.events.record(e);
      const found = (await get('/api/soc/events?q=foldmarker', alice.token)).json() as Event[];
      assert.equal(found.length, 1);
      assert.equal(found[0]!.count, 3);
    });
  });
}
