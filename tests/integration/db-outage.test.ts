import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startServer } from '../support/server.js';
import { until } from '../support/until.js';

const ADMIN_PASSWORD = 'outage-admin-pw';
const PASSWORD = 'correct horse battery';
const OUTAGE_MS = 10_000;
/** A request during the outage must fail fast: the pool's connect timeout (5 s) plus slack, never a 30 s hang. */
const BOUNDED_MS = 8_000;

/** A throw-away PostgreSQL cluster of this test's own, which the test stops and starts again. */
class OwnPostgres {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-pg-outage-'));
  private readonly bin = path.join('/usr/lib/postgresql', readdirSync('/usr/lib/postgresql').sort((a, b) => Number(a) - Number(b)).at(-1)!, 'bin');
  constructor(readonly port: number) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** PostgreSQL refuses to run as root: run its tools as the postgres system user. */
  private argv(tool: string, args: string[]): [string, string[]] {
    const full = [path.join(this.bin, tool), ...args];
    return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', ...full]] : [full[0]!, full.slice(1)];
  }

  private run(tool: string, args: string[]): void {
    execFileSync(...this.argv(tool, args), { timeout: 60_000, stdio: 'pipe' });
  }

  init(): void {
    if (process.getuid?.() === 0) chownSync(this.dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
    this.run('initdb', ['-D', `${this.dir}/data`, '-U', 'postgres', '-A', 'trust', '--no-sync']);
  }

  start(): void {
    const options = `-c listen_addresses=127.0.0.1 -p ${this.port} -k ${this.dir} -c fsync=off -c full_page_writes=off`;
    this.run('pg_ctl', ['-D', `${this.dir}/data`, '-l', `${this.dir}/server.log`, '-w', '-t', '30', 'start', '-o', options]);
  }

  private readonly stopArgs = ['-D', `${this.dir}/data`, '-m', 'fast', '-w', '-t', '30', 'stop'];

  /** A real shutdown (fast: open sessions and their transactions are ended, the port closes), not a paused postmaster. */
  async stop(): Promise<void> {
    await promisify(execFile)(...this.argv('pg_ctl', this.stopArgs), { timeout: 60_000 });
  }

  stopIfRunning(): void {
    if (existsSync(`${this.dir}/data/postmaster.pid`)) this.run('pg_ctl', this.stopArgs);
  }

  async query<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
    const client = new pg.Client({ connectionString: this.url });
    await client.connect();
    try {
      return (await client.query<T>(text, values)).rows;
    } finally {
      await client.end();
    }
  }

  remove(): void {
    this.stopIfRunning();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A port in this file's range (27950-27999) that nothing listens on now. */
async function freePortInRange(): Promise<number> {
  for (let port = 27950; port <= 27999; port++) {
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer().once('error', () => resolve(false)).listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port in 27950-27999');
}

/**
 * PostgreSQL goes away for 10 s under the built server (issue 16's chaos tests): requests get a
 * clear 503 with the error body, quickly; the process lives on; nothing is half-written; once
 * PostgreSQL is back the same server process answers again and its periodic jobs run again.
 */
describe('the database unavailable for 10 s under the built server (PostgreSQL)', { skip: existsSync('/usr/lib/postgresql') ? false : 'PostgreSQL is not installed' }, () => {
  let postgres: OwnPostgres;
  let dataDir: string;
  let server: Awaited<ReturnType<typeof startServer>>;
  let admin: string;
  let user: { id: number; token: string };

  const call = async (method: string, url: string, token?: string, body?: unknown) => {
    const started = Date.now();
    const res = await fetch(`${server.base}${url}`, {
      method,
      headers: { ...(token && { authorization: `Bearer ${token}` }), ...(body !== undefined && { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, ms: Date.now() - started };
  };
  const login = async (username: string, password: string) => {
    const res = await call('POST', '/api/auth/login', undefined, { username, password });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.access_token as string;
  };
  const ledgerAgrees = async () => {
    const [row] = await postgres.query<{ credits: string; ledger: string; rows: string }>(
      'SELECT u.credits, COALESCE(SUM(l.amount), 0) AS ledger, COUNT(l.id) AS rows FROM users u LEFT JOIN credit_ledger l ON l.user_id = u.id WHERE u.id = $1 GROUP BY u.id',
      [user.id],
    );
    return { credits: Number(row!.credits), ledger: Number(row!.ledger), rows: Number(row!.rows) };
  };
  const jobRuns = async () => {
    const res = await call('GET', '/api/admin/health', admin);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const jobs = (res.body.components as { name: string; last_run_at: string | null; facts: { last_error: string | null } }[]).filter((c) => c.name.startsWith('job:'));
    return new Map(jobs.map((j) => [j.name, j]));
  };

  before(async () => {
    postgres = new OwnPostgres(await freePortInRange());
    postgres.init();
    postgres.start();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-outage-'));
    server = await startServer({ TWARGA_DATA_DIR: dataDir, TWARGA_DATABASE_URL: postgres.url, TWARGA_ADMIN_PASSWORD: ADMIN_PASSWORD, TWARGA_RECONCILE_SECONDS: '1', TWARGA_METERING_INTERVAL_SECONDS: '1' });
    const reg = await call('POST', '/api/auth/register', undefined, { username: 'tenant', email: 'tenant@example.com', password: PASSWORD });
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    user = { id: reg.body.id, token: await login('tenant', PASSWORD) };
    admin = await login('admin', ADMIN_PASSWORD);
  });
  after(async () => {
    await server?.stop();
    postgres?.remove();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test('while PostgreSQL is stopped: 503 with the error body within a bounded time, /health 503, the process alive; afterwards the same process recovers', async (t) => {
    assert.equal((await call('POST', `/api/admin/users/${user.id}/credits`, admin, { amount: 25, reason: 'before the outage' })).status, 200);
    const before = await ledgerAgrees();
    assert.equal(before.credits, before.ledger);

    // Credit adjustments keep coming (4 at a time) while PostgreSQL shuts down: some transactions are cut
    // mid-way. Each adjustment is then wholly written or not at all.
    const cut: { status: number; body: unknown }[] = [];
    let adjusting = true;
    const adjuster = async () => {
      while (adjusting) {
        const i = cut.length;
        cut.push({ status: 0, body: undefined });
        cut[i] = await call('POST', `/api/admin/users/${user.id}/credits`, admin, { amount: i + 1, reason: `cut ${i}` });
      }
    };
    const adjusters = Array.from({ length: 4 }, adjuster);
    await new Promise((r) => setTimeout(r, 300));
    await postgres.stop();
    const stoppedAt = Date.now();
    adjusting = false;
    await Promise.all(adjusters);
    for (const r of cut) assert.ok(r.status === 200 || r.status === 503, `an adjustment cut by the outage answers 200 or 503, not ${r.status} ${JSON.stringify(r.body)}`);
    const answered = (status: number) => cut.filter((r) => r.status === status).length;
    assert.ok(answered(200) > 0 && answered(503) > 0, `adjustments before and during the shutdown: ${answered(200)} × 200, ${answered(503)} × 503`);
    t.diagnostic(`adjustments around the shutdown: ${answered(200)} × 200, ${answered(503)} × 503`);

    const during = [
      ['GET', '/api/auth/me', user.token],
      ['GET', '/api/account/keys', user.token],
      ['POST', '/api/account/tokens', user.token, { name: 'during', scope: 'read' }],
      ['POST', `/api/admin/users/${user.id}/credits`, admin, { amount: 5, reason: 'during the outage' }],
      ['POST', '/api/auth/register', undefined, { username: 'latecomer', email: 'late@example.com', password: PASSWORD }],
    ] as const;
    for (const [method, url, token, body] of during) {
      const res = await call(method, url, token, body);
      assert.equal(res.status, 503, `${method} ${url}: ${res.status} ${JSON.stringify(res.body)}`);
      assert.equal(res.body.code, 'service_unavailable', `${method} ${url}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.message, /database/i);
      assert.ok(res.body.request_id, 'the error body names the request');
      assert.ok(res.ms < BOUNDED_MS, `${method} ${url} answered in ${res.ms} ms`);
    }
    const health = await call('GET', '/health');
    assert.equal(health.status, 503);
    assert.equal(health.body.database, 'error');
    assert.ok(health.ms < BOUNDED_MS, `/health answered in ${health.ms} ms`);
    assert.equal(server.child.exitCode, null, 'the server process stays alive');

    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt))));
    assert.equal(server.child.exitCode, null, 'the server process is alive after 10 s without its database');
    postgres.start();
    const back = Date.now();
    t.diagnostic(`PostgreSQL was down ${back - stoppedAt} ms`);

    // The same process answers again, within a few seconds, without a restart.
    await until('requests succeed again', async () => ((await call('GET', '/api/auth/me', user.token)).status === 200 ? true : undefined), 10_000);
    await until('/health healthy again', async () => ((await call('GET', '/health')).status === 200 ? true : undefined), 10_000);
    assert.ok(Date.now() - back < 10_000, `recovered in ${Date.now() - back} ms`);
    t.diagnostic(`requests and /health succeed again ${Date.now() - back} ms after PostgreSQL is back`);
    const token = await call('POST', '/api/account/tokens', user.token, { name: 'after', scope: 'read' });
    assert.equal(token.status, 201, JSON.stringify(token.body));
    assert.equal((await call('POST', `/api/admin/users/${user.id}/credits`, admin, { amount: 7, reason: 'after the outage' })).status, 200);

    // Nothing half-written: every adjustment that answered 200 is in the ledger once, the balance is the ledger's sum.
    const after = await ledgerAgrees();
    assert.equal(after.credits, after.ledger, 'balance = sum of the ledger');
    const reasons = (await postgres.query<{ reason: string }>('SELECT reason FROM credit_ledger WHERE user_id = $1', [user.id])).map((r) => r.reason);
    for (const [i, r] of cut.entries()) {
      const rows = reasons.filter((x) => x === `cut ${i}`).length;
      if (r.status === 200) assert.equal(rows, 1, `adjustment ${i} answered 200: in the ledger once`);
      assert.ok(rows <= 1, `adjustment ${i} is in the ledger at most once`);
    }
    assert.equal(reasons.filter((x) => x === 'during the outage').length, 0, 'the refused adjustment left no row');

    // The periodic jobs run again: each job's last pass, after the restart, succeeded.
    const restartedAt = new Date(back).toISOString();
    await until('the periodic jobs ran after PostgreSQL came back', async () => {
      const runs = await jobRuns();
      const ok = ['job:metering', 'job:reconcile'].every((name) => (runs.get(name)?.last_run_at ?? '') > restartedAt && runs.get(name)?.facts.last_error === null);
      return ok ? true : undefined;
    }, 15_000);
  });
});
