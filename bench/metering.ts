/**
 * Benchmark: one metering tick over 1,000 running VMs.
 *
 *   npm run bench:metering                                   (SQLite)
 *   METERING_BENCH_KINDS=sqlite,postgres TWARGA_TEST_PG_URL=postgres://… npm run bench:metering
 *   METERING_BENCH_VMS=5000 METERING_BENCH_TICKS=10 METERING_BENCH_SCENARIOS=early npm run bench:metering
 *
 * A real server (buildApp through the test harness, fake compute driver) on a fresh database;
 * 250 users and 1,000 running VMs are inserted directly, each with an hour begun and not paid,
 * so every tick charges every VM (1,000 usage rows, 250 balances) and then runs the balance
 * watch's sweep, exactly as the periodic job does (Metering.pass()). Two scenarios:
 *  - early:  the 2nd of the month, no VM near the monthly cap (no per-VM history lookup);
 *  - late:   the 29th, each VM already has 671 hourly usage rows this month (671,000 rows), so
 *            every tick must know how many hours the month charged (two index lookups per VM); the first tick takes each VM to the 672 h cap (one
 *            billing.monthly_cap event each), later ticks advance the VMs without charging.
 * Each scenario: TICKS ticks (clock +1 h between them); p50, p95 and max of the tick's wall time,
 * and its CPU time (SQLite runs in-process, so CPU time is the tick's cost without other load).
 * Target: p95 < 100 ms on SQLite in both. Exit code 0 when met, 1 otherwise. Databases are removed.
 */
import { performance } from 'node:perf_hooks';
import { createHarness, type Harness } from '../apps/server/src/test-support/harness.js';
import { FakeDriver } from '../apps/server/src/test-support/fake-driver.js';
import type { DbKind } from '../apps/server/src/test-support/databases.js';

const VMS = Number(process.env.METERING_BENCH_VMS ?? 1000);
const USERS = Math.max(1, Math.round(VMS / 4));
const TICKS = Number(process.env.METERING_BENCH_TICKS ?? 30);
const TARGET_P95_MS = 100;
const HOUR = 3_600_000;
const KINDS = (process.env.METERING_BENCH_KINDS ?? 'sqlite').split(',') as DbKind[];

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;

/** Moves the harness clock to an absolute time (it only moves by minutes). */
function setClock(h: Harness, at: number) {
  h.clock.advanceMinutes((at - h.clock.now().getTime()) / 60_000);
}

async function seed(h: Harness, monthStart: number, now: number, historyHours: number) {
  const db = h.db.handle.db;
  const iso = (ms: number) => new Date(ms).toISOString();
  const userIds: number[] = [];
  for (let i = 0; i < USERS; i += 200) {
    const rows = Array.from({ length: Math.min(200, USERS - i) }, (_, j) => ({ username: `bench${i + j}`, email: `bench${i + j}@example.com`, hashed_password: 'x', is_admin: 0 as const, is_active: 1 as const, credits: 1_000_000_000, created_at: iso(monthStart), updated_at: iso(monthStart) }));
    userIds.push(...(await db.insertInto('users').values(rows).returning('id').execute()).map((r) => r.id));
  }
  // Every VM's paid time ran out a minute ago: each tick charges each VM one hour.
  const vmIds: number[] = [];
  for (let i = 0; i < VMS; i += 100) {
    const rows = Array.from({ length: Math.min(100, VMS - i) }, (_, j) => ({
      user_id: userIds[(i + j) % USERS]!, name: `vm${i + j}`, status: 'running', os_type: 'linux', image: 'tiny', size: 's-1vcpu-1gb', ram: 1024, cpu: 1, disk: 1, price_hourly: 4, driver: 'fake', ssh_user: 'root', ssh_keys: '[]', locked: 0 as const, watchdog_reset: 0 as const,
      billed_until: iso(now - 60_000), created_at: iso(monthStart), updated_at: iso(monthStart),
    }));
    vmIds.push(...(await db.insertInto('vms').values(rows).returning('id').execute()).map((r) => r.id));
  }
  if (historyHours > 0) {
    // What a month of ticks leaves behind: one usage row per VM per hour.
    await db.transaction().execute(async (trx) => {
      let batch: object[] = [];
      for (let k = 0; k < historyHours; k++) {
        for (const [n, vmId] of vmIds.entries()) {
          const period = now - 60_000 - (historyHours - k) * HOUR;
          batch.push({ user_id: userIds[n % USERS]!, amount: -4, balance_after: 0, reason: 'history', actor_id: null, created_at: iso(period + HOUR), vm_id: vmId, kind: 'usage', period: iso(period), hours: 1 });
          if (batch.length === 100) {
            await trx.insertInto('credit_ledger').values(batch as never).execute();
            batch = [];
          }
        }
      }
      if (batch.length) await trx.insertInto('credit_ledger').values(batch as never).execute();
    });
  }
}

async function scenario(kind: DbKind, name: string, day: number, historyHours: number): Promise<{ p50: number; p95: number; max: number; ok: boolean }> {
  const h = await createHarness(kind, { logLevel: 'silent' }, new FakeDriver());
  try {
    const d = new Date();
    // A month with 31 days, so the 29th + TICKS hours stays inside it.
    const monthStart = Date.UTC(d.getUTCFullYear() + 1, 0, 1);
    const now = monthStart + (day - 1) * 24 * HOUR;
    const seeded = performance.now();
    await seed(h, monthStart, now, historyHours);
    setClock(h, now);
    const times: number[] = [];
    const cpu: number[] = [];
    let charged = 0;
    for (let t = 0; t < TICKS; t++) {
      const started = performance.now();
      const cpuStart = process.cpuUsage();
      const result = await h.services.metering.charge();
      times.push(performance.now() - started);
      const used = process.cpuUsage(cpuStart);
      cpu.push((used.user + used.system) / 1000);
      charged += result.charged;
      if (result.charged !== VMS) throw new Error(`tick ${t}: ${result.charged} VMs charged, expected ${VMS}`);
      h.clock.advanceMinutes(60);
    }
    const rows = Number((await h.db.handle.db.selectFrom('credit_ledger').select((eb) => eb.fn.countAll<number>().as('n')).where('reason', '!=', 'history').where('kind', '=', 'usage').executeTakeFirstOrThrow()).n);
    const r = { p50: pct(times, 50), p95: pct(times, 95), max: Math.max(...times), cpuP50: pct(cpu, 50), cpuP95: pct(cpu, 95) };
    const ok = r.p95 < TARGET_P95_MS || kind !== 'sqlite';
    console.log(
      `${kind.padEnd(8)} ${name.padEnd(6)} ${VMS} VMs × ${TICKS} ticks (seeded in ${((performance.now() - seeded) / 1000).toFixed(1)} s, ${rows} usage rows written, ${charged} VM charges): ` +
        `p50 ${r.p50.toFixed(1)} ms  p95 ${r.p95.toFixed(1)} ms  max ${r.max.toFixed(1)} ms  (CPU time p50 ${r.cpuP50.toFixed(1)} ms, p95 ${r.cpuP95.toFixed(1)} ms)  ${kind === 'sqlite' ? (ok ? 'OK' : `ABOVE the ${TARGET_P95_MS} ms target`) : '(no target)'}`,
    );
    return { ...r, ok };
  } finally {
    await h.close();
  }
}

const SCENARIOS = (process.env.METERING_BENCH_SCENARIOS ?? 'early,late').split(',');
let allOk = true;
for (const kind of KINDS) {
  if (SCENARIOS.includes('early')) allOk = (await scenario(kind, 'early', 2, 0)).ok && allOk;
  if (SCENARIOS.includes('late')) allOk = (await scenario(kind, 'late', 29, 28 * 24 - 1)).ok && allOk;
}
process.exit(allOk ? 0 : 1);
