import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import ssh2, { Client } from 'ssh2';
import { ApiClient, type Event, type Vm } from '@twarga/contract';
import { netnsUnavailable, runInNetns } from '../support/netns.js';
import { killQemusUnder } from '../support/qemu.js';
import { root, startServer } from '../support/server.js';
import { TerminalClient } from '../support/terminal.js';
import { until } from '../support/until.js';

/**
 * The issue's end-to-end attack: a real tiny VM (QEMU, software emulation) of a normal user, six
 * failed SSH logins with ssh2 from 198.51.100.7 through the SSH gateway at 192.0.2.10, then:
 * the events carry the attacker's real address and the user names, exactly one incident opens,
 * the automatic block refuses .7's next connection while 198.51.100.8 still logs in, and lifting
 * the block lets .7 in again. The terminal's own SSH connection is labelled ours.
 *
 * All of it runs in a network namespace this test makes (those addresses exist only on its lo):
 * the outer test makes it and runs this same file inside; the inner run does the scenario.
 */
const INSIDE = 'TWARGA_SOC_ATTACK_INSIDE';
const PUBLIC = '192.0.2.10';
const ATTACKER = '198.51.100.7';
const OTHER = '198.51.100.8';
const PASSWORD = 'correct horse battery';

if (!process.env[INSIDE]) {
  const skip = netnsUnavailable();
  test('SOC attack scenario, inside its own network namespace', { skip, timeout: 15 * 60_000 }, async () => {
    const self = fileURLToPath(import.meta.url);
    const run = await runInNetns({
      addresses: [PUBLIC, ATTACKER, OTHER],
      argv: [process.execPath, '--conditions=development', '--import', 'tsx', '--test', '--test-reporter=spec', self],
      // A test file run by the runner as its own child (not a nested run(), which node:test skips).
      env: { [INSIDE]: '1', NODE_TEST_CONTEXT: undefined },
      cwd: root,
      timeoutMs: 14 * 60_000,
      onOutput: (chunk) => process.stderr.write(chunk),
    });
    assert.ok(!run.timedOut, 'the scenario finished in time');
    assert.equal(run.code, 0, `the scenario inside the namespace failed:\n${run.output.slice(-6000)}`);
    assert.match(run.output, /ℹ pass [1-9]/, 'the inner tests ran');
    assert.match(run.output, /ℹ fail 0/);
  });
} else {
  describe('SOC: a brute-force attack on a user\'s VM, seen with its real address, blocked and lifted', () => {
    let dataDir: string;
    let server: Awaited<ReturnType<typeof startServer>>;
    let admin: ApiClient;
    let owner: ApiClient;
    let ownerToken: string;
    let vm: Vm;
    let privateKey: string;

    const events = async (code: string) => (await admin.soc.events({ code, vm_id: vm.id, limit: 500 })).events;
    const total = (rows: Event[]) => rows.reduce((n, e) => n + e.count, 0);
    /** Steps that finished; fewer than all at the end: the server's output and the VM's events are printed. */
    let passed = 0;

    before(async () => {
      dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-soc-attack-'));
      server = await startServer({
        TWARGA_DATA_DIR: dataDir, TWARGA_ADMIN_PASSWORD: 'soc-attack-admin-pw', TWARGA_ACCEL: 'tcg', TWARGA_SSH_PORTS: '23950-23999',
        // Remote clients reach VMs' SSH only through the gateway on the public address; that is
        // also the address users are shown. The control plane's own connections stay on 127.0.0.1.
        TWARGA_SSH_PUBLIC_ADDRESS: PUBLIC, TWARGA_SSH_HOST: PUBLIC,
        TWARGA_HEALTH_CHECK_SECONDS: '2',
      });
      const anon = new ApiClient({ baseUrl: server.base });
      admin = new ApiClient({ baseUrl: server.base, token: (await anon.auth.login('admin', 'soc-attack-admin-pw')).access_token });
      await anon.auth.register({ username: 'victim', email: 'victim@example.com', password: PASSWORD });
      ownerToken = (await anon.auth.login('victim', PASSWORD)).access_token;
      owner = new ApiClient({ baseUrl: server.base, token: ownerToken });
      const pair = ssh2.utils.generateKeyPairSync('ed25519');
      privateKey = pair.private;
      const key = await owner.account.keys.create({ name: 'laptop', public_key: pair.public });
      const created = await owner.vms.create({ name: 'victim-vm', image: 'tiny', size: 's-1vcpu-256mb', ssh_keys: [key.id] });
      vm = await until('VM running', async () => {
        const v = await owner.vms.get(created.id);
        if (v.status === 'error') throw new Error(`VM error: ${v.error}`);
        return v.status === 'running' && !v.locked ? v : undefined;
      }, 180_000);
      assert.equal(vm.ssh_host, PUBLIC, 'users are shown the public address');
      // The health watch's banner probe (our own connection) proves the guest's SSH answers.
      await until('VM responsive', async () => ((await owner.vms.get(vm.id)).health === 'responsive' ? true : undefined), 180_000);
    });

    after(async () => {
      // What the server logged (warnings and errors) and the VM's events: where to look when a step failed.
      const dump = passed < 5 || process.env.TWARGA_SOC_ATTACK_DUMP === '1';
      if (server && dump) process.stderr.write(`--- server output ---\n${server.output().slice(-4000)}\n`);
      if (admin && vm && dump) {
        const all = (await admin.soc.events({ vm_id: vm.id, limit: 200 }).catch(() => ({ events: [] as Event[] }))).events;
        process.stderr.write(`--- the VM's events ---\n${all.map((e) => `${e.timestamp} ${e.code} ${e.source_ip} ${JSON.stringify(e.details).slice(0, 200)}`).join('\n')}\n`);
      }
      await server?.stop();
      if (dataDir) {
        killQemusUnder(dataDir);
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    test('the terminal\'s own SSH connection (and the banner probes) are labelled ours and open no incident', async () => {
      // A terminal session over SSH, opened as soon as the VM answers: its login must be recorded
      // (the guest's relay sends what was logged before it ran: an earlier version lost it).
      // "Responsive" can come from the guest agent before dropbear listens (a loaded CI machine
      // saw ECONNRESET): retry while the terminal cannot reach the SSH server yet. Each try is
      // the terminal's own connection, so it stays labelled ours.
      const t = await until('the terminal reaches the VM\'s SSH server', async () => {
        const { ticket } = await owner.terminal.start(vm.id, { kind: 'ssh' });
        const client = await TerminalClient.connect(server.base, ticket, { origin: server.base });
        try {
          await client.ready();
          return client;
        } catch (err) {
          if (!/could not reach/i.test(String(err))) throw err;
          await new Promise((r) => setTimeout(r, 2000));
          return undefined;
        }
      }, 120_000);
      t.type('echo own-$((40+2))\r');
      await t.until('the shell answers', () => t.output.includes('own-42'));
      t.type('exit\r');
      await t.closed();
      const login = await until('the terminal login recorded', async () => (await events('ssh.login_succeeded')).find((e) => e.details.ours === true), 15_000);
      assert.ok(login, 'the terminal\'s login is recorded');
      assert.equal(login.source_ip, '127.0.0.1');
      assert.equal(login.details.via, 'control-plane');
      assert.equal(login.details.user, 'root');
      // Every SSH connection so far (the terminal's, the health watch's banner probes) was ours,
      // each recognised by its port although the guest saw them all from 10.0.2.2.
      const all = (await admin.soc.events({ vm_id: vm.id, type: 'security', limit: 500 })).events.filter((e) => e.code.startsWith('ssh.'));
      assert.ok(all.length >= 1);
      for (const e of all) assert.ok(e.details.ours === true && e.details.via === 'control-plane', JSON.stringify(e));
      // …and nothing opened an incident.
      assert.deepEqual(await admin.soc.incidents.list(), []);
      passed++;
    });

    test('six failed logins from 198.51.100.7 through the gateway: events with the real address and user names, exactly one incident', async () => {
      // Four connections (dropbear lets one address, and every forwarded client is 10.0.2.2 to it,
      // hold at most 5 unauthenticated), two rounds of simultaneous attempts: all six are in the
      // guest before the block that the fifth causes can cut anything.
      const results = await bruteForce(vm.ssh_port!, [
        ['root', 'root'],
        ['root', 'root'],
        ['admin', null],
        [null, 'oracle'],
      ]);
      assert.ok(results.every((r) => r.error !== 'logged in?!'), 'no wrong password got in');

      const failed = await until('four wrong passwords for root', async () => {
        const rows = (await events('ssh.login_failed')).filter((e) => e.source_ip === ATTACKER);
        return total(rows) >= 4 ? rows : undefined;
      }, 60_000);
      for (const e of failed) {
        assert.equal(e.details.user, 'root');
        assert.equal(e.details.via, 'gateway');
        assert.equal(e.details.ours, false);
        assert.equal(e.vm_id, vm.id);
        assert.equal(e.user_id, vm.user_id, 'the event belongs to the VM\'s owner');
      }
      const invalid = await until('two unknown users', async () => {
        const rows = (await events('ssh.invalid_user')).filter((e) => e.source_ip === ATTACKER);
        return total(rows) >= 2 ? rows : undefined;
      }, 60_000);
      // dropbear does not log the name of a user it does not have: the ingest says so (null).
      for (const e of invalid) assert.ok(e.details.user === null || ['admin', 'oracle'].includes(String(e.details.user)), JSON.stringify(e.details));
      // The guest saw every one of them from 10.0.2.2: no event names that address.
      assert.ok(![...failed, ...invalid].some((e) => e.source_ip === '10.0.2.2'));

      const incident = await until('an incident', async () => (await admin.soc.incidents.list()).find((i) => i.rule_id === 'ssh_brute_force'), 30_000);
      await new Promise((r) => setTimeout(r, 2000)); // late events must join it, not open another
      const incidents = await admin.soc.incidents.list();
      assert.equal(incidents.length, 1, JSON.stringify(incidents));
      assert.equal(incident.source_ip, ATTACKER);
      assert.equal(incident.vm_id, vm.id);
      assert.ok(incidents[0]!.event_count >= 5);
      // Exactly the six failures happened, each recorded once, all with the attacker's address.
      assert.equal(total((await events('ssh.login_failed')).filter((e) => e.source_ip === ATTACKER)), 4);
      assert.equal(total((await events('ssh.invalid_user')).filter((e) => e.source_ip === ATTACKER)), 2);
      assert.equal(total([...(await events('ssh.login_failed')), ...(await events('ssh.invalid_user'))]), 6, 'no failure from anyone else');
      // The owner sees the incident on their VM.
      assert.equal((await owner.soc.incidents.list()).length, 1);
      passed++;
    });

    test('the automatic block refuses .7\'s next connection before the banner; .8 still logs in', async () => {
      const block = await until('the automatic block', async () => (await admin.soc.blocks.list({ active: true })).find((b) => b.address === ATTACKER), 30_000);
      assert.equal(block.scope, 'vm');
      assert.equal(block.vm_id, vm.id);
      assert.equal(block.created_by, null, 'blocked by the rule');

      const refused = await rawConnect(vm.ssh_port!, ATTACKER);
      assert.equal(refused.received, '', 'closed before a single byte: no SSH banner');
      const e = await until('the refusal recorded', async () => (await events('ssh.connection_refused')).find((r) => r.source_ip === ATTACKER && r.details.client_port === refused.localPort), 10_000);
      assert.equal(e.type, 'security');
      assert.equal(e.user_id, vm.user_id);

      const other = await rawConnect(vm.ssh_port!, OTHER);
      assert.match(other.received, /^SSH-2\.0-/);
      assert.equal(await sshExec(vm.ssh_port!, OTHER, privateKey, 'echo in-$((6*7))'), 'in-42\n');
      const login = await until('.8\'s login recorded', async () => (await events('ssh.login_succeeded')).find((r) => r.source_ip === OTHER), 30_000);
      assert.equal(login.details.via, 'gateway');
      assert.equal(login.details.ours, false);
      passed++;
    });

    test('lifting the block (DELETE /api/soc/blocks/:id) lets .7 in again', async () => {
      const block = (await admin.soc.blocks.list({ active: true })).find((b) => b.address === ATTACKER)!;
      await admin.soc.blocks.lift(block.id);
      assert.ok(!(await admin.soc.blocks.list({ active: true })).some((b) => b.address === ATTACKER));
      const again = await rawConnect(vm.ssh_port!, ATTACKER);
      assert.match(again.received, /^SSH-2\.0-/);
      assert.equal(await sshExec(vm.ssh_port!, ATTACKER, privateKey, 'echo back'), 'back\n');
      await until('.7\'s login recorded', async () => (await events('ssh.login_succeeded')).find((r) => r.source_ip === ATTACKER), 30_000);
      // Still one brute-force incident (a success after those failures is another rule's business).
      assert.equal((await admin.soc.incidents.list()).filter((i) => i.rule_id === 'ssh_brute_force').length, 1);
      passed++;
    });

    test('a block on the control plane: the real server answers .8 with 403 address_blocked (even /health), others as usual', async () => {
      const block = await admin.soc.blocks.create({ address: OTHER, scope: 'control_plane', duration_seconds: 600, reason: 'test' });
      for (const url of ['/api/auth/me', '/health']) {
        const res = await httpGet(server.base + url, OTHER, ownerToken);
        assert.equal(res.status, 403, `${url}: ${res.body}`);
        assert.equal(JSON.parse(res.body).code, 'address_blocked');
      }
      assert.equal((await httpGet(`${server.base}/api/auth/me`, ATTACKER, ownerToken)).status, 200, 'another address is not blocked there');
      const refused = await until('the refusal recorded', async () => (await admin.soc.events({ code: 'soc.request_refused' })).events.find((e) => e.source_ip === OTHER), 10_000);
      assert.equal(refused.count, 2, 'repeats fold into one row');
      // The VMs' SSH is another place: the control-plane block does not touch it.
      assert.match((await rawConnect(vm.ssh_port!, OTHER)).received, /^SSH-2\.0-/);
      await admin.soc.blocks.lift(block.id);
      assert.equal((await httpGet(`${server.base}/api/auth/me`, OTHER, ownerToken)).status, 200);
      passed++;
    });
  });
}

/** A TCP connection from `from` to the gateway: what arrived before the server closed it or 3 s passed. */
function rawConnect(port: number, from: string): Promise<{ received: string; localPort: number | undefined }> {
  return new Promise((resolve) => {
    const s = connect({ host: PUBLIC, port, localAddress: from });
    let received = '';
    let localPort: number | undefined;
    s.setEncoding('latin1');
    s.on('connect', () => (localPort = s.localPort));
    s.on('data', (d: string) => {
      received += d;
      if (received.includes('\n')) s.destroy();
    });
    const timer = setTimeout(() => s.destroy(), 20_000);
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ received, localPort });
    });
  });
}

/** GET from a chosen source address (an address on the namespace's lo) with the client's token. */
function httpGet(url: string, from: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { localAddress: from, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
  });
}

/** One command over SSH with a key, from `from` through the gateway. */
function sshExec(port: number, from: string, privateKey: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.on('ready', () => {
      c.exec(command, (err, stream) => {
        if (err) return reject(err);
        let out = '';
        stream.on('data', (d: Buffer) => (out += d));
        stream.on('close', () => {
          c.end();
          resolve(out);
        });
      });
    });
    c.on('error', reject);
    c.connect({ host: PUBLIC, port, localAddress: from, username: 'root', privateKey, readyTimeout: 60_000 });
  });
}

/**
 * Password attempts from the attacker, by connection and round: `plan[i][r]` is the user name
 * connection i tries in round r (null: it waits that round). Every connection reaches the
 * authentication stage first; then each round's attempts go out together.
 */
async function bruteForce(port: number, plan: (string | null)[][]): Promise<{ authFailed: boolean; error: string }[]> {
  const rounds = Math.max(...plan.map((p) => p.length));
  const waiting: Array<Array<() => void>> = Array.from({ length: rounds }, () => []);
  // A connection arrives at every round up to its last attempt (it waits through the ones it sits out).
  const last = (users: (string | null)[]) => users.reduce((m, u, i) => (u === null ? m : i), -1);
  const expected = Array.from({ length: rounds }, (_, r) => plan.filter((p) => last(p) >= r).length);
  const arrive = (round: number) =>
    new Promise<void>((release) => {
      waiting[round]!.push(release);
      if (waiting[round]!.length === expected[round]) for (const go of waiting[round]!) go();
    });
  return Promise.all(
    plan.map(
      (users) =>
        new Promise<{ authFailed: boolean; error: string }>((resolve) => {
          const c = new Client();
          let round = 0;
          c.on('error', (err) => resolve({ authFailed: /authentication methods failed/.test(err.message), error: err.message }));
          c.on('ready', () => {
            c.end();
            resolve({ authFailed: false, error: 'logged in?!' });
          });
          // The block the fifth failure causes may cut a connection before its last answer: no error then.
          c.on('close', () => resolve({ authFailed: false, error: 'closed' }));
          c.connect({
            host: PUBLIC, port, localAddress: ATTACKER, readyTimeout: 120_000,
            username: users.find((u) => u !== null)!,
            authHandler: (_methodsLeft, _partial, next) => {
              // Skip the rounds this connection sits out (it stays connected, unauthenticated).
              const start = round;
              while (round < users.length && users[round] === null) round++;
              if (round >= users.length) return next(false as unknown as Parameters<typeof next>[0]);
              const mine = round++;
              const waits: Promise<void>[] = [];
              for (let r = start; r <= mine; r++) waits.push(arrive(r));
              void Promise.all(waits).then(() => next({ type: 'password', username: users[mine]!, password: 'wrong-password-123' }));
            },
          });
        }),
    ),
  );
}
