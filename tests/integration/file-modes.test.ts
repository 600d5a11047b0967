import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { ApiClient } from '@twarga/contract';
import { killQemusUnder } from '../support/qemu.js';
import { freePort, serverJs, startServer } from '../support/server.js';
import { until } from '../support/until.js';

const mode = (p: string) => statSync(p).mode & 0o777;
const octal = (m: number) => `0${m.toString(8)}`;

/** Every file and directory under root that another user of the machine could read or enter. */
function openToOthers(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = path.join(dir, name);
      const st = lstatSync(p);
      if (st.isSymbolicLink()) continue;
      if ((st.mode & 0o077) !== 0) found.push(`${path.relative(root, p)} ${octal(st.mode & 0o777)}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(root);
  return found;
}

/**
 * The data dir holds the database, secrets, VM disks and seed ISOs (users' user-data): the built
 * server keeps all of it to its own user, also for a data dir and files an older version left open.
 */
describe('file modes of the data dir (built server)', () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) {
      killQemusUnder(path.join(d, 'data'));
      rmSync(d, { recursive: true, force: true });
    }
  });
  const dataDir = () => {
    const parent = mkdtempSync(path.join(os.tmpdir(), 'twarga-modes-'));
    dirs.push(parent);
    const d = path.join(parent, 'data');
    mkdirSync(d, { mode: 0o755 });
    chmodSync(d, 0o755); // whatever the test runner's umask
    return d;
  };

  test('a data dir that already exists as 0755, and a database and secrets left 0644, are private after a start', async () => {
    const dir = dataDir();
    const env = { TWARGA_DATA_DIR: dir, TWARGA_ADMIN_PASSWORD: 'modes-admin-password' };
    const first = await startServer(env);
    try {
      assert.equal(mode(dir), 0o700, 'a pre-existing 0755 data dir becomes 0700');
      for (const f of ['twarga.db', 'secrets.json']) assert.equal(mode(path.join(dir, f)), 0o600, f);
      assert.deepEqual(openToOthers(dir), []);
    } finally {
      await first.stop();
    }
    // What an older version left behind, or an admin's cp -r.
    chmodSync(dir, 0o755);
    for (const f of ['twarga.db', 'secrets.json']) chmodSync(path.join(dir, f), 0o644);
    const second = await startServer(env);
    try {
      assert.equal(mode(dir), 0o700);
      for (const f of ['twarga.db', 'twarga.db-wal', 'twarga.db-shm', 'secrets.json']) {
        if (f === 'twarga.db' || existsSync(path.join(dir, f))) assert.equal(mode(path.join(dir, f)), 0o600, f);
      }
      assert.deepEqual(openToOthers(dir), []);
    } finally {
      await second.stop();
    }
  });

  test('a data dir that holds somebody else\'s files is left alone: the start stops with exit code 2', async () => {
    const dir = dataDir();
    writeFileSync(path.join(dir, 'backup.tar'), 'not ours');
    const env = { PATH: process.env.PATH ?? '', TWARGA_DATA_DIR: dir, TWARGA_HOST: '127.0.0.1', TWARGA_PORT: String(await freePort()) };
    const child = spawn(process.execPath, [serverJs], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    // A server that (wrongly) starts is stopped after a while, and the test then fails on the code.
    const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await new Promise((r) => child.once('exit', r));
    clearTimeout(kill);
    assert.equal(code, 2, err);
    assert.match(err, /already holds other files \(backup\.tar\).*directory of its own/);
    assert.equal(mode(dir), 0o755, 'its mode is not touched');
    assert.deepEqual(readdirSync(dir), ['backup.tar'], 'nothing was created in it');
  });

  test("a VM's disk, seed ISO (with the user's user-data) and every other file QEMU and the tools make are 0600", async () => {
    const dir = dataDir();
    const server = await startServer({ TWARGA_DATA_DIR: dir, TWARGA_ADMIN_PASSWORD: 'modes-admin-password', TWARGA_ACCEL: 'tcg', TWARGA_SSH_PORTS: '23550-23599' });
    try {
      const anon = new ApiClient({ baseUrl: server.base });
      await anon.auth.register({ username: 'modes', email: 'modes@example.com', password: 'correct horse battery' });
      const api = new ApiClient({ baseUrl: server.base, token: (await anon.auth.login('modes', 'correct horse battery')).access_token });
      const created = await api.vms.create({ name: 'private-1', image: 'tiny', size: 's-1vcpu-256mb', user_data: '#cloud-config\nwrite_files:\n  - path: /etc/secret\n    content: s3cr3t\n' });
      const vm = await until(`VM ${created.id} running`, async () => {
        const v = await api.vms.get(created.id);
        if (v.status === 'error') throw new Error(`VM went to error: ${v.error}`);
        return v.status === 'running' && !v.locked ? v : undefined;
      });
      const vmDir = path.join(dir, 'vms', `vm-${vm.id}`);
      assert.equal(mode(vmDir), 0o700);
      for (const f of ['disk.qcow2', 'seed.iso', 'spec.json', 'qemu.pid']) assert.equal(mode(path.join(vmDir, f)), 0o600, f);
      // QEMU's -daemonize sets its own umask (027) for the sockets (QMP, guest agent, serial, syslog channel) and the
      // console log it opens after forking; they sit in the VM's 0700 directory, which no other user can enter.
      const qemuOwn = /^vms\/vm-\d+\/(qmp\.sock|qga\.sock|serial\.sock|syslog\.sock|serial\.log) /;
      assert.deepEqual(openToOthers(dir).filter((f) => !qemuOwn.test(f)), [], 'nothing else in the data dir (no directory either) is open to other users');
      await api.vms.action(vm.id, { action: 'destroy', force: true });
      await until(`VM ${vm.id} destroyed`, async () => ((await api.vms.get(vm.id).catch(() => undefined))?.status !== 'running' && !existsSync(vmDir) ? true : undefined));
    } finally {
      await server.stop();
    }
  });
});
