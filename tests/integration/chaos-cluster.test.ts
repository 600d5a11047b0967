import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { ApiClient } from '@twarga/contract';
import { ChaosChecks, chaosRounds, prng, qemusOf, type VmBillingRow } from '../support/chaos.js';
import { createThrowawayDatabase } from '../support/pg-database.js';
import { startServer } from '../support/server.js';

/**
 * Crash safety with two server processes on one PostgreSQL and one data dir (real QEMU): each
 * round sends create, stop, start or destroy to one process and kills it with SIGKILL 5–300 ms
 * later. The other process alone must carry the cut action on once its lease runs out (taking the
 * cluster's jobs over if the dead one led them), well within 15 s, with the same checks as the
 * single-process test: nothing lost, no orphan QEMU, nothing stuck, no hour charged twice. Then
 * the killed process is started again for the next round. TWARGA_CHAOS_SEED replays a run.
 */
const ADMIN_PASSWORD = 'chaos-admin-pw';
const RECONCILE_SECONDS = 1;
const LEASE_SECONDS = 3;
const TAKEOVER_LIMIT_MS = 15_000;

type Server = Awaited<ReturnType<typeof startServer>>;

describe('crash safety: kill -9 of one of two server processes on PostgreSQL (real QEMU)', { skip: process.env.TWARGA_TEST_PG_URL ? false : 'needs TWARGA_TEST_PG_URL' }, () => {
  const seed = Number(process.env.TWARGA_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const rounds = Number(process.env.TWARGA_CHAOS_CLUSTER_ROUNDS ?? 6);
  let database: Awaited<ReturnType<typeof createThrowawayDatabase>>;
  let dbUrl: string;
  let dataDir: string;
  const servers: Server[] = [];
  let token: string;
  const apiOf = (s: Server) => new ApiClient({ baseUrl: s.base, token });
  const env = () => ({
    TWARGA_DATA_DIR: dataDir, TWARGA_DATABASE_URL: dbUrl, TWARGA_ADMIN_PASSWORD: ADMIN_PASSWORD, TWARGA_ACCEL: 'tcg',
    TWARGA_RECONCILE_SECONDS: String(RECONCILE_SECONDS), TWARGA_ACTION_LEASE_SECONDS: String(LEASE_SECONDS),
    TWARGA_SSH_PORTS: '28450-28499', TWARGA_STOP_TIMEOUT_SECONDS: '3', TWARGA_MAX_VMS_PER_USER: '10',
  });

  before(async () => {
    process.stdout.write(`# chaos seed ${seed} (TWARGA_CHAOS_SEED=${seed} to replay), ${rounds} rounds over two processes\n`);
    database = await createThrowawayDatabase('twarga_chaos');
    dbUrl = database.url;
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-chaos-cluster-'));
    // One after the other: the first one migrates the database and makes the admin.
    servers.push(await startServer(env()));
    servers.push(await startServer(env()));
    const anon = new ApiClient({ baseUrl: servers[0]!.base });
    await anon.auth.register({ username: 'chaos', email: 'chaos@example.com', password: 'correct horse battery' });
    token = (await anon.auth.login('chaos', 'correct horse battery')).access_token;
  });

  after(async () => {
    for (const s of servers) await s.stop().catch(() => {});
    for (const pids of qemusOf(dataDir).values()) for (const pid of pids) process.kill(pid, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    await database?.drop().catch(() => {});
  });

  const vmRows = async () => {
    const c = new pg.Client({ connectionString: dbUrl });
    await c.connect();
    try {
      const { rows } = await c.query<VmBillingRow>('SELECT id, price_hourly, billed_until, created_at, destroyed_at FROM vms');
      return rows.map((r) => ({ ...r, billed_until: iso(r.billed_until), created_at: iso(r.created_at)!, destroyed_at: iso(r.destroyed_at) }));
    } finally {
      await c.end();
    }
  };

  test(`${rounds} rounds: one process killed during create, stop, start or destroy; the other carries on`, { timeout: 300_000 }, async (t) => {
    /** The process that survives round r (the other one is killed). */
    const survivor = (round: number) => servers[(round + 1) % 2]!;
    let round = 0;
    const takeovers: number[] = [];
    const checks = new ChaosChecks({ dataDir, api: () => apiOf(survivor(round)), vmRows, graceMs: (LEASE_SECONDS + RECONCILE_SECONDS + 2) * 1000 });
    const cut = await chaosRounds({
      checks, rounds, seed, random: prng(seed), t,
      apiOf: (r) => apiOf(servers[r % 2]!),
      kill: async (r) => {
        round = r;
        const victim = servers[r % 2]!;
        await victim.kill();
        const killedAt = Date.now();
        // The survivor alone settles everything; the victim comes back after the checks (next kill's turn).
        await checks.settle(killedAt, `round ${r}: takeover`, TAKEOVER_LIMIT_MS);
        takeovers.push(Date.now() - killedAt);
        servers[r % 2] = await startServer(env());
        return killedAt;
      },
    });
    takeovers.sort((a, b) => a - b);
    t.diagnostic(`actions cut by the kill and carried on by the other process: ${JSON.stringify(cut)}`);
    t.diagnostic(`from the kill to every VM steady: median ${takeovers[takeovers.length >> 1]} ms, max ${takeovers.at(-1)} ms (lease ${LEASE_SECONDS} s)`);
    assert.equal(qemusOf(dataDir).size, 0);
  });
});

const iso = (v: unknown): string | null => (v === null ? null : new Date(v as string).toISOString());
