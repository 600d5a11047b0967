import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { ApiClient, type Vm } from '@twarga/contract';
import { startServer } from '../support/server.js';

/**
 * Crash safety: the real server (built, as `npm start` runs it) with real QEMU is killed with
 * SIGKILL at random moments of create, stop, start and destroy, then started again. After each
 * restart: no VM stays in a transitional status past the reconciler's period without an action
 * working on it, every VM ends steady, no QEMU of this data dir runs without a live running VM,
 * no VM is lost, and the ledger charges exactly the hours each VM really existed.
 * TWARGA_CHAOS_SEED repeats a run (the seed is printed); TWARGA_CHAOS_ROUNDS sets its length.
 */
const ADMIN_PASSWORD = 'chaos-admin-pw';
const RECONCILE_SECONDS = 1;
const HOUR_MS = 3_600_000;
const TRANSITIONAL = new Set(['pending', 'provisioning', 'stopping', 'rebooting', 'destroying']);
const OPS = ['create', 'stop', 'start', 'destroy'] as const;
type Op = (typeof OPS)[number];

/** mulberry32: a small seeded PRNG, so a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Live (non-zombie) QEMU processes whose command line points into this data dir, by VM id. */
function qemusOf(dataDir: string): Map<number, number[]> {
  const found = new Map<number, number[]>();
  const vmsDir = path.join(dataDir, 'vms') + path.sep;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (!args.some((a) => a.startsWith(vmsDir))) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
      const name = args[args.indexOf('-name') + 1] ?? '';
      const id = Number(/^vm-(\d+),/.exec(name)?.[1] ?? NaN);
      if (!Number.isInteger(id)) continue;
      found.set(id, [...(found.get(id) ?? []), Number(entry)]);
    } catch {
      /* the process ended meanwhile */
    }
  }
  return found;
}

/** When a process started (ms since the epoch), from /proc like the driver reads it. */
function processStart(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))![1]);
  return btime * 1000 + ticks * 10;
}

describe('crash safety: kill -9 of the server during VM actions (real QEMU)', () => {
  const seed = Number(process.env.TWARGA_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const rounds = Number(process.env.TWARGA_CHAOS_ROUNDS ?? 24);
  const random = prng(seed);
  let dataDir: string;
  let server: Awaited<ReturnType<typeof startServer>>;
  let api: ApiClient;
  let token: string;
  /** What each VM we made should be: live, or destroyed (its destroy was accepted). */
  const expected = new Map<number, 'live' | 'destroyed'>();
  /** The start time of the first QEMU seen for each VM: its billing must start there. */
  const firstQemuStart = new Map<number, number>();
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

  const steady = (vm: Vm) => !TRANSITIONAL.has(vm.status) && !vm.locked;
  const tracked = async () => Promise.all([...expected.keys()].map((id) => api.vms.get(id)));

  /** Waits until every VM is steady; a transitional one past the reconciler's period must have an action on it. */
  async function settle(since: number, what: string): Promise<Vm[]> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const vms = await tracked();
      if (vms.every(steady)) return vms;
      if (Date.now() - since > (RECONCILE_SECONDS + 2) * 1000) {
        for (const vm of vms.filter((v) => TRANSITIONAL.has(v.status))) {
          const [last] = await api.vms.actions(vm.id);
          assert.ok(vm.locked && last?.status === 'in-progress', `${what}: VM ${vm.id} is ${vm.status} with no action working on it (${JSON.stringify(last)})`);
        }
      }
      if (Date.now() > deadline) assert.fail(`${what}: not steady after 60 s: ${JSON.stringify(vms.filter((v) => !steady(v)).map((v) => [v.id, v.status, v.locked]))}`);
      await sleep(250);
    }
  }

  /** Notes the start of each VM's first QEMU (a running VM seen for the first time runs its first one). */
  function observe(vms: Vm[]) {
    const qemus = qemusOf(dataDir);
    for (const vm of vms) {
      const pid = qemus.get(vm.id)?.[0];
      if (vm.status === 'running' && pid && !firstQemuStart.has(vm.id)) firstQemuStart.set(vm.id, processStart(pid));
    }
  }

  /** An action without a crash, to put a VM where the next round needs it. */
  async function prepare(op: () => Promise<unknown>) {
    await op();
    observe(await settle(Date.now(), 'preparation'));
  }

  async function restart() {
    const exited = new Promise((r) => server.child.once('exit', r));
    server.child.kill('SIGKILL');
    await exited;
    server = await startServer(env());
    api = new ApiClient({ baseUrl: server.base, token });
    return Date.now();
  }

  /**
   * Everything the database, the hypervisor and the ledger say must agree, at the latest one
   * reconciler period later: a QEMU launched just before the kill may come up only after the
   * restart, and a guest that got the power button may power off later; the reconciler follows.
   */
  async function check(vms: Vm[], what: string, t: { diagnostic(m: string): void }) {
    try {
      await agree(vms, what);
    } catch (err) {
      t.diagnostic(`${what}: not yet consistent (${(err as Error).message.split('\n')[0]}); checking again after a reconciler period`);
      await sleep((2 * RECONCILE_SECONDS + 1) * 1000);
      await agree(await settle(Date.now(), what), what);
    }
  }

  async function agree(vms: Vm[], what: string) {
    observe(vms);
    const byId = new Map(vms.map((v) => [v.id, v]));
    const qemus = qemusOf(dataDir);
    for (const vm of vms) {
      assert.notEqual(vm.status, 'error', `${what}: VM ${vm.id} ended in error: ${vm.error}`);
      assert.equal(vm.status === 'destroyed' ? 'destroyed' : 'live', expected.get(vm.id), `${what}: VM ${vm.id} is ${vm.status}`);
      const dir = path.join(dataDir, 'vms', `vm-${vm.id}`);
      const pids = qemus.get(vm.id) ?? [];
      assert.ok(pids.length <= 1, `${what}: VM ${vm.id} has ${pids.length} QEMUs`);
      if (vm.status === 'running') {
        assert.equal(pids.length, 1, `${what}: VM ${vm.id} is running without a QEMU`);
      } else {
        assert.equal(pids.length, 0, `${what}: VM ${vm.id} is ${vm.status} but QEMU ${pids[0]} runs`);
      }
      assert.equal(existsSync(path.join(dir, 'disk.qcow2')), vm.status !== 'destroyed', `${what}: VM ${vm.id} (${vm.status}) and its disk`);
    }
    for (const id of qemus.keys()) assert.ok(byId.get(id)?.status === 'running', `${what}: orphan QEMU of VM ${id} (${byId.get(id)?.status ?? 'no such VM'})`);

    // Billing: the first hour is paid at admission and refunded if the VM never ran; a VM that
    // ran pays every hour it began, from its first QEMU's start to its destruction (or now).
    const db = new Database(path.join(dataDir, 'twarga.db'), { readonly: true, fileMustExist: true });
    const rows = db.prepare('SELECT id, price_hourly, billed_until, created_at, destroyed_at FROM vms').all() as { id: number; price_hourly: number; billed_until: string | null; created_at: string; destroyed_at: string | null }[];
    db.close();
    const ledger = await api.account.ledger();
    for (const row of rows) {
      const net = ledger.filter((e) => e.reason.includes(`(#${row.id})`)).reduce((sum, e) => sum + e.amount, 0);
      if (row.billed_until === null) {
        assert.equal(net, 0, `${what}: VM ${row.id} never ran and must cost nothing (${JSON.stringify(ledger.filter((e) => e.reason.includes(`(#${row.id})`)))})`);
        assert.notEqual(byId.get(row.id)?.status, 'running', `${what}: VM ${row.id} runs unbilled`);
        continue;
      }
      const billedFrom = Date.parse(row.billed_until) - HOUR_MS;
      const end = row.destroyed_at ? Date.parse(row.destroyed_at) : Date.now();
      assert.ok(billedFrom >= Date.parse(row.created_at) - 1500, `${what}: VM ${row.id} billed from before it was created`);
      assert.ok(billedFrom < end, `${what}: VM ${row.id} billed from after it was destroyed`);
      const first = firstQemuStart.get(row.id);
      if (first !== undefined) assert.ok(Math.abs(billedFrom - first) <= 1500, `${what}: VM ${row.id} billed from ${new Date(billedFrom).toISOString()}, its QEMU started ${new Date(first).toISOString()}`);
      const hours = Math.ceil((end - billedFrom) / HOUR_MS);
      assert.equal(net, -row.price_hourly * hours, `${what}: VM ${row.id} lived ${hours} started hour(s) and was charged ${net}`);
    }
  }

  test(`${rounds} rounds of kill -9 during create, stop, start and destroy`, { timeout: 240_000 }, async (t) => {
    let names = 0;
    const interrupted: Record<Op, number> = { create: 0, stop: 0, start: 0, destroy: 0 };
    const liveIn = async (status?: string) => (await tracked()).filter((v) => v.status !== 'destroyed' && (!status || v.status === status));
    const create = async () => {
      const vm = await api.vms.create({ name: `chaos-${++names}`, image: 'tiny', size: 's-1vcpu-256mb' });
      expected.set(vm.id, 'live');
      return vm;
    };
    for (let round = 0; round < rounds; round++) {
      const op: Op = OPS[round % OPS.length]!;
      // 5–300 ms, denser at the short end: a destroy or a fast create is over within ~100 ms.
      const delay = 5 + Math.floor(random() ** 2 * 296);
      // Put a VM where this round needs it, without crashes (at most 3 live: a 2-core machine, shared).
      if (op === 'create' && (await liveIn()).length >= 3) {
        const victim = (await liveIn())[0]!;
        expected.set(victim.id, 'destroyed');
        await prepare(() => api.vms.action(victim.id, { action: 'destroy' }));
      }
      if ((op === 'stop' || op === 'destroy') && (await liveIn('running')).length === 0) {
        const stopped = (await liveIn('stopped'))[0];
        await prepare(() => (stopped ? api.vms.action(stopped.id, { action: 'start' }) : create()));
      }
      if (op === 'start' && (await liveIn('stopped')).length === 0) {
        const running = (await liveIn('running'))[0] ?? (await prepare(create), (await liveIn('running'))[0]!);
        await prepare(() => api.vms.action(running.id, { action: 'stop' }));
      }

      let target: number;
      if (op === 'create') target = (await create()).id;
      else {
        const pool = await liveIn(op === 'start' ? 'stopped' : 'running');
        target = pool[Math.floor(random() * pool.length)]!.id;
        // Stops are graceful (power button, then killed after 3 s) or forced (killed at once): the
        // kill lands before or after QEMU exits.
        await api.vms.action(target, { action: op, ...(op === 'stop' ? { force: random() < 0.5 } : {}) });
        if (op === 'destroy') expected.set(target, 'destroyed');
      }
      await sleep(delay);
      const restartedAt = await restart();
      const what = `round ${round} (${op} VM ${target}, killed after ${delay} ms, seed ${seed})`;
      await check(await settle(restartedAt, what), what, t);
      // Whether the kill landed inside the action (the restart found it open and carried it on) or after it ended.
      const [action] = (await api.vms.actions(target)).filter((a) => a.type === op);
      assert.equal(action?.status, 'completed', `${what}: the ${op} action ended ${action?.status}: ${action?.error}`);
      const cut = (await api.actions.log(action.id)).lines.some((l) => l.line.startsWith('Carried on'));
      if (cut) interrupted[op]++;
      t.diagnostic(`round ${round}: ${op} VM ${target}, kill -9 after ${delay} ms: ${cut ? 'carried on' : 'had ended'}; now ${(await api.vms.get(target)).status}`);
    }
    t.diagnostic(`actions cut by the kill and carried on after the restart: ${JSON.stringify(interrupted)}`);
    // Clean end: every VM destroyed through the API, nothing left on the host.
    for (const vm of await liveIn()) {
      await api.vms.action(vm.id, { action: 'destroy' });
      expected.set(vm.id, 'destroyed');
    }
    await check(await settle(Date.now(), 'final destroy'), 'final destroy', t);
    assert.equal(qemusOf(dataDir).size, 0);
  });
});
