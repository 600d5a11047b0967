import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, testDatabaseKinds, type TestDatabase } from '../../../test-support/databases.js';
import { IncidentsRepository, type NewIncident } from './incidents.repository.js';

/** The engine's additions of one batch: one UPDATE for many incidents (CASE per id), only active ones. */
for (const kind of testDatabaseKinds()) {
  describe(`IncidentsRepository.addEventsMany (${kind})`, () => {
    let db: TestDatabase;
    let repo: IncidentsRepository;
    before(async () => {
      db = await createTestDatabase(kind);
      repo = new IncidentsRepository(db.handle.db);
    });
    after(() => db.cleanup());

    const t = (s: number) => new Date(Date.UTC(2026, 10, 30, 12, 0, s)).toISOString();
    const open = async (key: string) => {
      const i: NewIncident = {
        rule_id: 'ssh_brute_force', title: key, severity: 'warning', mitre: 'T1110.001', group_key: key, group: { source_ip: key },
        source_ip: null, vm_id: null, user_id: null, event_count: 5, first_seen: t(0), last_seen: t(30),
      };
      return (await repo.insert(i, t(30)))!;
    };

    test('each incident gets its own increase and the later last_seen; a resolved one is left alone and missing from the answer', async () => {
      const [a, b, c] = [await open('a'), await open('b'), await open('c')];
      assert.equal(await repo.setStatus(c.id, 'open', 'resolved', t(31)), 'ok');
      // 450 incidents' worth: more than one statement's chunk.
      const extra = [];
      for (let i = 0; i < 447; i++) extra.push(await open(`x${i}`));
      const counts = await repo.addEventsMany(
        [
          { id: a.id, n: 3, lastSeen: t(40) },
          { id: b.id, n: 1, lastSeen: t(10) },
          { id: c.id, n: 7, lastSeen: t(50) },
          ...extra.map((x, i) => ({ id: x.id, n: 1 + (i % 4), lastSeen: t(45) })),
        ],
        t(60),
      );
      assert.equal(counts.get(a.id), 8);
      assert.equal(counts.get(b.id), 6);
      assert.equal(counts.has(c.id), false, 'resolved: not added to');
      assert.equal(counts.get(extra[446]!.id), 5 + 1 + (446 % 4), 'the last chunk too');
      assert.equal(counts.size, 2 + 447);
      const [ra, rb, rc] = [await repo.find(a.id), await repo.find(b.id), await repo.find(c.id)];
      assert.deepEqual([ra!.event_count, ra!.last_seen, ra!.updated_at], [8, t(40), t(60)]);
      assert.deepEqual([rb!.event_count, rb!.last_seen], [6, t(30)], 'an older last_seen does not move it back');
      assert.deepEqual([rc!.event_count, rc!.last_seen, rc!.status], [5, t(30), 'resolved']);
    });
  });
}
