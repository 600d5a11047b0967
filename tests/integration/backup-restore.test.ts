import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { ApiClient, type Vm } from '@twarga/contract';
import { killQemusUnder } from '../support/qemu.js';
import { root, startServer } from '../support/server.js';
import { until } from '../support/until.js';

/**
 * `npm run backup` against a RUNNING server (real QEMU VM, ledger rows, credits being adjusted
 * while the copy is taken), `npm run restore` into a fresh data dir (and, for PostgreSQL, a fresh
 * database), a new server on it: the same users with the same passwords, VMs, actions and ledger.
 */
const ADMIN_PASSWORD = 'backup-admin-password';
const PASSWORDS = { alice: 'correct horse battery', bob: 'staple purple giraffe' };

interface Ledger { id: number; amount: number; balance_after: number; reason: string; kind: string | null; vm_id: number | null }

/** Runs an npm script as an operator would; resolves with its exit code and output, never rejects. */
function npmRun(script: 'backup' | 'restore', args: string[], env: Record<string, string>): Promise<{ code: number; out: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile('npm', ['run', '--silent', script, '--', ...args], { cwd: root, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}`, ms: Date.now() - started });
    });
  });
}

async function ledgerOf(base: string, token: string): Promise<Ledger[]> {
  const res = await fetch(`${base}/api/account/ledger?limit=1000`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  return ((await res.json()) as Ledger[]).map(({ id, amount, balance_after, reason, kind, vm_id }) => ({ id, amount, balance_after, reason, kind, vm_id })).sort((a, b) => a.id - b.id);
}

function modeOf(p: string): number {
  return statSync(p).mode & 0o777;
}

/** Every file and directory under dir with its mode, for the "all private" check. */
function modesUnder(dir: string): { path: string; mode: number; dir: boolean }[] {
  const out: { path: string; mode: number; dir: boolean }[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const p = path.join(e.parentPath, e.name);
    out.push({ path: path.relative(dir, p), mode: modeOf(p), dir: e.isDirectory() });
  }
  return out;
}

/** Measured durations, printed once at the end (for the operator notes). */
const timings: string[] = [];
after(() => console.log(timings.join('\n')));

const kinds: ('sqlite' | 'postgres')[] = process.env.TWARGA_TEST_PG_URL ? ['sqlite', 'postgres'] : ['sqlite'];

for (const kind of kinds) {
  describe(`backup and restore of a running server (${kind})`, () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'twarga-backup-'));
    const sourceDir = path.join(tmp, 'source');
    const backupDir = path.join(tmp, 'backup');
    const restoredDir = path.join(tmp, 'restored');
    const suffix = randomBytes(4).toString('hex');
    const pgNames = { source: `twarga_bk_src_${suffix}`, target: `twarga_bk_dst_${suffix}`, scratch: `twarga_bk_tmp_${suffix}` };
    const pgUrl = (name: string) => {
      const u = new URL(process.env.TWARGA_TEST_PG_URL!);
      u.pathname = `/${name}`;
      return u.toString();
    };
    const dbEnv = (which: keyof typeof pgNames): Record<string, string> => (kind === 'postgres' ? { TWARGA_DATABASE_URL: pgUrl(pgNames[which]) } : {});
    const serverEnv = (dataDir: string, which: 'source' | 'target') => ({
      TWARGA_DATA_DIR: dataDir, TWARGA_ADMIN_PASSWORD: ADMIN_PASSWORD, TWARGA_ACCEL: 'tcg', TWARGA_RECONCILE_SECONDS: '1',
      TWARGA_SSH_PORTS: '24150-24199', TWARGA_STOP_TIMEOUT_SECONDS: '20', ...dbEnv(which),
    });
    let server: Awaited<ReturnType<typeof startServer>> | undefined;
    const adminPg = async (statement: string) => {
      const c = new pg.Client({ connectionString: process.env.TWARGA_TEST_PG_URL });
      await c.connect();
      try {
        await c.query(statement);
      } finally {
        await c.end();
      }
    };

    // What the source server showed, to compare with the restored one.
    const before_: {
      users: Record<'alice' | 'bob', { id: number; email: string; credits: number; token: string }>;
      vm?: Vm;
      actions?: { id: number; type: string; status: string }[];
      ledgers?: Record<'alice' | 'bob', Ledger[]>;
    } = { users: {} as never };

    before(async () => {
      if (kind === 'postgres') for (const name of Object.values(pgNames)) await adminPg(`CREATE DATABASE ${name}`);
      server = await startServer(serverEnv(sourceDir, 'source'));
    });
    after(async () => {
      await server?.stop();
      killQemusUnder(sourceDir);
      killQemusUnder(restoredDir);
      if (kind === 'postgres') for (const name of Object.values(pgNames)) await adminPg(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      rmSync(tmp, { recursive: true, force: true });
    });

    test('users, credits, a real VM (created, running, stopped) and its ledger rows on the source server', async () => {
      const base = server!.base;
      const anon = new ApiClient({ baseUrl: base });
      const admin = new ApiClient({ baseUrl: base, token: (await anon.auth.login('admin', ADMIN_PASSWORD)).access_token });
      for (const name of ['alice', 'bob'] as const) {
        const user = await anon.auth.register({ username: name, email: `${name}@example.com`, password: PASSWORDS[name] });
        const token = (await anon.auth.login(name, PASSWORDS[name])).access_token;
        before_.users[name] = { id: user.id, email: user.email, credits: 0, token };
      }
      await admin.admin.adjustCredits(before_.users.alice.id, { amount: 250, reason: 'top-up before the backup' });
      await admin.admin.adjustCredits(before_.users.bob.id, { amount: 40, reason: 'welcome bonus' });

      const alice = new ApiClient({ baseUrl: base, token: before_.users.alice.token });
      const created = await alice.vms.create({ name: 'kept-vm', image: 'tiny', size: 's-1vcpu-256mb' });
      const waitStatus = (status: Vm['status']) =>
        until(`VM ${status}`, async () => {
          const vm = await alice.vms.get(created.id);
          if (vm.status === 'error') throw new Error(`VM went to error: ${vm.error}`);
          return vm.status === status && !vm.locked ? vm : undefined;
        });
      await waitStatus('running');
      // Stopped before the backup: a restored server has no QEMU of it, so a running VM would
      // (rightly) come back as stopped; a stopped one must come back exactly as it was.
      await alice.vms.action(created.id, { action: 'stop' });
      before_.vm = await waitStatus('stopped');
      before_.actions = (await alice.vms.actions(created.id)).map(({ id, type, status }) => ({ id, type, status })).sort((a, b) => a.id - b.id);
      assert.deepEqual(before_.actions.map((a) => [a.type, a.status]), [['create', 'completed'], ['stop', 'completed']]);

      for (const name of ['alice', 'bob'] as const) before_.users[name].credits = (await new ApiClient({ baseUrl: base, token: before_.users[name].token }).auth.me()).credits;
      before_.ledgers = { alice: await ledgerOf(base, before_.users.alice.token), bob: await ledgerOf(base, before_.users.bob.token) };
      assert.ok(before_.ledgers.alice.some((r) => r.kind === 'first_hour' && r.vm_id === created.id && r.amount === -before_.vm!.price_hourly), JSON.stringify(before_.ledgers.alice));
      assert.equal(before_.users.alice.credits, 1000 + 250 - before_.vm.price_hourly);
    });

    test('npm run backup copies the running server: rows committed just before are in it; private files; a manifest with checksums', async () => {
      const base = server!.base;
      const admin = new ApiClient({ baseUrl: base, token: (await new ApiClient({ baseUrl: base }).auth.login('admin', ADMIN_PASSWORD)).access_token });
      // Committed just before the copy (on SQLite still in the WAL, not in the main file): all in it.
      for (let i = 0; i < 5; i++) await admin.admin.adjustCredits(before_.users.bob.id, { amount: 2, reason: `just before backup ${i}` });
      before_.ledgers!.bob = await ledgerOf(base, before_.users.bob.token);
      before_.users.bob.credits = before_.ledgers!.bob.at(-1)!.balance_after;
      const result = await npmRun('backup', [backupDir], { TWARGA_DATA_DIR: sourceDir, ...dbEnv('source') });
      assert.equal(result.code, 0, result.out);
      assert.match(result.out, /backup written to/);
      timings.push(`backup (${kind}): ${result.ms} ms, ${result.out.match(/files: .*/)?.[0]}`);

      const manifest = JSON.parse(readFileSync(path.join(backupDir, 'manifest.json'), 'utf8')) as { database: { kind: string; migrations: string[] }; files: { path: string; size: number; sha256: string }[] };
      assert.equal(manifest.database.kind, kind);
      assert.ok(manifest.database.migrations.includes('001_initial'));
      const paths = manifest.files.map((f) => f.path);
      assert.ok(paths.includes(kind === 'sqlite' ? 'database.sqlite' : 'database.pgdump'), paths.join(' '));
      assert.ok(paths.includes('data/secrets.json'));
      const vmDir = `data/vms/vm-${before_.vm!.id}`;
      assert.ok(paths.includes(`${vmDir}/spec.json`) && paths.includes(`${vmDir}/.vm_info`), paths.join(' '));
      assert.ok(!paths.some((p) => /disk\.qcow2|\.sock$|qemu\.pid|serial\.log/.test(p)), `no disks, sockets, pidfiles or logs: ${paths.join(' ')}`);
      assert.ok(manifest.files.every((f) => /^[0-9a-f]{64}$/.test(f.sha256) && f.size === statSync(path.join(backupDir, f.path)).size));
      assert.equal(modeOf(backupDir), 0o700);
      const loose = modesUnder(backupDir).filter((e) => e.mode !== (e.dir ? 0o700 : 0o600));
      assert.deepEqual(loose, [], 'everything in the backup is private');

      const again = await npmRun('backup', [backupDir], { TWARGA_DATA_DIR: sourceDir, ...dbEnv('source') });
      assert.equal(again.code, 1);
      assert.match(again.out, /is not empty/);
    });

    test('a backup taken while credits change is one consistent moment: every balance equals its ledger', async () => {
      const base = server!.base;
      const admin = new ApiClient({ baseUrl: base, token: (await new ApiClient({ baseUrl: base }).auth.login('admin', ADMIN_PASSWORD)).access_token });
      const busyBackup = path.join(tmp, 'busy-backup');
      let done = false;
      let writes = 0;
      const writer = (async () => {
        while (!done) {
          await admin.admin.adjustCredits(before_.users.bob.id, { amount: 1, reason: `during backup ${writes}` });
          writes++;
        }
      })();
      const result = await npmRun('backup', [busyBackup], { TWARGA_DATA_DIR: sourceDir, ...dbEnv('source') });
      done = true;
      await writer;
      assert.equal(result.code, 0, result.out);
      assert.ok(writes > 0, 'credits were adjusted while the backup ran');
      const bobFinal = await ledgerOf(base, before_.users.bob.token);

      // Restored beside the real one (its own data dir and, for PostgreSQL, database); read with SQL.
      const scratch = path.join(tmp, 'busy-restored');
      const r = await npmRun('restore', [busyBackup, '--data-dir', scratch], dbEnv('scratch'));
      assert.equal(r.code, 0, r.out);
      const query = `SELECT u.id, u.credits, COALESCE((SELECT sum(l.amount) FROM credit_ledger l WHERE l.user_id = u.id), 0) AS total,
        (SELECT l.balance_after FROM credit_ledger l WHERE l.user_id = u.id ORDER BY l.id DESC LIMIT 1) AS last FROM users u ORDER BY u.id`;
      const bobQuery = `SELECT id, amount, balance_after, reason FROM credit_ledger WHERE user_id = ${before_.users.bob.id} ORDER BY id`;
      let balances: { id: number; credits: number; total: number; last: number | null }[];
      let bobRows: { id: number; amount: number; balance_after: number; reason: string }[];
      if (kind === 'sqlite') {
        const db = new SQLite(path.join(scratch, 'twarga.db'), { readonly: true });
        balances = db.prepare(query).all() as typeof balances;
        bobRows = db.prepare(bobQuery).all() as typeof bobRows;
        db.close();
      } else {
        const c = new pg.Client({ connectionString: pgUrl(pgNames.scratch) });
        await c.connect();
        balances = (await c.query(query)).rows.map((x) => ({ id: Number(x.id), credits: Number(x.credits), total: Number(x.total), last: x.last === null ? null : Number(x.last) }));
        bobRows = (await c.query(bobQuery)).rows.map((x) => ({ id: Number(x.id), amount: Number(x.amount), balance_after: Number(x.balance_after), reason: String(x.reason) }));
        await c.end();
      }
      for (const b of balances) {
        assert.equal(b.credits, b.total, `user ${b.id}: balance = ledger sum`);
        if (b.last !== null) assert.equal(b.credits, b.last, `user ${b.id}: balance = last balance_after`);
      }
      // A prefix of the source's rows: none torn, none from after the moment, none missing before it.
      assert.ok(bobRows.length >= before_.ledgers!.bob.length);
      assert.deepEqual(bobRows, bobFinal.slice(0, bobRows.length).map(({ id, amount, balance_after, reason }) => ({ id, amount, balance_after, reason })));
      timings.push(`busy backup (${kind}): ${result.ms} ms with ${writes} concurrent credit adjustments, ${bobRows.length - before_.ledgers!.bob.length} of them in the copy`);
    });

    test('restore refuses a damaged backup (one flipped byte) and leaves the target untouched', async () => {
      const damaged = path.join(tmp, 'damaged');
      cpSync(backupDir, damaged, { recursive: true });
      const db = path.join(damaged, kind === 'sqlite' ? 'database.sqlite' : 'database.pgdump');
      const bytes = readFileSync(db);
      const at = Math.floor(bytes.length / 2);
      bytes[at] = bytes[at]! ^ 0x01;
      writeFileSync(db, bytes);
      const target = path.join(tmp, 'from-damaged');
      const r = await npmRun('restore', [damaged, '--data-dir', target], dbEnv('target'));
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, /checksum mismatch for database\.(sqlite|pgdump)/);
      assert.equal(existsSync(target), false, 'nothing was written');
    });

    test('restore into a fresh data dir, a new server on it: same users and passwords, secrets, VMs, actions and ledger', async () => {
      await server!.stop();
      server = undefined;
      const r = await npmRun('restore', [backupDir, '--data-dir', restoredDir], dbEnv('target'));
      assert.equal(r.code, 0, r.out);
      timings.push(`restore (${kind}): ${r.ms} ms`);
      assert.equal(modeOf(restoredDir), 0o700);
      assert.deepEqual(modesUnder(restoredDir).filter((e) => e.mode !== (e.dir ? 0o700 : 0o600)), []);
      assert.deepEqual(readFileSync(path.join(restoredDir, 'secrets.json')), readFileSync(path.join(sourceDir, 'secrets.json')), 'the same secrets');

      server = await startServer(serverEnv(restoredDir, 'target'));
      const base = server.base;
      const anon = new ApiClient({ baseUrl: base });
      assert.ok((await anon.auth.login('admin', ADMIN_PASSWORD)).access_token, 'the admin keeps its password');
      for (const name of ['alice', 'bob'] as const) {
        const token = (await anon.auth.login(name, PASSWORDS[name])).access_token;
        const me = await new ApiClient({ baseUrl: base, token }).auth.me();
        assert.deepEqual([me.id, me.username, me.email], [before_.users[name].id, name, before_.users[name].email]);
        // A session from before the backup still works: sessions and their hashes came along.
        assert.equal((await new ApiClient({ baseUrl: base, token: before_.users[name].token }).auth.me()).id, me.id);
      }

      const aliceToken = (await anon.auth.login('alice', PASSWORDS.alice)).access_token;
      const alice = new ApiClient({ baseUrl: base, token: aliceToken });
      assert.equal((await alice.auth.me()).credits, before_.users.alice.credits);
      assert.deepEqual(await ledgerOf(base, aliceToken), before_.ledgers!.alice, "alice's ledger, row for row");
      // The VM's row is read once the restored server's reconciler has looked at it (1 s passes).
      await new Promise((r) => setTimeout(r, 2500));
      const vms = await alice.vms.list();
      assert.deepEqual(vms.map((v) => [v.id, v.name, v.status, v.size]), [[before_.vm!.id, 'kept-vm', 'stopped', before_.vm!.size]]);
      assert.deepEqual((await alice.vms.actions(before_.vm!.id)).map(({ id, type, status }) => ({ id, type, status })).sort((a, b) => a.id - b.id), before_.actions);

      const bobToken = (await anon.auth.login('bob', PASSWORDS.bob)).access_token;
      assert.deepEqual(await ledgerOf(base, bobToken), before_.ledgers!.bob, "bob's ledger, with the rows written just before the backup");
      assert.equal((await new ApiClient({ baseUrl: base, token: bobToken }).auth.me()).credits, before_.users.bob.credits);
    });

    test('restore refuses a data dir that is not empty (here: the running restored server\'s)', async () => {
      const r = await npmRun('restore', [backupDir, '--data-dir', restoredDir], dbEnv('target'));
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, /data dir .* is not empty/);
      if (kind === 'postgres') {
        // A fresh data dir but the restored server's database: refused too.
        const fresh = path.join(tmp, 'fresh');
        mkdirSync(fresh, { mode: 0o700 });
        const p = await npmRun('restore', [backupDir, '--data-dir', fresh], dbEnv('target'));
        assert.equal(p.code, 1, p.out);
        assert.match(p.out, /database .* is not empty/);
        assert.deepEqual(readdirSync(fresh), []);
      }
    });
  });
}
