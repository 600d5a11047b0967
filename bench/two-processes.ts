/**
 * Benchmark: authenticated GET throughput of one built server process against two processes on
 * one PostgreSQL (issue 16). What is measured: autocannon, in this process, against each server
 * process directly (no proxy in the measured path). "One process": one autocannon instance,
 * C connections, against process 1 alone. "Two processes": process 2 joins (its own data dir,
 * process 1's secrets.json); two autocannon instances run at the same time, C/2 connections each,
 * one per process, and their req/s are summed; the latency columns are each instance's own.
 * Every response must be a 200. Endpoints: GET /api/auth/me and GET /api/vms (the user owns no
 * VM: the list is one query), with a read-only personal API token.
 *
 *   npm run bench:two-processes      (BENCH_PG_URL or TWARGA_TEST_PG_URL; BENCH_SECONDS=10)
 *
 * Then VM create admissions per minute at a fixed fleet size, one vs two processes. Real tiny VMs
 * would measure TCG boots on 2 cores, not the control plane, so this run uses server processes
 * with the FakeDriver (bench/lib/fake-driver-server.ts; same app, admission and actions, VMs
 * that boot instantly) on a second throw-away database: a fleet of FLEET running VMs, then
 * CREATES launches by CLIENTS concurrent clients (spread over the processes); measured from the
 * first POST /api/vms to the last 201, and to all of them running; BURSTS bursts per setup. The
 * VMs are destroyed after each burst, so every burst starts from the same fleet.
 *
 * Bounded: each run has a duration and a request cap; traffic only to 127.0.0.1.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { ADMIN_PASSWORD, BenchCluster, call, login } from './lib/pg-cluster.js';
import { envInt, fmt, sum } from './lib/vm-bench.js';
import { runBench } from './lib/run.js';

const SECONDS = envInt('BENCH_SECONDS', 10);
const CONNECTIONS = 40;
const WARMUP_SECONDS = 3;
const MAX_REQUESTS_PER_RUN = 1_000_000;
const ENDPOINTS = ['/api/auth/me', '/api/vms'];
/** Small: each fake VM still reserves its full 1 GB disk in the data dir's filesystem (host-storage.ts). */
const FLEET = envInt('BENCH_FLEET', 16);
const CREATES = envInt('BENCH_CREATES', 40);
const CLIENTS = 8;
const BURSTS = envInt('BENCH_BURSTS', 3);
const FAKE_PORTS = [28400, 28401];
const SIZE = 's-1vcpu-256mb';

interface Result {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  non2xx: number;
}
type Autocannon = (opts: Record<string, unknown>, cb: (err: Error | null, r: Result) => void) => { stop(): void };
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

function run(url: string, token: string, connections: number, duration: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon({ url, connections, duration, timeout: 10, maxOverallRequests: MAX_REQUESTS_PER_RUN, headers: { authorization: `Bearer ${token}` } }, (err, r) => {
      clearTimeout(watchdog);
      if (err) reject(err);
      else resolve(r);
    });
    const watchdog = setTimeout(() => instance.stop(), (duration + 15) * 1000);
  });
}

/** Busy CPU seconds of the whole machine so far (/proc/stat, in 1/100 s). */
function machineBusy(): number {
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + steal) / 100;
}

interface Row {
  setup: string;
  endpoint: string;
  rps: number;
  perProcess: string;
  p50: string;
  p99: string;
  failures: number;
  cores: number;
}

async function measure(setup: string, endpoint: string, bases: string[], token: string): Promise<Row> {
  const each = CONNECTIONS / bases.length;
  await Promise.all(bases.map((b) => run(`${b}${endpoint}`, token, each, WARMUP_SECONDS)));
  const busyBefore = machineBusy();
  const started = performance.now();
  const results = await Promise.all(bases.map((b) => run(`${b}${endpoint}`, token, each, SECONDS)));
  const cores = (machineBusy() - busyBefore) / ((performance.now() - started) / 1000);
  const row: Row = {
    setup,
    endpoint,
    rps: sum(results.map((r) => r.requests.average)),
    perProcess: results.map((r) => fmt(r.requests.average, 0)).join(' + '),
    p50: results.map((r) => r.latency.p50).join(' / '),
    p99: results.map((r) => r.latency.p99).join(' / '),
    failures: sum(results.map((r) => r.errors + r.non2xx)),
    cores,
  };
  console.log(`  ${setup.padEnd(14)} ${endpoint.padEnd(14)} ${fmt(row.rps, 0).padStart(6)} req/s (${row.perProcess})  p50 ${row.p50} ms  p99 ${row.p99} ms  failures ${row.failures}  machine CPU ${fmt(cores, 2)} cores`);
  return row;
}

/** Launches `count` VMs over `bases` with CLIENTS concurrent clients; returns the elapsed times and the new ids. */
async function createBurst(bases: string[], token: string, count: number, prefix: string): Promise<{ admittedMs: number; runningMs: number; ids: number[]; refused: number; why: string }> {
  let next = 0;
  const ids: number[] = [];
  let refused = 0;
  let why = '';
  const started = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, async (_, client) => {
    const base = bases[client % bases.length]!;
    for (let i = next++; i < count; i = next++) {
      const res = await call(base, 'POST', '/api/vms', token, { name: `${prefix}-${i}`, image: 'tiny', size: SIZE });
      if (res.status === 201) ids.push(res.body.id as number);
      else {
        refused++;
        why ||= `${res.status} ${JSON.stringify(res.body)}`;
      }
    }
  }));
  const admittedMs = performance.now() - started;
  const want = new Set(ids);
  for (const deadline = Date.now() + 120_000; ; ) {
    const vms = (await call(bases[0]!, 'GET', '/api/vms', token)).body as { id: number; status: string; locked: boolean }[];
    if (vms.filter((v) => want.has(v.id) && v.status === 'running' && !v.locked).length === want.size) break;
    if (Date.now() > deadline) throw new Error('the created VMs did not all run within 120 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { admittedMs, runningMs: performance.now() - started, ids, refused, why };
}

async function destroyAll(base: string, token: string, ids: number[]): Promise<void> {
  for (const id of ids) await call(base, 'POST', `/api/vms/${id}/action`, token, { action: 'destroy' });
  const gone = new Set(ids);
  for (const deadline = Date.now() + 120_000; ; ) {
    const vms = (await call(base, 'GET', '/api/vms', token)).body as { id: number; status: string }[];
    if (!vms.some((v) => gone.has(v.id) && v.status !== 'destroyed')) return;
    if (Date.now() > deadline) throw new Error('the created VMs were not destroyed within 120 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function admissions(): Promise<number> {
  const limits = { TWARGA_MAX_VMS_PER_USER: '100000', TWARGA_MAX_RAM_PER_USER_MB: '100000000', TWARGA_MAX_VCPUS_PER_USER: '100000', TWARGA_MAX_DISK_GB_PER_USER: '100000000', TWARGA_SSH_PORTS: '28000-28399' };
  const cluster = new BenchCluster(limits);
  try {
    await cluster.createDatabase();
    console.log(`\nVM create admissions at a fixed fleet of ${FLEET} running VMs: ${CREATES} launches by ${CLIENTS} clients (FakeDriver processes)`);
    const p1 = await cluster.startScript('fake1', 'bench/lib/fake-driver-server.ts', FAKE_PORTS[0]!);
    const admin = await login(p1.base, 'admin', ADMIN_PASSWORD);
    const username = `fleet${randomBytes(3).toString('hex')}`;
    const password = randomBytes(18).toString('base64url');
    const reg = await call(p1.base, 'POST', '/api/auth/register', undefined, { username, email: `${username}@bench.test`, password });
    await call(p1.base, 'POST', `/api/admin/users/${reg.body.id}/credits`, admin, { amount: 100_000_000, reason: 'bench' });
    const token = await login(p1.base, username, password);
    // The fake host is as big as the fleet needs: this measures admission, not placement refusals.
    for (const host of (await call(p1.base, 'GET', '/api/admin/hosts', admin)).body as { id: number }[]) {
      await call(p1.base, 'PATCH', `/api/admin/hosts/${host.id}`, admin, { ram_mb: 16 * 1024 * 1024, vcpus: 4096 });
    }
    const fleet = await createBurst([p1.base], token, FLEET, 'fleet');
    if (fleet.refused > 0) throw new Error(`the fleet: ${fleet.refused} launches refused, e.g. ${fleet.why}`);
    const rows: string[] = [];
    const measureBurst = async (setup: string, bases: string[]) => {
      let refused = 0;
      for (let burst = 1; burst <= BURSTS; burst++) {
        const r = await createBurst(bases, token, CREATES, `${setup.replace(/\s+/g, '')}${burst}`);
        const perMin = (r.ids.length / r.admittedMs) * 60_000;
        console.log(`  ${setup.padEnd(14)} burst ${burst}: ${r.ids.length} admitted, ${r.refused} refused${r.why ? ` (e.g. ${r.why})` : ''} in ${fmt(r.admittedMs / 1000, 2)} s = ${fmt(perMin, 0)} creates/min; all running after ${fmt(r.runningMs / 1000, 2)} s`);
        rows.push(`| ${setup}, burst ${burst} | ${FLEET} | ${CREATES} | ${r.ids.length} | ${r.refused} | ${fmt(r.admittedMs / 1000, 2)} | ${fmt(perMin, 0)} | ${fmt(r.runningMs / 1000, 2)} |`);
        refused += r.refused;
        await destroyAll(bases[0]!, token, r.ids);
      }
      return refused;
    };
    let refused = await measureBurst('one process', [p1.base]);
    const p2 = await cluster.startScript('fake2', 'bench/lib/fake-driver-server.ts', FAKE_PORTS[1]!);
    refused += await measureBurst('two processes', [p1.base, p2.base]);
    console.log('\n| Setup | Fleet | Launches | Admitted (201) | Refused | Admitted in (s) | Creates/min | All running after (s) |');
    console.log('|---|--:|--:|--:|--:|--:|--:|--:|');
    for (const r of rows) console.log(r);
    return refused === 0 ? 0 : 1;
  } finally {
    await cluster.cleanup();
  }
}

async function main(): Promise<number> {
  const cluster = new BenchCluster();
  try {
    await cluster.createDatabase();
    console.log(`Twarga Cloud bench: authenticated GET, one vs two built server processes on one PostgreSQL`);
    console.log(`  node ${process.version}, ${os.availableParallelism()} CPUs (${os.cpus()[0]?.model ?? '?'}), ${CONNECTIONS} connections in all, ${SECONDS} s per run after ${WARMUP_SECONDS} s warm-up`);
    const p1 = await cluster.start('p1');
    const username = `bench${randomBytes(4).toString('hex')}`;
    const password = randomBytes(18).toString('base64url');
    const reg = await call(p1.base, 'POST', '/api/auth/register', undefined, { username, email: `${username}@bench.test`, password });
    if (reg.status !== 201) throw new Error(`register: ${reg.status} ${JSON.stringify(reg.body)}`);
    const created = await call(p1.base, 'POST', '/api/account/tokens', await login(p1.base, username, password), { name: 'bench', scope: 'read' });
    const token = created.body.token as string;

    const rows: Row[] = [];
    for (const endpoint of ENDPOINTS) rows.push(await measure('one process', endpoint, [p1.base], token));
    const p2 = await cluster.start('p2');
    for (const endpoint of ENDPOINTS) rows.push(await measure('two processes', endpoint, [p1.base, p2.base], token));

    console.log('\n| Setup | Endpoint | req/s (sum) | per process | p50 ms | p99 ms | non-200 + errors | machine CPU (cores) |');
    console.log('|---|---|--:|--:|--:|--:|--:|--:|');
    for (const r of rows) console.log(`| ${r.setup} | ${r.endpoint} | ${fmt(r.rps, 0)} | ${r.perProcess} | ${r.p50} | ${r.p99} | ${r.failures} | ${fmt(r.cores, 2)} |`);
    for (const endpoint of ENDPOINTS) {
      const [one, two] = [rows.find((r) => r.endpoint === endpoint && r.setup === 'one process')!, rows.find((r) => r.endpoint === endpoint && r.setup === 'two processes')!];
      console.log(`  ${endpoint}: two processes / one = ${fmt(two.rps / one.rps, 2)}`);
    }
    const failures = sum(rows.map((r) => r.failures));
    console.log(failures === 0 ? 'Every response 200.' : `FAIL: ${failures} responses were not 200`);
    if (failures > 0) return 1;
  } finally {
    await cluster.cleanup();
  }
  return admissions();
}

await runBench(main);
