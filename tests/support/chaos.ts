import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Action, ApiClient, Vm } from '@twarga/contract';

/**
 * What the kill -9 tests (chaos.test.ts, chaos-cluster.test.ts) check after each kill: every VM
 * ends steady, the database, the hypervisor and the ledger agree, nothing is lost or charged twice.
 */

export const HOUR_MS = 3_600_000;
const TRANSITIONAL = new Set(['pending', 'provisioning', 'stopping', 'rebooting', 'destroying']);

/** mulberry32: a small seeded PRNG, so a failing run can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Live (non-zombie) QEMU processes whose command line points into this data dir, by VM id. */
export function qemusOf(dataDir: string): Map<number, number[]> {
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

/** A VM's billing as its row has it. */
export interface VmBillingRow {
  id: number;
  price_hourly: number;
  billed_until: string | null;
  created_at: string;
  destroyed_at: string | null;
}

/** Every VM row's billing, read from a server's SQLite database (read-only, while it runs). */
export async function sqliteVmRows(dataDir: string): Promise<VmBillingRow[]> {
  const db = new Database(path.join(dataDir, 'twarga.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT id, price_hourly, billed_until, created_at, destroyed_at FROM vms').all() as VmBillingRow[];
  } finally {
    db.close();
  }
}

export interface ChaosChecksOptions {
  dataDir: string;
  /** The API of a server that is up now. */
  api: () => ApiClient;
  /** Every VM row's billing, straight from the database. */
  vmRows: () => Promise<VmBillingRow[]>;
  /** How long a VM may stay transitional without an open action on it (the reconciler's reach). */
  graceMs: number;
}

/**
 * The VMs a chaos test made, what each should be (live, or destroyed once its destroy was
 * accepted), and the checks run after each kill.
 */
export class ChaosChecks {
  readonly expected = new Map<number, 'live' | 'destroyed'>();
  /** The start time of the first QEMU seen for each VM: its billing must start there. */
  private readonly firstQemuStart = new Map<number, number>();

  constructor(readonly o: ChaosChecksOptions) {}

  tracked(): Promise<Vm[]> {
    return Promise.all([...this.expected.keys()].map((id) => this.o.api().vms.get(id)));
  }

  /** Waits until every VM is steady; a transitional one past the grace must have an action on it. */
  async settle(since: number, what: string, timeoutMs = 60_000): Promise<Vm[]> {
    const steady = (vm: Vm) => !TRANSITIONAL.has(vm.status) && !vm.locked;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const vms = await this.tracked();
      if (vms.every(steady)) return vms;
      if (Date.now() - since > this.o.graceMs) {
        for (const vm of vms.filter((v) => TRANSITIONAL.has(v.status))) {
          const [last] = await this.o.api().vms.actions(vm.id);
          assert.ok(vm.locked && last?.status === 'in-progress', `${what}: VM ${vm.id} is ${vm.status} with no action working on it (${JSON.stringify(last)})`);
        }
      }
      if (Date.now() > deadline) assert.fail(`${what}: not steady after ${timeoutMs / 1000} s: ${JSON.stringify(vms.filter((v) => !steady(v)).map((v) => [v.id, v.status, v.locked]))}`);
      await sleep(250);
    }
  }

  /** Notes the start of each VM's first QEMU (a running VM seen for the first time runs its first one). */
  observe(vms: Vm[]): void {
    const qemus = qemusOf(this.o.dataDir);
    for (const vm of vms) {
      const pid = qemus.get(vm.id)?.[0];
      if (vm.status === 'running' && pid && !this.firstQemuStart.has(vm.id)) this.firstQemuStart.set(vm.id, processStart(pid));
    }
  }

  /**
   * Everything the database, the hypervisor and the ledger say must agree, at the latest one
   * reconciler period later: a QEMU launched just before the kill may come up only after the
   * restart, and a guest that got the power button may power off later; the reconciler follows.
   */
  async check(vms: Vm[], what: string, t: { diagnostic(m: string): void }): Promise<void> {
    try {
      await this.agree(vms, what);
    } catch (err) {
      t.diagnostic(`${what}: not yet consistent (${(err as Error).message.split('\n')[0]}); checking again after a reconciler period`);
      await sleep(this.o.graceMs);
      await this.agree(await this.settle(Date.now(), what), what);
    }
  }

  private async agree(vms: Vm[], what: string): Promise<void> {
    this.observe(vms);
    const byId = new Map(vms.map((v) => [v.id, v]));
    const qemus = qemusOf(this.o.dataDir);
    for (const vm of vms) {
      assert.notEqual(vm.status, 'error', `${what}: VM ${vm.id} ended in error: ${vm.error}`);
      assert.equal(vm.status === 'destroyed' ? 'destroyed' : 'live', this.expected.get(vm.id), `${what}: VM ${vm.id} is ${vm.status}`);
      const dir = path.join(this.o.dataDir, 'vms', `vm-${vm.id}`);
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

    await this.agreeOnMoney(byId, what);
  }

  /**
   * The balance is the sum of the ledger; the first hour is paid at admission (once) and refunded
   * if the VM never ran; a VM that ran pays each hour it began, from its first start (its first
   * QEMU's, when seen) to its destruction (or now), once.
   */
  async agreeOnMoney(byId: Map<number, Vm>, what: string): Promise<void> {
    const api = this.o.api();
    const [ledger, me] = await Promise.all([api.account.ledger(), api.auth.me()]);
    assert.equal(me.credits, ledger.reduce((sum, e) => sum + e.amount, 0), `${what}: the balance is not the sum of the ledger`);
    for (const row of await this.o.vmRows()) {
      const entries = ledger.filter((e) => e.vm_id === row.id);
      const net = entries.reduce((sum, e) => sum + e.amount, 0);
      const listed = JSON.stringify(entries.map((e) => [e.kind, e.amount]));
      assert.ok(entries.filter((e) => e.kind === 'first_hour').length <= 1, `${what}: VM ${row.id}'s first hour charged twice: ${listed}`);
      if (row.billed_until === null) {
        assert.equal(net, 0, `${what}: VM ${row.id} never ran and must cost nothing: ${listed}`);
        assert.notEqual(byId.get(row.id)?.status, 'running', `${what}: VM ${row.id} runs unbilled`);
        continue;
      }
      const billedFrom = Date.parse(row.billed_until) - HOUR_MS;
      const end = row.destroyed_at ? Date.parse(row.destroyed_at) : Date.now();
      assert.ok(billedFrom >= Date.parse(row.created_at) - 1500, `${what}: VM ${row.id} billed from before it was created`);
      assert.ok(billedFrom < end, `${what}: VM ${row.id} billed from after it was destroyed`);
      const first = this.firstQemuStart.get(row.id);
      if (first !== undefined) assert.ok(Math.abs(billedFrom - first) <= 1500, `${what}: VM ${row.id} billed from ${new Date(billedFrom).toISOString()}, its QEMU started ${new Date(first).toISOString()}`);
      const hours = Math.ceil((end - billedFrom) / HOUR_MS);
      assert.equal(net, -row.price_hourly * hours, `${what}: VM ${row.id} lived ${hours} started hour(s) and was charged ${net}: ${listed}`);
    }
  }
}

export const OPS = ['create', 'stop', 'start', 'destroy'] as const;
export type Op = (typeof OPS)[number];

export interface ChaosRoundsOptions {
  checks: ChaosChecks;
  rounds: number;
  seed: number;
  random: () => number;
  /** The server a round's action is sent to (the one about to be killed). */
  apiOf: (round: number) => ApiClient;
  /** Kills (and brings back) what the round kills; returns when the survivors should take over from. */
  kill: (round: number) => Promise<number>;
  t: { diagnostic(m: string): void };
}

/**
 * Rounds of: put a VM where the round needs it (no crash), send create, stop, start or destroy,
 * kill -9 after 5–300 ms, then check everything agrees and the action completed (carried on if
 * the kill cut it). Ends with every VM destroyed. Returns how many actions each op had cut.
 */
export async function chaosRounds(o: ChaosRoundsOptions): Promise<Record<Op, number>> {
  const { checks, random, t } = o;
  const api = () => checks.o.api();
  let names = 0;
  const cutCount: Record<Op, number> = { create: 0, stop: 0, start: 0, destroy: 0 };
  const liveIn = async (status?: string) => (await checks.tracked()).filter((v) => v.status !== 'destroyed' && (!status || v.status === status));
  const prepare = async (op: () => Promise<unknown>) => {
    await op();
    checks.observe(await checks.settle(Date.now(), 'preparation'));
  };
  const create = async (via: ApiClient) => {
    const vm = await via.vms.create({ name: `chaos-${++names}`, image: 'tiny', size: 's-1vcpu-256mb' });
    checks.expected.set(vm.id, 'live');
    return vm;
  };
  for (let round = 0; round < o.rounds; round++) {
    const op: Op = OPS[round % OPS.length]!;
    // 5–300 ms, denser at the short end: a destroy or a fast create is over within ~100 ms.
    const delay = 5 + Math.floor(random() ** 2 * 296);
    // Put a VM where this round needs it, without crashes (at most 3 live: a 2-core machine, shared).
    if (op === 'create' && (await liveIn()).length >= 3) {
      const victim = (await liveIn())[0]!;
      checks.expected.set(victim.id, 'destroyed');
      await prepare(() => api().vms.action(victim.id, { action: 'destroy' }));
    }
    if ((op === 'stop' || op === 'destroy') && (await liveIn('running')).length === 0) {
      const stopped = (await liveIn('stopped'))[0];
      await prepare(() => (stopped ? api().vms.action(stopped.id, { action: 'start' }) : create(api())));
    }
    if (op === 'start' && (await liveIn('stopped')).length === 0) {
      const running = (await liveIn('running'))[0] ?? (await prepare(() => create(api())), (await liveIn('running'))[0]!);
      await prepare(() => api().vms.action(running.id, { action: 'stop' }));
    }

    const via = o.apiOf(round);
    let target: number;
    if (op === 'create') target = (await create(via)).id;
    else {
      const pool = await liveIn(op === 'start' ? 'stopped' : 'running');
      target = pool[Math.floor(random() * pool.length)]!.id;
      // Stops are graceful (power button, then killed after 3 s) or forced (killed at once): the
      // kill lands before or after QEMU exits.
      await via.vms.action(target, { action: op, ...(op === 'stop' ? { force: random() < 0.5 } : {}) });
      if (op === 'destroy') checks.expected.set(target, 'destroyed');
    }
    await sleep(delay);
    const since = await o.kill(round);
    const what = `round ${round} (${op} VM ${target}, killed after ${delay} ms, seed ${o.seed})`;
    await checks.check(await checks.settle(since, what), what, t);
    // Whether the kill landed inside the action (it was carried on) or after it ended.
    const [action] = (await api().vms.actions(target)).filter((a: Action) => a.type === op);
    assert.equal(action?.status, 'completed', `${what}: the ${op} action ended ${action?.status}: ${action?.error}`);
    const cut = (await api().actions.log(action.id)).lines.some((l) => l.line.startsWith('Carried on'));
    if (cut) cutCount[op]++;
    t.diagnostic(`round ${round}: ${op} VM ${target}, kill -9 after ${delay} ms: ${cut ? 'carried on' : 'had ended'}; now ${(await api().vms.get(target)).status}`);
  }
  // Clean end: every VM destroyed through the API, nothing left on the host.
  for (const vm of await liveIn()) {
    await api().vms.action(vm.id, { action: 'destroy' });
    checks.expected.set(vm.id, 'destroyed');
  }
  await checks.check(await checks.settle(Date.now(), 'final destroy'), 'final destroy', t);
  return cutCount;
}
