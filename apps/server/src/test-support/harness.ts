import path from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp, type AppDeps } from '../app.js';
import { defaultConfig, type Config } from '../config/config.js';
import { loadOrCreateSecrets } from '../config/secrets.js';
import type { Clock } from '../lib/time.js';
import type { ComputeDriver } from '../compute/driver.js';
import { createTestDatabase, type DbKind, type TestDatabase } from './databases.js';
import { FakeDriver } from './fake-driver.js';

/** A clock tests can move forward to cross lockout and expiry boundaries without sleeping. */
export class TestClock implements Clock {
  private t = Date.now();
  now() {
    return new Date(this.t);
  }
  advanceMinutes(m: number) {
    this.t += m * 60_000;
  }
}

export const ADMIN_PASSWORD = 'Adm1n-test-password';
export const PASSWORD = 'correct horse battery';

export interface Harness {
  app: Awaited<ReturnType<typeof buildApp>>['app'];
  services: Awaited<ReturnType<typeof buildApp>>['services'];
  routes: Awaited<ReturnType<typeof buildApp>>['routes'];
  db: TestDatabase;
  clock: TestClock;
  config: Config;
  close(): Promise<void>;
  /** Registers a user and returns a bearer session token for it. */
  user(username: string): Promise<{ id: number; token: string }>;
  adminToken(): Promise<string>;
  /** Gives the user credits and creates a running tiny VM of theirs (through the API); returns its id. */
  vm(owner: { id: number; token: string }, name: string): Promise<number>;
  request(opts: {
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT' | 'HEAD' | 'OPTIONS';
    url: string;
    token?: string;
    body?: unknown;
    headers?: Record<string, string>;
    cookies?: Record<string, string>;
  }): Promise<LightMyRequestResponse>;
}

/**
 * A whole app on a fresh database, driven through inject. The driver defaults to the fake one: a
 * medium test that creates a VM must never boot a real QEMU by accident (one did, and its QEMU
 * outlived the test's deleted data dir). Pass a real driver on purpose.
 */
export async function createHarness(kind: DbKind, overrides: Partial<Config> = {}, driver: ComputeDriver = new FakeDriver(), deps: Pick<AppDeps, 'imageScripts'> = {}): Promise<Harness> {
  const db = await createTestDatabase(kind);
  const clock = new TestClock();
  const config: Config = {
    ...defaultConfig(),
    dataDir: db.dataDir,
    logLevel: 'silent',
    loginRateLimitPerMinute: 1000,
    registerRateLimitPerHour: 1000,
    webDir: '/nonexistent-web-dir',
    // A test that listens must not start a real Debian build, nor import the machine's cache.
    imageBuild: 'off',
    imageCacheDir: path.join(db.dataDir, 'image-cache'),
    ...overrides,
  };
  const { app, services, routes } = await buildApp({
    config,
    secrets: loadOrCreateSecrets(db.dataDir),
    database: db.handle,
    clock,
    logger: false,
    driver,
    ...deps,
  });
  await services.auth.ensureAdmin({ username: 'admin', email: 'admin@example.com', password: ADMIN_PASSWORD });
  await app.ready();

  const request: Harness['request'] = ({ method, url, token, body, headers, cookies }) =>
    app.inject({
      method,
      url,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      cookies,
      ...(body !== undefined ? { payload: body as object } : {}),
    });

  const login = async (username: string, password: string) => {
    const res = await request({ method: 'POST', url: '/api/auth/login', body: { username, password } });
    if (res.statusCode !== 200) throw new Error(`login ${username} failed: ${res.body}`);
    return res.json().access_token as string;
  };

  return {
    app,
    services,
    routes,
    db,
    clock,
    config,
    request,
    async user(username) {
      const res = await request({
        method: 'POST',
        url: '/api/auth/register',
        body: { username, email: `${username}@example.com`, password: PASSWORD },
      });
      if (res.statusCode !== 201) throw new Error(`register ${username} failed: ${res.body}`);
      return { id: res.json().id, token: await login(username, PASSWORD) };
    },
    adminToken: () => login('admin', ADMIN_PASSWORD),
    async vm(owner, name) {
      const admin = await login('admin', ADMIN_PASSWORD);
      const credit = await request({ method: 'POST', url: `/api/admin/users/${owner.id}/credits`, token: admin, body: { amount: 100_000, reason: 'test' } });
      if (credit.statusCode !== 200) throw new Error(`crediting user ${owner.id} failed: ${credit.body}`);
      const res = await request({ method: 'POST', url: '/api/vms', token: owner.token, body: { name, image: 'tiny', size: 's-1vcpu-1gb' } });
      if (res.statusCode !== 201) throw new Error(`creating VM ${name} failed: ${res.body}`);
      await services.ops.idle();
      return res.json().id as number;
    },
    async close() {
      await app.close();
      await db.cleanup();
    },
  };
}
