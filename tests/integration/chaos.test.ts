import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiClient } from '@twarga/contract';
import { ChaosChecks, chaosRounds, prng, qemusOf, sqliteVmRows } from '../support/chaos.js';
import { startServer } from '../support/server.js';

/**
 * Crash safety: the real server (built, as `npm start` runs it) with real QEMU is killed with
 * SIGKILL at random moments of create, stop, start and destroy, then started again. After each
 * restart: the cut action is carried on to its end, no VM stays in a transitional status past the
 * reconciler's period without an action working on it, every VM ends steady, no QEMU of this data
 * dir runs without a live running VM, no VM is lost, and the ledger charges exactly the hours each
 * VM really existed. TWARGA_CHAOS_SEED repeats a run (the seed is printed); TWARGA_CHAOS_ROUNDS
 * sets its length. Two processes on PostgreSQL: chaos-cluster.test.ts.
 */
const ADMIN_PASSWORD = 'chaos-admin-pw';
const RECONCILE_SECONDS = 1;

describe('crash safety: kill -9 of the server during VM actions (real QEMU)', () => {
  const seed = Number(process.env.TWARGA_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const rounds = Number(process.env.TWARGA_CHAOS_ROUNDS ?? 12);
  let dataDir: string;
  let server: Awaited<ReturnType<typeof startServer>>;
  let api: ApiClient;
  let token: string;
  const env = () => ({
    TWARGA_DATA_DIR: dataDir, TWARGA_ADMIN_PASSWORD: ADMIN_PASSWORD, TWARGA_ACCEL: 'tcg', TWARGA_RECONCILE_SECONDS: String(RECONCILE_SECONDS),
    TWARGA_SSH_PORTS: '23300-23399', TWARGA_STOP_TIMEOUT_SECONDS: '3', TWARGA_MAX_VMS_PER_USER: '10',
  });

  before(async () => {
    process.stdout.write(`# chaos seed ${seed} (TWARGA_CHAOS_SEED=${seed} to replay), ${rounds} rounds\n`);
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-chaos-'));
    server = await startServer(env());
    const anon = new ApiClient({ baseUrl: server.base });
    await anon.auth.register({ username: 'chaos', email: 'chaos@example.com', password: 'correct horse battery' });
    token = (await anon.auth.login('chaos', 'correct horse battery')).access_token;
    api = new ApiClient({ baseUrl: server.base, token });
  });

  after(async () => {
    await server?.stop().catch(() => {});
    // Every QEMU of this data dir, by PID (never by name): also one a bug left without a pidfile.
    for (const pids of qemusOf(dataDir).values()) for (const pid of pids) process.kill(pid, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  const vmRows = () => sqliteVmRows(dataDir);

  test(`${rounds} rounds of kill -9 during create, stop, start and destroy`, { timeout: 240_000 }, async (t) => {
    const checks = new ChaosChecks({ dataDir, api: () => api, vmRows, graceMs: (RECONCILE_SECONDS + 2) * 1000 });
    const cut = await chaosRounds({
      checks, rounds, seed, random: prng(seed), t,
      apiOf: () => api,
      kill: async () => {
        await server.kill();
        server = await startServer(env());
        api = new ApiClient({ baseUrl: server.base, token });
        return Date.now();
      },
    });
    t.diagnostic(`actions cut by the kill and carried on after the restart: ${JSON.stringify(cut)}`);
    assert.equal(qemusOf(dataDir).size, 0);
  });
});
