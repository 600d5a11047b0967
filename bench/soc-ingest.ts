/**
 * Benchmark: sustained ingest through the real syslog receiver into the event log.
 *
 *   npm run bench:soc-ingest                                   (SQLite)
 *   TWARGA_TEST_PG_URL=postgres://… npm run bench:soc-ingest   (SQLite, then PostgreSQL)
 *   SOC_INGEST_LINES=50000 SOC_INGEST_CONNECTIONS=8 npm run bench:soc-ingest
 *
 * The whole server as `buildApp` makes it (fake compute driver; everything else real: the SOC
 * started with whatever it has — detection rules subscribed to the event log, the search index's
 * triggers/columns from the migrations), with the generic syslog receiver on a loopback TCP port.
 * One VM is made a bridged VM holding 127.0.0.1, so every line is attributed to it and goes
 * through the rules like a real guest's. Its per-VM rate limit is lifted (this measures the
 * pipeline, not the limit). N sshd lines (failed passwords, invalid users, a few logins) in two
 * mixes: `spread` (12,500 addresses, a couple of lines each: few rules cross their thresholds) and
 * `campaign` (80 % from 16 persistent attackers, the rest a tail of N/10 addresses: the brute-force
 * and success-after-failures rules fire and keep firing, as in a real attack). They go out over C TCP connections as fast as the receiver takes them;
 * the figure is lines whose events are stored per second, from the first byte sent to the last
 * event in the database. Target: ≥ 5,000 events/s on SQLite (spread mix). Exit 0 when met.
 *   SOC_INGEST_MIXES=campaign npm run bench:soc-ingest          (one mix only)
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { buildApp } from '../apps/server/src/app.js';
import { defaultConfig } from '../apps/server/src/config/config.js';
import { loadOrCreateSecrets } from '../apps/server/src/config/secrets.js';
import { FakeDriver } from '../apps/server/src/test-support/fake-driver.js';
import { createTestDatabase, type DbKind } from '../apps/server/src/test-support/databases.js';

const LINES = Number(process.env.SOC_INGEST_LINES ?? 30_000);
const CONNECTIONS = Number(process.env.SOC_INGEST_CONNECTIONS ?? 4);
const TARGET = 5_000;
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH8ox8vG4+0UMzf1m0SrtXkcsUP5i2s0cWqM8S3vD1bF bench';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

type Mix = 'spread' | 'campaign';
const MIXES = (process.env.SOC_INGEST_MIXES ?? 'spread,campaign').split(',') as Mix[];

function lines(n: number, offset: number, total: number, mix: Mix): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = offset + i;
    // Like a real campaign: most lines from a few persistent attackers (each crosses the brute-force
    // threshold: a handful of incidents), the rest a long tail of addresses trying twice or so.
    const tail = Math.max(1, Math.floor(total / 10));
    const ip = mix === 'spread' ? `198.51.${100 + (k % 50)}.${1 + (Math.floor(k / 50) % 250)}` : k % 5 < 4 ? `203.0.113.${1 + (k % 20)}` : `198.51.${100 + (Math.floor(k / 5) % tail) % 50}.${1 + (Math.floor(Math.floor(k / 5) % tail / 50) % 250)}`;
    const port = 1024 + (k % 60000);
    const r = k % 20;
    const msg =
      r < 14 ? `Failed password for root from ${ip} port ${port} ssh2`
      : r < 19 ? `Invalid user user${k % 500} from ${ip} port ${port}`
      : `Accepted publickey for deploy from ${ip} port ${port} ssh2: ED25519 SHA256:abc${k}`;
    out.push(`<38>Nov 30 17:00:00 web-1 sshd[${1000 + (k % 30000)}]: ${msg}\n`);
  }
  return out.join('');
}

async function run(kind: DbKind, mix: Mix) {
  const db = await createTestDatabase(kind);
  const port = await freePort();
  const config = { ...defaultConfig(), dataDir: db.dataDir, logLevel: 'silent' as const, webDir: '/nonexistent-web-dir', sshPortRange: '25900-25949', syslogListen: `127.0.0.1:${port}`, syslogLinesPerSecondPerVm: 100_000, loginRateLimitPerMinute: 1000, registerRateLimitPerHour: 1000 };
  const { app, services } = await buildApp({ config, secrets: loadOrCreateSecrets(db.dataDir), database: db.handle, logger: false, driver: new FakeDriver() });
  await app.ready();
  try {
    // A user with one VM, made a bridged VM that holds 127.0.0.1 (so the receiver attributes to it).
    const reg = await app.inject({ method: 'POST', url: '/api/auth/register', payload: { username: 'bench', email: 'bench@example.com', password: 'correct horse battery' } });
    const token = (await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'bench', password: 'correct horse battery' } })).json().access_token as string;
    const auth = { authorization: `Bearer ${token}` };
    const key = (await app.inject({ method: 'POST', url: '/api/account/keys', headers: auth, payload: { name: 'k', public_key: KEY } })).json();
    const vm = (await app.inject({ method: 'POST', url: '/api/vms', headers: auth, payload: { name: 'web-1', size: 's-1vcpu-512mb', ssh_keys: [key.id] } })).json();
    await services.ops.idle();
    await db.handle.db.updateTable('vms').set({ driver: 'libvirt', ip_address: '127.0.0.1' }).where('id', '=', vm.id).execute();
    await services.soc.start();
    const have = Object.keys(services.soc).filter((k) => !['register', 'start', 'close'].includes(k));

    const count = async () =>
      Number((await sql<{ n: number }>`SELECT count(*) AS n FROM events WHERE action LIKE 'ssh.%' AND vm_id = ${vm.id}`.execute(db.handle.db)).rows[0]!.n);
    const per = Math.ceil(LINES / CONNECTIONS);
    const payloads = Array.from({ length: CONNECTIONS }, (_, c) => lines(Math.min(per, LINES - c * per), c * per, LINES, mix));
    const t0 = performance.now();
    await Promise.all(
      payloads.map(
        (p) =>
          new Promise<void>((resolve, reject) => {
            const s = net.connect(port, '127.0.0.1', () => s.end(p, () => resolve()));
            s.on('error', reject);
          }),
      ),
    );
    const sentMs = performance.now() - t0;
    let stored = 0;
    const deadline = Date.now() + 600_000;
    while ((stored = await count()) < LINES && Date.now() < deadline) {
      const st = services.soc.syslog.stats();
      if (st.totals.received >= LINES && st.pending === 0 && stored + st.totals.rateLimited + st.totals.backlog + st.totals.malformed >= LINES) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const ms = performance.now() - t0;
    const stats = services.soc.syslog.stats();
    const rate = Math.round((stored / ms) * 1000);
    console.log(
      `${kind} (${mix}): ${stored}/${LINES} events stored in ${(ms / 1000).toFixed(2)} s (bytes sent in ${(sentMs / 1000).toFixed(2)} s) over ${CONNECTIONS} TCP connections: ${rate} events/s` +
        ` | dropped: rate ${stats.totals.rateLimited}, backlog ${stats.totals.backlog}, malformed ${stats.totals.malformed} | SOC parts on: ${have.join(', ')}`,
    );
    void reg;
    return rate;
  } finally {
    await services.soc.close();
    await app.close();
    await db.cleanup();
  }
}

const kinds: DbKind[] = process.env.TWARGA_TEST_PG_URL ? ['sqlite', 'postgres'] : ['sqlite'];
const results: Record<string, number> = {};
for (const k of kinds) for (const m of MIXES) results[`${k}/${m}`] = await run(k, m);
const sqlite = results['sqlite/spread'] ?? results[`sqlite/${MIXES[0]}`]!;
const ok = sqlite >= TARGET;
console.log(`target ≥ ${TARGET} events/s on SQLite: ${ok ? 'met' : 'NOT met'} (${JSON.stringify(results)})`);
process.exit(ok ? 0 : 1);
