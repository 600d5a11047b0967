/**
 * Benchmark: GET /v2/droplets?per_page=200 (the DigitalOcean-compatible list) against the same
 * 200 VMs on GET /api/vms, one user.
 *
 *   npm run bench:do        (node --conditions=development --import tsx bench/do-droplets.ts)
 *   DO_BENCH_REQUESTS=2000 npm run bench:do
 *
 * The server is a real app (buildApp through the test harness, SQLite, the fake compute driver:
 * a list does not touch the driver; its one host declared libvirt, see serve()) in a child
 * process listening on 127.0.0.1 (an ephemeral port), so the load loop never shares its event
 * loop. Its 200 VMs are created through the API
 * (POST /api/vms, each with two tags), so every row, action and tag is what a real launch makes.
 * The load is a bounded sequential loop (one keep-alive connection, one request at a time): after
 * a warm-up, REQUESTS requests per route, alternating in rounds of ROUND so both routes see the
 * same machine state. Every response is checked (200, 200 items).
 *
 * Targets (issue 15): /v2/droplets p99 < 20 ms, and its p99 within 1.5× of /api/vms.
 * Exit code 0 when both are met, 1 otherwise (or on any error). The child is stopped by its PID
 * and its temp database removed on every exit path, including Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const VMS = 200;
const REQUESTS = Number(process.env.DO_BENCH_REQUESTS ?? 1_000);
const WARMUP = 200;
const ROUND = 50;
const TARGET_P99_MS = 20;
const TARGET_RATIO = 1.5;
const HOST = '127.0.0.1';

// ---------------------------------------------------------------- the server (child process)

async function serve(): Promise<void> {
  const { createHarness } = await import('../apps/server/src/test-support/harness.js');
  const { FakeDriver } = await import('../apps/server/src/test-support/fake-driver.js');
  const h = await createHarness('sqlite', {
    logLevel: 'silent',
    maxVmsPerUser: VMS + 10,
    maxRamPerUserMb: (VMS + 10) * 256,
    maxVcpusPerUser: VMS + 10,
    maxDiskGbPerUser: (VMS + 10) * 1,
  }, new FakeDriver());
  let closing: Promise<void> | undefined;
  const stop = () => {
    closing ??= h.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // The local host must have room for 200 tiny VMs (the scheduler checks each host's capacity). It
  // is declared a libvirt host (the fake driver still runs everything): a QEMU host would promise
  // 200 GB of VM disks against this machine's real free space (refused, 507), and probe an SSH
  // port per VM; neither changes what a list reads or sends.
  await h.db.handle.db.updateTable('compute_hosts').set({ ram_mb: 1024 * 1024, vcpus: 4096, driver: 'libvirt', uri: 'qemu:///system' }).execute();

  const user = await h.user('bench');
  const admin = await h.adminToken();
  const credit = await h.request({ method: 'POST', url: `/api/admin/users/${user.id}/credits`, token: admin, body: { amount: 1_000_000, reason: 'bench' } });
  if (credit.statusCode !== 200) throw new Error(`credit: ${credit.body}`);
  for (let i = 0; i < VMS; i++) {
    const res = await h.request({
      method: 'POST', url: '/api/vms', token: user.token,
      body: { name: `web-${i}`, image: 'tiny', size: 's-1vcpu-256mb', tags: ['bench', `shard-${i % 10}`] },
    });
    if (res.statusCode !== 201) throw new Error(`creating VM ${i}: ${res.statusCode} ${res.body}`);
  }
  await h.services.ops.idle();
  await h.app.listen({ host: HOST, port: 0 });
  const { port } = h.app.server.address() as { port: number };
  process.stdout.write(`READY ${JSON.stringify({ port, token: user.token })}\n`);
}

// ---------------------------------------------------------------- the load (parent)

let child: ChildProcess | undefined;

async function stopChild(): Promise<void> {
  const c = child;
  if (!c || c.pid === undefined || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((resolve) => c.once('exit', resolve));
  c.kill('SIGTERM');
  if (await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)])) return;
  c.kill('SIGKILL');
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping the server`);
    void stopChild().finally(() => process.exit(130));
  });
}

function startServer(): Promise<{ port: number; token: string }> {
  child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', fileURLToPath(import.meta.url), '--server'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-8_192)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server was not ready within 300 s:\n${stderr}`)), 300_000);
    createInterface({ input: child!.stdout! }).on('line', (line) => {
      if (!line.startsWith('READY ')) return;
      clearTimeout(timer);
      resolve(JSON.parse(line.slice(6)));
    });
    child!.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (code ${code}) before it was ready:\n${stderr}`));
    });
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

let lastBytes = 0;

/** One GET; resolves with its latency in ms after checking the answer carries all VMS items. */
function timedGet(port: number, path: string, token: string, count: (body: unknown) => number): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.get({ host: HOST, port, path, agent, headers: { authorization: `Bearer ${token}` }, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const ms = performance.now() - started;
        const text = Buffer.concat(chunks).toString();
        lastBytes = text.length;
        if (res.statusCode !== 200) return reject(new Error(`${path}: ${res.statusCode} ${text.slice(0, 300)}`));
        const n = count(JSON.parse(text));
        if (n !== VMS) return reject(new Error(`${path}: ${n} items, expected ${VMS}`));
        resolve(ms);
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${path}: timed out`)));
    req.on('error', reject);
  });
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat (clock ticks of 1/100 s). */
function serverCpu(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(')').pop()!.trim().split(/\s+/);
  return (Number(f[11]) + Number(f[12])) / 100;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;

async function main(): Promise<number> {
  console.log(`Twarga Cloud bench: GET /v2/droplets?per_page=200 vs GET /api/vms, ${VMS} VMs of one user`);
  console.log(`  node ${process.version}, ${os.availableParallelism()} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const seeding = performance.now();
  const { port, token } = await startServer();
  console.log(`  server up on ${HOST}:${port} (pid ${child!.pid}), ${VMS} VMs created through POST /api/vms in ${((performance.now() - seeding) / 1000).toFixed(1)} s`);

  const routes = [
    { name: '/v2/droplets?per_page=200', path: '/v2/droplets?per_page=200', count: (b: unknown) => (b as { droplets: unknown[]; meta: { total: number } }).droplets.length },
    { name: '/api/vms', path: '/api/vms', count: (b: unknown) => (b as unknown[]).length },
  ];
  const times = routes.map(() => [] as number[]);
  // The server's own CPU time per route (from /proc): unlike latency, it does not grow when other
  // processes compete for the cores.
  const cpuSeconds = routes.map(() => 0);
  const bytes = routes.map(() => 0);
  for (let i = 0; i < WARMUP; i++) for (const r of routes) await timedGet(port, r.path, token, r.count);
  for (let done = 0; done < REQUESTS; done += ROUND) {
    for (const [k, r] of routes.entries()) {
      const before = serverCpu(child!.pid!);
      for (let i = 0; i < Math.min(ROUND, REQUESTS - done); i++) times[k]!.push(await timedGet(port, r.path, token, r.count));
      cpuSeconds[k]! += serverCpu(child!.pid!) - before;
      bytes[k] = lastBytes;
    }
  }

  console.log(`\nResults (${new Date().toISOString()}): ${REQUESTS} sequential requests per route after ${WARMUP} warm-up, alternating in rounds of ${ROUND}\n`);
  console.log('| Route | n | response bytes | p50 ms | p99 ms | mean ms | max ms | server CPU ms/request |');
  console.log('|---|---|---|---|---|---|---|---|');
  const stats = times.map((t, k) => {
    const sorted = [...t].sort((a, b) => a - b);
    const s = { p50: pct(sorted, 50), p99: pct(sorted, 99), mean: t.reduce((a, b) => a + b, 0) / t.length, max: sorted[sorted.length - 1]! };
    console.log(`| ${routes[k]!.name} | ${t.length} | ${bytes[k]} | ${s.p50.toFixed(2)} | ${s.p99.toFixed(2)} | ${s.mean.toFixed(2)} | ${s.max.toFixed(2)} | ${((cpuSeconds[k]! * 1000) / t.length).toFixed(2)} |`);
    return s;
  });
  const [v2, api] = stats as [(typeof stats)[0], (typeof stats)[0]];
  const ratio99 = v2.p99 / api.p99;
  const ratio50 = v2.p50 / api.p50;
  const p99Ok = v2.p99 < TARGET_P99_MS;
  const ratioOk = ratio99 <= TARGET_RATIO;
  console.log(`\n/v2 ÷ /api: p50 ${ratio50.toFixed(2)}×, p99 ${ratio99.toFixed(2)}×, server CPU ${(cpuSeconds[0]! / times[0]!.length / (cpuSeconds[1]! / times[1]!.length)).toFixed(2)}×; load average now ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`Target p99 < ${TARGET_P99_MS} ms: ${p99Ok ? 'met' : 'NOT met'} (${v2.p99.toFixed(2)} ms)`);
  console.log(`Target p99 within ${TARGET_RATIO}× of /api/vms: ${ratioOk ? 'met' : 'NOT met'} (${ratio99.toFixed(2)}×)`);
  return p99Ok && ratioOk ? 0 : 1;
}

if (process.argv.includes('--server')) {
  serve().catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  let code = 1;
  try {
    code = await main();
  } catch (err) {
    console.error(err);
  } finally {
    agent.destroy();
    await stopChild();
  }
  process.exit(code);
}
