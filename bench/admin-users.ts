/**
 * Benchmark: the admin users list (GET /api/admin/users) with 10,000 users.
 *
 *   npm run bench:admin-users                                   (SQLite)
 *   ADMIN_BENCH_KINDS=sqlite,postgres TWARGA_TEST_PG_URL=postgres://… npm run bench:admin-users
 *   ADMIN_BENCH_USERS=50000 ADMIN_BENCH_REQUESTS=100 npm run bench:admin-users
 *
 * A real server (buildApp through the test harness, fake compute driver) on a fresh database;
 * USERS users are inserted directly (every 10th never signed in, every 50th inactive, every
 * 100th deleted) with 3,000 live VMs and 1,000 destroyed ones spread over them. Each request goes
 * through the whole stack in-process (app.inject: routing, the admin's bearer session, query
 * validation, the SQL, serialization of 100 rows), for the list's typical queries:
 *   first page (limit 100), a search (q), sort by VM count, sort by last login, the inactive
 *   filter, and the last page (offset near the end).
 * REQUESTS requests per query after 20 warm-up ones; p50 and p95 per query and over all.
 * Target: p95 < 50 ms on SQLite for every query. Exit code 0 when met, 1 otherwise. The
 * databases are removed; nothing leaves the process (no network at all).
 */
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { createHarness, type Harness } from '../apps/server/src/test-support/harness.js';
import { FakeDriver } from '../apps/server/src/test-support/fake-driver.js';
import type { DbKind } from '../apps/server/src/test-support/databases.js';

const USERS = Number(process.env.ADMIN_BENCH_USERS ?? 10_000);
const REQUESTS = Number(process.env.ADMIN_BENCH_REQUESTS ?? 200);
const WARMUP = 20;
const LIVE_VMS = 3_000;
const DESTROYED_VMS = 1_000;
const TARGET_P95_MS = 50;
const KINDS = (process.env.ADMIN_BENCH_KINDS ?? 'sqlite').split(',') as DbKind[];

const QUERIES: [string, string][] = [
  ['first page', 'limit=100'],
  ['search q', 'q=user12&limit=100'],
  ['sort vm_count', 'sort=vm_count&order=desc&limit=100'],
  ['sort last login', 'sort=last_login_at&order=desc&limit=100'],
  ['inactive', 'status=inactive&limit=100'],
  ['last page', `sort=username&limit=100&offset=${Math.max(0, USERS - 300)}`],
];

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;

async function seed(h: Harness) {
  const db = h.db.handle.db;
  const t0 = Date.UTC(2026, 0, 1);
  const iso = (ms: number) => new Date(ms).toISOString();
  const userIds: number[] = [];
  for (let i = 0; i < USERS; i += 500) {
    const rows = Array.from({ length: Math.min(500, USERS - i) }, (_, j) => {
      const n = i + j;
      return {
        username: `user${n}`, email: `User${n}@Example.com`, hashed_password: 'x', is_admin: 0 as const,
        is_active: (n % 50 === 0 || n % 100 === 0 ? 0 : 1) as 0 | 1, credits: (n * 7919) % 100_000,
        created_at: iso(t0 + n * 60_000), updated_at: iso(t0 + n * 60_000),
        last_login_at: n % 10 === 0 ? null : iso(t0 + ((n * 104_729) % 10_000_000) * 1000),
        deleted_at: n % 100 === 0 ? iso(t0 + n * 60_000) : null,
      };
    });
    userIds.push(...(await db.insertInto('users').values(rows).returning('id').execute()).map((r) => r.id));
  }
  for (let i = 0; i < LIVE_VMS + DESTROYED_VMS; i += 200) {
    const rows = Array.from({ length: Math.min(200, LIVE_VMS + DESTROYED_VMS - i) }, (_, j) => {
      const n = i + j;
      const destroyed = n >= LIVE_VMS;
      return {
        user_id: userIds[(n * 31) % userIds.length]!, name: `vm${n}`, status: destroyed ? 'destroyed' : 'running', os_type: 'linux', image: 'tiny', size: 's-1vcpu-1gb',
        ram: 1024, cpu: 1, disk: 1, price_hourly: 4, driver: 'fake', ssh_user: 'root', ssh_keys: '[]', locked: 0 as const, watchdog_reset: 0 as const,
        destroyed_at: destroyed ? iso(t0) : null, created_at: iso(t0), updated_at: iso(t0),
      };
    });
    await db.insertInto('vms').values(rows).execute();
  }
  // PostgreSQL plans from table statistics; a server that has run a while has them (autovacuum).
  if (h.db.handle.kind === 'postgres') await sql`analyze`.execute(db);
}

async function run(kind: DbKind): Promise<boolean> {
  const h = await createHarness(kind, { logLevel: 'silent' }, new FakeDriver());
  try {
    const seeded = performance.now();
    await seed(h);
    const seedS = (performance.now() - seeded) / 1000;
    const token = await h.adminToken();
    const all: number[] = [];
    let ok = true;
    console.log(`${kind}: ${USERS} users, ${LIVE_VMS} live + ${DESTROYED_VMS} destroyed VMs (seeded in ${seedS.toFixed(1)} s); ${REQUESTS} requests per query after ${WARMUP} warm-up`);
    for (const [name, query] of QUERIES) {
      const times: number[] = [];
      let total = '';
      for (let i = 0; i < WARMUP + REQUESTS; i++) {
        const started = performance.now();
        const res = await h.request({ method: 'GET', url: `/api/admin/users?${query}`, token });
        const ms = performance.now() - started;
        if (res.statusCode !== 200) throw new Error(`${query}: ${res.statusCode} ${res.body.slice(0, 200)}`);
        if (i === 0 && res.json().length === 0) throw new Error(`${query}: an empty page measures nothing`);
        total = String(res.headers['x-total-count']);
        if (i >= WARMUP) times.push(ms);
      }
      all.push(...times);
      const p95 = pct(times, 95);
      const met = p95 < TARGET_P95_MS;
      if (kind === 'sqlite') ok &&= met;
      console.log(`  ${name.padEnd(16)} (${total.padStart(5)} match)  p50 ${pct(times, 50).toFixed(1).padStart(5)} ms  p95 ${p95.toFixed(1).padStart(5)} ms  max ${Math.max(...times).toFixed(1).padStart(5)} ms  ${kind === 'sqlite' ? (met ? 'OK' : `ABOVE the ${TARGET_P95_MS} ms target`) : '(no target)'}`);
    }
    console.log(`  ${'all queries'.padEnd(29)}p50 ${pct(all, 50).toFixed(1).padStart(5)} ms  p95 ${pct(all, 95).toFixed(1).padStart(5)} ms`);
    return ok;
  } finally {
    await h.close();
  }
}

let allOk = true;
for (const kind of KINDS) allOk = (await run(kind)) && allOk;
process.exit(allOk ? 0 : 1);
