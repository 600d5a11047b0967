/**
 * Benchmark: 20 tiny VMs running at once, all reachable over SSH; server RSS and per-VM QEMU RSS.
 *
 *   node --conditions=development --import tsx bench/vm-fleet.ts     (npm run bench:vm-fleet)
 *
 * Target (from the issue): 20 tiny VMs running at once, all reachable over SSH, and the server's
 * RSS under 200 MB. Exit code 0 when met, 1 when missed or on any error.
 *
 * Creates BENCH_VMS (default 20) VMs of size s-1vcpu-256mb through the API with sequential POSTs;
 * each VM is then watched on its own: first SSH banner on its port, then `true` run over SSH
 * (ssh2, the user's private key). The clock starts just before the first POST and stops when
 * the last VM has run `true`; the whole wait is bounded by BENCH_FLEET_TIMEOUT_S (default 600).
 * With all of them up it samples the server's VmRSS/VmHWM (/proc/<pid>/status), every QEMU's
 * VmRSS/VmHWM/RssAnon (PIDs from <data>/vms/vm-*\/qemu.pid) and the host's MemAvailable, runs
 * `true` on all of them again at the same time, then destroys all through the API and checks
 * that no QEMU process of this run is left.
 *
 * Traffic only to 127.0.0.1. The server, every QEMU and the temp dirs are removed on every exit
 * path, including Ctrl-C and the global time limit. See bench/README-vm.md.
 */
import { setMaxListeners } from 'node:events';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Vm } from '@twarga/contract';
import { sshExec } from '../apps/server/src/test-support/ssh.js';
import {
  Reaper, alive, cpuSecondsOf, diagnoseGuest, envInt, firstSshBanner, fmt, machineInfo, max, median, memAvailableMb, memoryOf, min, now,
  pidfilePids, runBench, sec, serverEnvFromBench, setupUser, startBenchServer, sum,
} from './lib/vm-bench.js';

const COUNT = envInt('BENCH_VMS', 20);
const SIZE = 's-1vcpu-256mb';
const PORTS = process.env.BENCH_SSH_PORTS ?? '26100-26199';
const FLEET_TIMEOUT_MS = envInt('BENCH_FLEET_TIMEOUT_S', 600) * 1000;
const TARGET_SERVER_RSS_MB = 200;
const PROBE = { intervalMs: 250, attemptTimeoutMs: 2_000, maxInFlight: 4 };
const SSH_ATTEMPTS = 5;
const SSH_TIMEOUT_MS = 60_000;
/**
 * 0 (default, what the issue asks): all POSTs back to back, every VM boots at once.
 * k > 0 (an experiment): the next POST waits until fewer than k VMs are still without a banner.
 */
const BOOT_CONCURRENCY = envInt('BENCH_BOOT_CONCURRENCY', 0);

const reaper = new Reaper('vm-fleet');

interface VmTrack {
  n: number;
  name: string;
  id: number;
  port: number;
  /** ms from t0 */
  postStart: number;
  postDone: number;
  runningSeen?: number;
  banner?: number;
  sshOk?: number;
  sshTries: number;
  error?: string;
  pid?: number;
}

/** Runs `true` over SSH, retrying: under TCG a freshly started dropbear can be slow to answer. */
async function sshTrue(port: number, privateKey: string, deadline: number): Promise<number> {
  let lastErr: unknown;
  for (let attempt = 1; attempt <= SSH_ATTEMPTS && Date.now() < deadline; attempt++) {
    try {
      await sshExec({ port, privateKey, command: 'true', timeoutMs: Math.min(SSH_TIMEOUT_MS, Math.max(1_000, deadline - Date.now())) });
      return attempt;
    } catch (err) {
      lastErr = err;
      await sleep(2_000);
    }
  }
  throw new Error(`ssh true on port ${port} failed: ${lastErr instanceof Error ? lastErr.message : String(lastErr)}`);
}

async function main(): Promise<number> {
  console.log(`Twarga Cloud bench: ${COUNT} tiny VMs (${SIZE}) at once, all reachable over SSH; server and QEMU RSS`);
  for (const line of machineInfo()) console.log(`  ${line}`);

  const root = reaper.tempDir('twarga-bench-fleet-');
  const server = await startBenchServer(reaper, root, PORTS);
  const user = await setupUser(server, root);
  const { api } = user;
  console.log(`  server ${server.base} (pid ${server.pid}), data in ${server.dataDir}, VM ports ${PORTS}; time limit ${FLEET_TIMEOUT_MS / 1000} s`);
  if (Object.keys(serverEnvFromBench()).length) console.log(`  extra server environment (BENCH_SERVER_ENV): ${process.env.BENCH_SERVER_ENV}`);
  console.log(BOOT_CONCURRENCY > 0 ? `  BENCH_BOOT_CONCURRENCY=${BOOT_CONCURRENCY}: at most ${BOOT_CONCURRENCY} VM(s) booting at a time (experiment)\n` : `  all ${COUNT} POSTs back to back: every VM boots at the same time\n`);

  const memBefore = memAvailableMb();
  const serverBefore = memoryOf(server.pid);
  const serverCpuBefore = cpuSecondsOf(server.pid) ?? NaN;

  // A 1 s sampler over the whole boot: the server's RSS, the host's MemAvailable, the QEMUs' total RSS.
  const peaks = { serverRss: serverBefore?.rssMb ?? 0, minAvail: memBefore, qemuTotal: 0 };
  const sampler = setInterval(() => {
    const m = memoryOf(server.pid);
    if (m) peaks.serverRss = Math.max(peaks.serverRss, m.rssMb);
    peaks.minAvail = Math.min(peaks.minAvail, memAvailableMb());
    let total = 0;
    for (const pid of pidfilePids(server.vmsDir).values()) total += memoryOf(pid)?.rssMb ?? 0;
    peaks.qemuTotal = Math.max(peaks.qemuTotal, total);
  }, 1_000);

  const abort = new AbortController();
  setMaxListeners(COUNT + 10, abort.signal); // one banner probe per VM listens on it
  const t0 = now();
  const deadline = Date.now() + FLEET_TIMEOUT_MS;
  const rel = () => now() - t0;
  const tracks: VmTrack[] = [];
  const pipelines: Promise<void>[] = [];

  // The API's view: one list call per second marks when each VM is first seen running.
  let polling = true;
  const statusPoll = (async () => {
    while (polling && Date.now() < deadline) {
      try {
        const list: Vm[] = await api.vms.list();
        for (const vm of list) {
          const t = tracks.find((x) => x.id === vm.id);
          if (t && t.runningSeen === undefined && vm.status === 'running') t.runningSeen = rel();
          if (t && vm.status === 'error' && !t.error) t.error = `status error: ${vm.error}`;
        }
      } catch {
        // the next poll will do
      }
      await sleep(1_000);
    }
  })();

  try {
    for (let n = 1; n <= COUNT; n++) {
      while (BOOT_CONCURRENCY > 0 && Date.now() < deadline && tracks.filter((x) => x.banner === undefined && !x.error).length >= BOOT_CONCURRENCY) await sleep(50);
      const name = `fleet-${String(n).padStart(2, '0')}`;
      const postStart = rel();
      const created = await api.vms.create({ name, image: 'tiny', size: SIZE, ssh_keys: [user.keyId] });
      const t: VmTrack = { n, name, id: created.id, port: created.ssh_port!, postStart, postDone: rel(), sshTries: 0 };
      tracks.push(t);
      pipelines.push(
        (async () => {
          const at = await firstSshBanner(t.port, { ...PROBE, timeoutMs: Math.max(1_000, deadline - Date.now()), signal: abort.signal });
          t.banner = at - t0;
          t.sshTries = await sshTrue(t.port, user.privateKey, deadline);
          t.sshOk = rel();
          process.stdout.write(`  ${name}: banner ${sec(t.banner)} s, ssh true ${sec(t.sshOk)} s${t.sshTries > 1 ? ` (${t.sshTries} tries)` : ''}\n`);
        })().catch((err: unknown) => {
          t.error ??= err instanceof Error ? err.message : String(err);
        }),
      );
    }
    const postsDone = rel();
    console.log(`  ${COUNT} POSTs done ${sec(postsDone)} s after the first; waiting for the banners and SSH (bounded by ${FLEET_TIMEOUT_MS / 1000} s)`);
    const waitAll = Promise.all(pipelines);
    const timedOut = await Promise.race([waitAll.then(() => false), sleep(Math.max(0, deadline - Date.now())).then(() => true)]);
    if (timedOut) abort.abort();
    await waitAll;
  } finally {
    polling = false;
    clearInterval(sampler);
  }
  await statusPoll;
  const ready = tracks.filter((t) => t.sshOk !== undefined);
  const allReadyAt = ready.length === COUNT ? max(ready.map((t) => t.sshOk!)) : undefined;
  const serverCpuBoot = (cpuSecondsOf(server.pid) ?? NaN) - serverCpuBefore;

  // ------------------------------------------------------------ sample with all of them up
  await sleep(2_000); // let the last SSH sessions close
  const pids = pidfilePids(server.vmsDir);
  for (const t of tracks) {
    t.pid = pids.get(`vm-${t.id}`);
    reaper.trackQemu(t.pid);
  }
  const serverMem = memoryOf(server.pid);
  const memAfter = memAvailableMb();
  const qemuMem = tracks.map((t) => ({ t, m: memoryOf(t.pid) }));
  const liveList = await api.vms.list();
  const runningNow = liveList.filter((v) => v.status === 'running').length;
  const qemuAlive = tracks.filter((t) => t.pid !== undefined && alive(t.pid)).length;

  // All of them at the same moment.
  const tAgain = now();
  const again = await Promise.allSettled(tracks.map((t) => sshExec({ port: t.port, privateKey: user.privateKey, command: 'true', timeoutMs: SSH_TIMEOUT_MS })));
  const againOk = again.filter((r) => r.status === 'fulfilled').length;
  const againMs = now() - tAgain;
  const serverMemAfterSsh = memoryOf(server.pid);

  // ------------------------------------------------------------ report
  console.log(`\nResults (${new Date().toISOString()}), ${COUNT} × ${SIZE}, times in s from just before the first POST\n`);
  console.log('| VM | port | POST (ms) | running (API, 1 s poll) | SSH banner | `true` over SSH | QEMU PID | QEMU VmRSS (MiB) | VmHWM (MiB) | RssAnon (MiB) |');
  console.log('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const { t, m } of qemuMem) {
    console.log(
      `| ${t.name} | ${t.port} | ${fmt(t.postDone - t.postStart, 0)} | ${sec(t.runningSeen, 1)} | ${sec(t.banner, 1)} | ${t.sshOk !== undefined ? sec(t.sshOk, 1) : `FAILED: ${t.error}`} | ` +
        `${t.pid ?? 'n/a'} | ${fmt(m?.rssMb)} | ${fmt(m?.hwmMb)} | ${fmt(m?.anonMb)} |`,
    );
  }
  const rss = qemuMem.map((x) => x.m?.rssMb).filter((x): x is number => x !== undefined);
  const anon = qemuMem.map((x) => x.m?.anonMb).filter((x): x is number => x !== undefined);
  console.log('');
  console.log(`All ${COUNT} answering \`true\` over SSH: ${allReadyAt !== undefined ? `${sec(allReadyAt, 1)} s after the first POST` : `NO (${ready.length}/${COUNT})`}` +
    ` (POSTs took ${sec(tracks.at(-1)?.postDone, 2)} s; first banner ${sec(min(tracks.map((t) => t.banner ?? Infinity)), 1)} s, last banner ${sec(max(tracks.map((t) => t.banner ?? -Infinity)), 1)} s)`);
  console.log(`Running at sample time: ${runningNow} per the API, ${qemuAlive} QEMU processes alive; \`true\` on all ${COUNT} at once: ${againOk}/${COUNT} in ${fmt(againMs, 0)} ms`);
  console.log(`QEMU VmRSS per VM: min ${fmt(min(rss))} / median ${fmt(median(rss))} / max ${fmt(max(rss))} MiB, total ${fmt(sum(rss), 0)} MiB (RssAnon total ${fmt(sum(anon), 0)} MiB, median ${fmt(median(anon))} MiB)`);
  console.log(`Peak total QEMU RSS during the boot (1 s samples): ${fmt(peaks.qemuTotal, 0)} MiB`);
  console.log(`Server (pid ${server.pid}): VmRSS ${fmt(serverMem?.rssMb)} MiB with ${COUNT} VMs up (${fmt(serverMemAfterSsh?.rssMb)} MiB after the parallel SSH round), VmHWM ${fmt(serverMemAfterSsh?.hwmMb)} MiB; ` +
    `${fmt(serverBefore?.rssMb)} MiB before the first POST; CPU ${fmt(serverCpuBoot, 1)} s during the boot phase`);
  console.log(`Host MemAvailable: ${fmt(memBefore, 0)} MiB before, ${fmt(memAfter, 0)} MiB with ${COUNT} VMs up (Δ ${fmt(memBefore - memAfter, 0)} MiB, ${fmt((memBefore - memAfter) / COUNT, 1)} MiB per VM); lowest ${fmt(peaks.minAvail, 0)} MiB`);

  // Every VM that did not make it, examined while it still exists.
  const diagnoses: string[] = [];
  for (const t of tracks.filter((x) => x.sshOk === undefined)) {
    diagnoses.push(`${t.name} (vm-${t.id}, QEMU ${t.pid ?? 'n/a'}${t.pid && alive(t.pid) ? ', alive' : ''}):\n    ${await diagnoseGuest(path.join(server.vmsDir, `vm-${t.id}`))}`);
  }
  if (diagnoses.length) console.log(`\nVMs that never answered:\n  ${diagnoses.join('\n  ')}`);

  // ------------------------------------------------------------ destroy all, nothing left
  const tDestroy = now();
  for (const t of tracks) await api.vms.action(t.id, { action: 'destroy', force: true }).catch((err: unknown) => console.error(`  destroy ${t.name}: ${String(err)}`));
  const destroyDeadline = Date.now() + 120_000;
  let remaining = tracks.length;
  while (Date.now() < destroyDeadline) {
    const list = await api.vms.list();
    remaining = list.filter((v) => tracks.some((t) => t.id === v.id) && v.status !== 'destroyed').length;
    if (remaining === 0) break;
    await sleep(500);
  }
  const destroyMs = now() - tDestroy;
  await sleep(500);
  const leftover = reaper.leftoverQemus();
  const serverAfterDestroy = memoryOf(server.pid);
  console.log(`Destroy of all ${COUNT} through the API: ${remaining === 0 ? `done in ${sec(destroyMs, 1)} s` : `${remaining} not destroyed after ${sec(destroyMs, 0)} s`}; ` +
    `QEMU processes of this run left: ${leftover.length === 0 ? 'none' : leftover.join(' ')}; server VmRSS then ${fmt(serverAfterDestroy?.rssMb)} MiB`);

  // ------------------------------------------------------------ verdict
  const serverRss = Math.max(serverMem?.rssMb ?? Infinity, serverMemAfterSsh?.rssMb ?? 0);
  const checks = [
    { ok: allReadyAt !== undefined && allReadyAt <= FLEET_TIMEOUT_MS, text: `all ${COUNT} VMs ran \`true\` over SSH: ${ready.length}/${COUNT}${allReadyAt !== undefined ? ` in ${sec(allReadyAt, 1)} s` : ''} (limit ${FLEET_TIMEOUT_MS / 1000} s)` },
    { ok: runningNow >= COUNT && qemuAlive === COUNT && againOk === COUNT, text: `all ${COUNT} running at once: API ${runningNow}, QEMU alive ${qemuAlive}, simultaneous SSH ${againOk}` },
    { ok: serverRss < TARGET_SERVER_RSS_MB, text: `server RSS with ${COUNT} VMs: ${fmt(serverRss)} MiB (VmHWM ${fmt(serverMemAfterSsh?.hwmMb)} MiB) — target < ${TARGET_SERVER_RSS_MB} MB` },
    { ok: remaining === 0 && leftover.length === 0, text: `destroy left nothing: ${remaining} not destroyed, ${leftover.length} QEMU process(es) left` },
  ];
  console.log('\nVerdict');
  for (const c of checks) console.log(`  ${c.ok ? 'PASS' : 'FAIL'}  ${c.text}`);
  const errors = tracks.filter((t) => t.error);
  if (errors.length) console.log(`  errors: ${errors.map((t) => `${t.name}: ${t.error}`).join('; ')}`);
  if (!checks.every((c) => c.ok)) {
    const out = server.output().trim();
    if (out) console.log(`\nserver output (last 2000 characters):\n${out.slice(-2000)}`);
  }
  return checks.every((c) => c.ok) ? 0 : 1;
}

await runBench(reaper, envInt('BENCH_TIMEOUT_S', FLEET_TIMEOUT_MS / 1000 + 600) * 1000, main);
