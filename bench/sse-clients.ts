/**
 * Benchmark: the live events channel (GET /api/events/stream, server-sent events) serving 100
 * clients while the metrics collector publishes a host sample every interval.
 *
 *   node --conditions=development --import tsx bench/sse-clients.ts     (npm run bench:sse)
 *   knobs: BENCH_SSE_CLIENTS (100), BENCH_SSE_WINDOW_S (60), BENCH_SSE_BASELINE_S (20),
 *          BENCH_SSE_INTERVAL_S (5, TWARGA_METRICS_INTERVAL_SECONDS), BENCH_SERVER_ENV
 *
 * The built server (apps/server/dist/server.js; `npm run build` first) runs as its own process
 * with a throw-away data dir and no VM. Host samples go to admins only, so every client is an
 * admin with its own session (one login each). Phases:
 *   1. baseline: BENCH_SSE_BASELINE_S with the collector running and no client: server CPU, RSS;
 *   2. 100 clients connect (each one's `hello` marks it connected), all kept open;
 *   3. window: BENCH_SSE_WINDOW_S; every `metrics`/`host` event is timestamped on arrival in each
 *      client. Latency = arrival − the sample's `sampled_at` (the server's clock when the pass
 *      began, ms precision; the same machine's clock as ours). "All N" = the arrival at the last
 *      of the N clients. Server CPU (utime+stime from /proc/<pid>/stat) and RSS (1 s samples).
 * Checks (exit 1 when one fails): all clients still connected at the end, every client received
 * every host sample published in the window (none lost), and the server stayed up.
 *
 * Traffic only to 127.0.0.1. The server and the temp dir are removed on every exit path.
 */
import http from 'node:http';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient } from '@twarga/contract';
import { Reaper, cpuSecondsOf, envInt, fmt, machineInfo, max, median, memoryOf, now, runBench, serverEnvFromBench, startBenchServer } from './lib/vm-bench.js';

const CLIENTS = envInt('BENCH_SSE_CLIENTS', 100);
const WINDOW_S = envInt('BENCH_SSE_WINDOW_S', 60);
const BASELINE_S = envInt('BENCH_SSE_BASELINE_S', 20);
const INTERVAL_S = envInt('BENCH_SSE_INTERVAL_S', 5);
const LIMIT_MS = (BASELINE_S + WINDOW_S + 180) * 1000;

const reaper = new Reaper('sse-clients');

interface Client {
  n: number;
  req?: http.ClientRequest;
  connectedAt?: number;
  closed: boolean;
  /** sampled_at (ms) → arrival (ms, sub-ms precision) */
  arrivals: Map<number, number>;
  error?: string;
}

function percentile(xs: number[], p: number): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** One SSE client on node:http (no EventSource polyfill): parses `data:` frames as they arrive. */
function connect(base: string, token: string, c: Client): Promise<void> {
  const url = new URL('/api/events/stream', base);
  return new Promise((resolve, reject) => {
    const req = http.get({ host: url.hostname, port: url.port, path: url.pathname, headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`client ${c.n}: HTTP ${res.statusCode}`));
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (chunk: string) => {
        const at = now();
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          for (const line of frame.split('\n')) {
            if (!line.startsWith('data: ')) continue;
            const ev = JSON.parse(line.slice(6)) as { kind: string; entity?: string; sample?: { sampled_at: string } };
            if (ev.kind === 'hello') {
              c.connectedAt = at;
              resolve();
            } else if (ev.kind === 'metrics' && ev.entity === 'host' && ev.sample) {
              c.arrivals.set(Date.parse(ev.sample.sampled_at), at);
            }
          }
        }
      });
      res.on('close', () => {
        c.closed = true;
      });
    });
    req.on('error', (err) => {
      c.error = err.message;
      c.closed = true;
      reject(err);
    });
    c.req = req;
  });
}

/** Server CPU seconds and RSS over a phase, with a 1 s RSS sampler. */
async function observe(pid: number, seconds: number): Promise<{ cpuPercent: number; rssMb: number[]; wall: number }> {
  const cpu0 = cpuSecondsOf(pid) ?? NaN;
  const t0 = now();
  const rssMb: number[] = [];
  const deadline = t0 + seconds * 1000;
  while (now() < deadline) {
    const m = memoryOf(pid);
    if (m) rssMb.push(m.rssMb);
    await sleep(Math.min(1_000, Math.max(0, deadline - now())));
  }
  const wall = (now() - t0) / 1000;
  return { cpuPercent: (100 * ((cpuSecondsOf(pid) ?? NaN) - cpu0)) / wall, rssMb, wall };
}

async function main(): Promise<number> {
  console.log(`Twarga Cloud bench: the events channel (SSE) serving ${CLIENTS} clients, a host sample every ${INTERVAL_S} s`);
  for (const line of machineInfo()) console.log(`  ${line}`);
  const root = reaper.tempDir('twarga-bench-sse-');
  const server = await startBenchServer(reaper, root, '26500-26599', {
    ...serverEnvFromBench(),
    TWARGA_METRICS_INTERVAL_SECONDS: String(INTERVAL_S),
    TWARGA_LOGIN_RATE_LIMIT: '100000',
  });
  console.log(`  server ${server.base} (pid ${server.pid}); baseline ${BASELINE_S} s, window ${WINDOW_S} s\n`);

  // One admin session per client (host samples go to admins), four logins at a time (argon2).
  const anon = new ApiClient({ baseUrl: server.base });
  const tokens: string[] = [];
  for (let i = 0; i < CLIENTS; i += 4) {
    const batch = await Promise.all(Array.from({ length: Math.min(4, CLIENTS - i) }, () => anon.auth.login('admin', server.adminPassword)));
    tokens.push(...batch.map((b) => b.access_token));
  }

  const base = await observe(server.pid, BASELINE_S);
  console.log(`baseline (collector on, no client): server CPU ${fmt(base.cpuPercent, 2)} % of one core, RSS ${fmt(median(base.rssMb))} MiB (median)`);

  const clients: Client[] = tokens.map((_, n) => ({ n, closed: false, arrivals: new Map() }));
  const tc = now();
  await Promise.all(clients.map((c, i) => connect(server.base, tokens[i]!, c)));
  console.log(`${CLIENTS} clients connected (hello received) in ${fmt(now() - tc, 0)} ms`);
  const rssConnected = memoryOf(server.pid)?.rssMb;

  const windowStart = Date.now();
  const win = await observe(server.pid, WINDOW_S);
  const windowEnd = Date.now();
  await sleep(500); // the last event of the window may still be on its way
  const stillOpen = clients.filter((c) => !c.closed).length;

  // The host samples published in the window: every one any client saw, by its timestamp.
  const stamps = [...new Set(clients.flatMap((c) => [...c.arrivals.keys()]))].filter((t) => t >= windowStart && t <= windowEnd).sort((a, b) => a - b);
  const deliveries: number[] = [];
  const allN: number[] = [];
  let lost = 0;
  for (const t of stamps) {
    const at = clients.map((c) => c.arrivals.get(t));
    lost += at.filter((x) => x === undefined).length;
    const got = at.filter((x): x is number => x !== undefined).map((x) => x - t);
    deliveries.push(...got);
    if (got.length === CLIENTS) allN.push(max(got));
  }
  const expected = Math.floor(WINDOW_S / INTERVAL_S);

  console.log(`\nResults (${new Date().toISOString()}), ${CLIENTS} SSE clients, ${stamps.length} host samples in the ${fmt(win.wall, 1)} s window (about ${expected} expected)\n`);
  console.log('| Measure | Value |');
  console.log('|---|--:|');
  console.log(`| delivery latency, each client (p50 / p95 / max), ${deliveries.length} deliveries | ${fmt(percentile(deliveries, 50), 1)} / ${fmt(percentile(deliveries, 95), 1)} / ${fmt(max(deliveries), 1)} ms |`);
  console.log(`| all ${CLIENTS} clients have the sample (p50 / p95 / max), ${allN.length} samples | ${fmt(percentile(allN, 50), 1)} / ${fmt(percentile(allN, 95), 1)} / ${fmt(max(allN), 1)} ms |`);
  console.log(`| server CPU, ${CLIENTS} clients connected | ${fmt(win.cpuPercent, 2)} % of one core |`);
  console.log(`| server CPU, no client (baseline) | ${fmt(base.cpuPercent, 2)} % of one core |`);
  console.log(`| server RSS: baseline median / connected / window median / window max | ${fmt(median(base.rssMb))} / ${fmt(rssConnected)} / ${fmt(median(win.rssMb))} / ${fmt(max(win.rssMb))} MiB |`);
  console.log(`| clients still connected at the end | ${stillOpen} / ${CLIENTS} |`);
  console.log(`| deliveries lost | ${lost} |`);
  console.log(`| load average at the end (others' QEMUs share this ${os.availableParallelism()}-CPU machine) | ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} |`);

  for (const c of clients) c.req?.destroy();
  const checks = [
    { ok: stillOpen === CLIENTS, what: `all ${CLIENTS} clients stayed connected` },
    { ok: stamps.length >= expected - 1, what: `the collector published in the window (${stamps.length} samples)` },
    { ok: lost === 0, what: 'no client missed a sample' },
    { ok: server.pid !== undefined && cpuSecondsOf(server.pid) !== undefined, what: 'the server is still up' },
  ];
  console.log('');
  for (const c of checks) console.log(`${c.ok ? 'PASS' : 'FAIL'}  ${c.what}`);
  return checks.every((c) => c.ok) ? 0 : 1;
}

void runBench(reaper, LIMIT_MS, main);
