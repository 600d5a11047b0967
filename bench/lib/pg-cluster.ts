/**
 * Shared helpers for the scale-out benchmarks (bench/two-processes.ts, bench/takeover.ts): a
 * throw-away database on an existing PostgreSQL (BENCH_PG_URL, else TWARGA_TEST_PG_URL), built
 * server processes (apps/server/dist/server.js, what `npm start` runs) joined to it the way an
 * operator joins a second process (its own data dir, the first one's secrets.json), and cleanup
 * by PID plus DROP DATABASE on every exit path, including Ctrl-C. Traffic goes only to 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { root, startServer } from '../../tests/support/server.js';

export type ServerProcess = Awaited<ReturnType<typeof startServer>> & { dataDir: string; name: string };

export const ADMIN_PASSWORD = randomBytes(15).toString('base64url');

export class BenchCluster {
  readonly servers: ServerProcess[] = [];
  private readonly dirs: string[] = [];
  private readonly dbName = `twarga_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  private readonly adminUrl: string;
  private cleaning?: Promise<void>;

  constructor(private readonly serverEnv: Record<string, string> = {}) {
    const url = process.env.BENCH_PG_URL ?? process.env.TWARGA_TEST_PG_URL;
    if (!url) throw new Error('set BENCH_PG_URL (or TWARGA_TEST_PG_URL) to a PostgreSQL the bench may create a database on');
    const parsed = new URL(url);
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname)) throw new Error(`the bench only talks to a loopback PostgreSQL, not ${parsed.hostname}`);
    this.adminUrl = url;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        console.error(`\n${signal}: stopping the servers and dropping ${this.dbName}`);
        void this.cleanup().finally(() => process.exit(130));
      });
    }
  }

  get databaseUrl(): string {
    const u = new URL(this.adminUrl);
    u.pathname = `/${this.dbName}`;
    return u.toString();
  }

  private async admin(text: string): Promise<void> {
    const client = new pg.Client({ connectionString: this.adminUrl });
    await client.connect();
    try {
      await client.query(text);
    } finally {
      await client.end();
    }
  }

  async createDatabase(): Promise<void> {
    await this.admin(`CREATE DATABASE ${this.dbName}`);
  }

  /** One more server process on the database; every process after the first gets the first one's secrets. */
  async start(name: string, env: Record<string, string> = {}): Promise<ServerProcess> {
    const dataDir = this.joinDataDir(name);
    const server = await startServer(this.envFor(dataDir, env));
    const started = { ...server, dataDir, name };
    this.servers.push(started);
    return started;
  }

  /**
   * The same, from a TypeScript entry point (bench/lib/fake-driver-server.ts) on a given port:
   * startServer only runs the built server.
   */
  async startScript(name: string, script: string, port: number, env: Record<string, string> = {}): Promise<ServerProcess> {
    const dataDir = this.joinDataDir(name);
    const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', script], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...this.envFor(dataDir, env), TWARGA_PORT: String(port), TWARGA_HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const base = `http://127.0.0.1:${port}`;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const stop = async () => void child.kill('SIGTERM');
    const kill = async () => {
      child.kill('SIGKILL');
      await exited;
    };
    const started: ServerProcess = { base, output: () => output, stop, kill, child, dataDir, name };
    this.servers.push(started);
    for (const deadline = Date.now() + 60_000; ; ) {
      if (child.exitCode !== null) throw new Error(`${name} exited: ${output}`);
      if (await fetch(`${base}/health`).then((r) => r.ok, () => false)) return started;
      if (Date.now() > deadline) throw new Error(`${name} did not start: ${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  private joinDataDir(name: string): string {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), `twarga-bench-${name}-`));
    this.dirs.push(dataDir);
    const first = this.servers[0];
    if (first) copyFileSync(path.join(first.dataDir, 'secrets.json'), path.join(dataDir, 'secrets.json'));
    return dataDir;
  }

  private envFor(dataDir: string, env: Record<string, string>): Record<string, string> {
    return {
      TWARGA_DATA_DIR: dataDir,
      TWARGA_DATABASE_URL: this.databaseUrl,
      TWARGA_ADMIN_PASSWORD: ADMIN_PASSWORD,
      TWARGA_LOG_LEVEL: 'warn',
      TWARGA_REGISTER_RATE_LIMIT: '100000',
      TWARGA_LOGIN_RATE_LIMIT: '100000',
      TWARGA_INSTANT_VMS: 'off',
      TWARGA_IMAGE_BUILD: 'off',
      ...this.serverEnv,
      ...env,
    };
  }

  cleanup(): Promise<void> {
    this.cleaning ??= (async () => {
      for (const s of this.servers) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
      await Promise.all(this.servers.map((s) => (s.child.exitCode !== null || s.child.signalCode !== null ? undefined : new Promise((r) => s.child.once('exit', r)))));
      for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
      await this.admin(`DROP DATABASE IF EXISTS ${this.dbName} WITH (FORCE)`).catch((err: unknown) => console.error(`could not drop ${this.dbName}: ${String(err)}`));
    })();
    return this.cleaning;
  }
}

/** A JSON call to one process (loopback only). */
export async function call(base: string, method: string, url: string, token?: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: { ...(token && { authorization: `Bearer ${token}` }), ...(body !== undefined && { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

export async function login(base: string, username: string, password: string): Promise<string> {
  const res = await call(base, 'POST', '/api/auth/login', undefined, { username, password });
  if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.access_token as string;
}
