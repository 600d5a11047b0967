import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, testDatabaseKinds, type TestDatabase } from '../../test-support/databases.js';
import { MetricsRepository, type SampleRow } from './metrics.repository.js';

const raw = (entityId: number, ts: number, cpu: number): SampleRow => ({ entity: 'vm', entity_id: entityId, resolution: 0, ts, cpu_percent: cpu, minmax: null });

for (const kind of testDatabaseKinds()) {
  describe(`metrics repository rollups (${kind})`, () => {
    let db: TestDatabase;
    let repo: MetricsRepository;
    before(async () => {
      db = await createTestDatabase(kind);
      repo = new MetricsRepository(db.handle.db);
    });
    after(() => db.cleanup());

    test('catch-up after a downtime goes in bounded steps, skips the gap, and loses no bucket', async () => {
      const t0 = 1_800_000_000 - (1_800_000_000 % 3600);
      const rows: SampleRow[] = [];
      // Three hours of one sample a minute for two VMs, then (after 10 days of silence) one more hour.
      for (let m = 0; m < 180; m++) rows.push(raw(1, t0 + m * 60, m % 100), raw(2, t0 + m * 60, 50));
      const t1 = t0 + 10 * 86400;
      for (let m = 0; m < 60; m++) rows.push(raw(1, t1 + m * 60, 7));
      await repo.insert(rows);
      const now = t1 + 2 * 3600;
      // As the collector's maintenance does it: each call handles at most 60 minutes / 6 hours.
      const calls: number[] = [];
      for (const [s, t] of [[0, 60], [60, 3600]] as const) {
        for (let n = -1; n !== 0; ) calls.push((n = await repo.rollup(s, t, now)));
      }
      assert.ok(calls.filter((n) => n > 0).length >= 4, `several bounded steps: ${calls}`);
      const minutes = await repo.points('vm', 1, 60, t0, now, ['cpu_percent']);
      assert.equal(minutes.length, 240, 'every minute with data, before and after the gap');
      const hours = await repo.points('vm', 1, 3600, t0, now, ['cpu_percent']);
      assert.deepEqual(hours.map((h) => h.ts), [t0, t0 + 3600, t0 + 7200, t1]);
      assert.deepEqual(hours[0]!.minmax?.cpu_percent, [0, 59]);
      assert.equal(hours[0]!.values.cpu_percent, 29.5);
      assert.deepEqual(hours[3]!.minmax?.cpu_percent, [7, 7]);
      const vm2 = await repo.points('vm', 2, 3600, t0, now, ['cpu_percent', 'disk_write_bps']);
      assert.equal(vm2.length, 3);
      assert.equal(vm2[0]!.values.disk_write_bps, null, 'never measured: null, not 0');
      assert.equal(await repo.rollup(0, 60, now), 0, 'nothing left to do');
      assert.equal(await repo.deleteOlder(0, now), 2 * 180 + 60);
    });
  });
}
