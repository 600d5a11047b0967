import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiClient, ApiError, type Action, type HostMetrics, type MetricsHistory, type SshKey, type User, type Vm, type VmMetrics } from '@twarga/contract';
import { killQemusUnder } from '../support/qemu.js';
import { freePort, root, startServer } from '../support/server.js';
import { until } from '../support/until.js';
import pty from '@lydell/node-pty';
import { PassThrough } from 'node:stream';
import { waitForAction } from '../../apps/cli/src/wait.js';

// The installed command (`npx twarga` runs this file): the built CLI, as a user runs it.
const twargaBin = path.join(root, 'apps/cli/bin/twarga.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `twarga` end to end: a real server process, a real tiny VM under QEMU, the built CLI as a
 * child process with its own HOME and XDG_CONFIG_HOME (its config file lands in a temp dir), and
 * the system ssh with a key pair made for the test.
 */
describe('the twarga CLI against a real server', () => {
  let dataDir: string;
  let home: string;
  let server: Awaited<ReturnType<typeof startServer>>;
  let admin: ApiClient;
  let adminToken: string;
  const password = 'cli user password 42';

  const twarga = (args: string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Run> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [twargaBin, ...args], {
        env: { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), ...opts.env },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`twarga ${args.join(' ')} timed out; stderr: ${stderr}`));
      }, opts.timeoutMs ?? 60_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout, stderr });
      });
      child.stdin.end(opts.input ?? '');
    });
  const ok = async (args: string[], opts?: Parameters<typeof twarga>[1]) => {
    const r = await twarga(args, opts);
    assert.equal(r.code, 0, `twarga ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r;
  };
  const json = async <T>(args: string[], opts?: Parameters<typeof twarga>[1]) => JSON.parse((await ok(['--json', ...args], opts)).stdout) as T;
  /** The CLI in a real pseudo-terminal (a person at a terminal): all it printed, and its exit code. */
  const inTerminal = (args: string[], steps: { when: RegExp; type: string }[] = [], env: Record<string, string> = {}) =>
    new Promise<{ code: number; output: string }>((resolve, reject) => {
      const term = pty.spawn(process.execPath, [twargaBin, ...args], {
        name: 'xterm', cols: 120, rows: 30, cwd: root,
        env: { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), TERM: 'xterm', ...env },
      });
      let output = '';
      const pending = [...steps];
      const timer = setTimeout(() => (term.kill(), reject(new Error(`twarga ${args.join(' ')} in a terminal timed out: ${JSON.stringify(output)}`))), 180_000);
      term.onData((d) => {
        output += d;
        while (pending[0] && pending[0].when.test(output)) term.write(pending.shift()!.type);
      });
      term.onExit(({ exitCode }) => (clearTimeout(timer), resolve({ code: exitCode, output })));
    });
  const configFile = () => path.join(home, '.config', 'twarga', 'config.json');
  const storedToken = () => (JSON.parse(readFileSync(configFile(), 'utf8')) as { contexts: Record<string, { token: string }> }).contexts;

  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-cli-data-'));
    home = mkdtempSync(path.join(os.tmpdir(), 'twarga-cli-home-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'cli-test', '-f', path.join(home, 'id_ed25519')]);
    server = await startServer({
      TWARGA_DATA_DIR: dataDir, TWARGA_ADMIN_PASSWORD: 'cli-admin-password', TWARGA_ACCEL: 'tcg', TWARGA_SSH_PORTS: '27700-27749',
      ...(process.env.TWARGA_TINY_IMAGE_DIR ? { TWARGA_TINY_IMAGE_DIR: process.env.TWARGA_TINY_IMAGE_DIR } : {}),
    });
    const anon = new ApiClient({ baseUrl: server.base });
    adminToken = (await anon.auth.login('admin', 'cli-admin-password')).access_token;
    admin = new ApiClient({ baseUrl: server.base, token: adminToken });
    await anon.auth.register({ username: 'cliuser', email: 'cliuser@example.com', password });
  });
  after(async () => {
    await server?.stop();
    if (dataDir) killQemusUnder(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  test('usage errors exit 2 and say what is wrong', async () => {
    const missing = await twarga(['vm', 'create']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing required argument 'name'/);
    const unknown = await twarga(['vm', 'frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);
    const help = await twarga(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Exit codes:[\s\S]*7 +server unreachable/);
  });

  test('a server that does not answer exits 7', async () => {
    const port = await freePort();
    const r = await twarga(['whoami', '--url', `http://127.0.0.1:${port}`, '--token', 'x']);
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stderr, /^error: server unreachable: .*ECONNREFUSED/);
  });

  test('a bad token exits 4 with the server\'s error code and request id', async () => {
    const r = await twarga(['whoami'], { env: { TWARGA_URL: server.base, TWARGA_TOKEN: 'not-a-real-token' } });
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /^error: .+ \(unauthorized, request \S+\)\n$/);
  });

  test('login with a password stores a personal API token (0600), not the session; whoami uses it', async () => {
    const r = await ok(['login', '--url', server.base, '--username', 'cliuser', '--password-stdin'], { input: `${password}\n` });
    assert.match(r.stdout, /Logged in to http:\/\/127\.0\.0\.1:\d+ as cliuser/);
    assert.equal(statSync(configFile()).mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(configFile())).mode & 0o777, 0o700);
    const contexts = storedToken();
    const name = new URL(server.base).host;
    assert.deepEqual(Object.keys(contexts), [name]);

    // The stored credential is an API token named for this machine, and it works on its own.
    const user = new ApiClient({ baseUrl: server.base, token: contexts[name]!.token });
    const tokens = await user.account.tokens.list();
    assert.deepEqual(tokens.map((t) => [t.name, t.scope]), [[`twarga-cli@${hostname()}`.slice(0, 64), 'read-write']]);
    assert.ok(contexts[name]!.token.startsWith(tokens[0]!.prefix));

    const who = await ok(['whoami']);
    assert.match(who.stdout, /^username: +cliuser$/m);
    const me = await json<User>(['whoami']);
    assert.equal(me.username, 'cliuser');

    const list = await ok(['context', 'list']);
    assert.match(list.stdout, new RegExp(`^\\*\\s+${name.replace(/[.]/g, '\\.')}\\s+http`, 'm'));
    assert.doesNotMatch(list.stdout + JSON.stringify(await json(['context', 'list'])), new RegExp(contexts[name]!.token));
  });

  test('on a terminal, login asks for the password without echoing it', async () => {
    const otherConfig = mkdtempSync(path.join(os.tmpdir(), 'twarga-cli-tty-'));
    try {
      const r = await inTerminal(['login', '--url', server.base, '--username', 'cliuser'], [{ when: /Password: /, type: `${password}\r` }], { XDG_CONFIG_HOME: otherConfig });
      assert.equal(r.code, 0, r.output);
      assert.match(r.output, /Logged in to .* as cliuser/);
      assert.doesNotMatch(r.output, new RegExp(password));
      assert.equal(statSync(path.join(otherConfig, 'twarga', 'config.json')).mode & 0o777, 0o600);
    } finally {
      rmSync(otherConfig, { recursive: true, force: true });
    }
  });

  test('login --token saves an existing token; contexts switch; logout only forgets a token it did not create', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-cli-ctx-'));
    const env = { XDG_CONFIG_HOME: dir };
    try {
      const bad = await twarga(['login', '--url', server.base, '--token', 'nope'], { env });
      assert.equal(bad.code, 4);
      await ok(['login', '--url', server.base, '--token', adminToken, '--name', 'as-admin'], { env });
      await ok(['login', '--url', server.base, '--username', 'cliuser', '--password-stdin', '--name', 'as-user'], { env, input: password });
      assert.equal((await json<User>(['whoami'], { env })).username, 'cliuser');
      assert.equal((await json<User>(['whoami', '--context', 'as-admin'], { env })).username, 'admin');
      assert.equal((await json<User>(['whoami'], { env: { ...env, TWARGA_CONTEXT: 'as-admin' } })).username, 'admin');
      await ok(['context', 'use', 'as-admin'], { env });
      assert.equal((await json<User>(['whoami'], { env })).username, 'admin');
      assert.equal((await twarga(['context', 'use', 'nope'], { env })).code, 3);
      // context remove only forgets the context (logout is what revokes).
      await ok(['context', 'remove', 'as-user'], { env });
      assert.deepEqual((await json<{ name: string; current: boolean }[]>(['context', 'list'], { env })).map((c) => [c.name, c.current]), [['as-admin', true]]);
      await ok(['logout'], { env });
      // The admin's session token was pasted, not created by login: still valid.
      assert.equal((await admin.auth.me()).username, 'admin');
      assert.deepEqual(await json(['context', 'list'], { env }), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a wrong password exits 4 and saves nothing new', async () => {
    const before = readFileSync(configFile(), 'utf8');
    const r = await twarga(['login', '--url', server.base, '--username', 'cliuser', '--password-stdin', '--name', 'other'], { input: 'wrong password\n' });
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /\(invalid_credentials, request \S+\)/);
    assert.equal(readFileSync(configFile(), 'utf8'), before);
  });

  test('an unknown VM exits 3', async () => {
    const r = await twarga(['vm', 'show', 'no-such-vm']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /^error: no VM named "no-such-vm" \(not_found\)/);
    const byId = await twarga(['vm', 'show', '999999']);
    assert.equal(byId.code, 3, byId.stderr);
    assert.match(byId.stderr, /\(not_found, request \S+\)/);
  });

  test('images and sizes list as tables and as JSON', async () => {
    assert.match((await ok(['images', 'list'])).stdout, /^SLUG\s+NAME\s+STATUS[\s\S]*^tiny\s/m);
    const sizes = await json<{ slug: string }[]>(['sizes', 'list']);
    assert.ok(sizes.some((s) => s.slug === 's-1vcpu-256mb'));
  });

  describe('a VM from create to destroy', () => {
    let key: SshKey;
    let vm: Vm;
    const sshArgs = () => ['--identity', path.join(home, 'id_ed25519'), '-o', `UserKnownHostsFile=${path.join(home, 'known_hosts')}`, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=30'];

    test('keys add registers the public key; the live event stream reports it', async () => {
      // events tail runs first and stops after the first event: the key's creation.
      const tail = twarga(['--json', 'events', 'tail', '--count', '1']);
      await new Promise((r) => setTimeout(r, 1500));
      const added = await json<SshKey>(['keys', 'add', 'laptop', path.join(home, 'id_ed25519.pub')]);
      assert.equal(added.name, 'laptop');
      const fingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', path.join(home, 'id_ed25519.pub')], { encoding: 'utf8' }).split(' ')[1];
      assert.equal(added.fingerprint, fingerprint);
      const keys = await json<SshKey[]>(['keys', 'list']);
      assert.deepEqual(keys.map((k) => k.id), [added.id]);
      key = added;
      const tailed = await tail;
      assert.equal(tailed.code, 0, tailed.stderr);
      const event = JSON.parse(tailed.stdout.trim()) as { kind: string; event: { action: string } };
      assert.deepEqual([event.kind, event.event.action], ['event', 'ssh_key.added']);
    });

    test('vm create --wait follows the action log live and prints the running VM as JSON', async () => {
      const r = await ok(['--json', 'vm', 'create', 'cli-vm-1', '--image', 'tiny', '--size', 's-1vcpu-256mb', '--ssh-key', key.name, '--wait', '--timeout', '10m'], { timeoutMs: 660_000 });
      vm = JSON.parse(r.stdout) as Vm;
      assert.equal(vm.name, 'cli-vm-1');
      assert.equal(vm.status, 'running');
      assert.ok(vm.ssh_port && vm.ssh_port >= 27700 && vm.ssh_port <= 27749, `ssh port ${vm.ssh_port}`);
      // Every line of the stored create log was printed (on stderr: stdout is the one JSON document).
      const create = (await admin.vms.actions(vm.id)).find((a) => a.type === 'create')!;
      const log = (await admin.actions.log(create.id)).lines.map((l) => l.line);
      assert.ok(log.length > 0);
      for (const line of log) assert.ok(r.stderr.includes(`  ${line}\n`), `missing log line "${line}" in: ${r.stderr}`);
      assert.equal(create.status, 'completed');
    });

    test('vm list and vm show find it by name and by id', async () => {
      assert.match((await ok(['vm', 'list'])).stdout, new RegExp(`^${vm.id}\\s+cli-vm-1\\s+running\\s`, 'm'));
      const shown = await json<Vm>(['vm', 'show', String(vm.id)]);
      assert.equal(shown.name, 'cli-vm-1');
      assert.match((await ok(['vm', 'show', 'cli-vm-1'])).stdout, /^status: +running$/m);
      // What shell completion lists for a VM argument.
      assert.equal((await ok(['__complete', 'vms'])).stdout, 'cli-vm-1\n');
    });

    test('vm ssh NAME -- uname -a runs the command in the VM with the system ssh and the given key', async () => {
      // Right after create --wait the guest may still be booting: vm ssh waits for its SSH server itself.
      const r = await twarga(['vm', 'ssh', 'cli-vm-1', ...sshArgs(), '--', 'uname', '-a'], { timeoutMs: 330_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Linux cli-vm-1 /);
      // ssh's exit code is the command's: passed through. (Like ssh, the words are joined for the remote shell.)
      const failing = await twarga(['vm', 'ssh', 'cli-vm-1', ...sshArgs(), '--', 'exit', '3'], { timeoutMs: 90_000 });
      assert.equal(failing.code, 3, failing.stderr);
    });

    test('metrics NAME shows the current values and a --history summary; metrics host needs an admin', async () => {
      const current = await json<VmMetrics>(['metrics', 'cli-vm-1']);
      assert.equal(current.vm_id, vm.id);
      assert.match((await ok(['metrics', 'cli-vm-1'])).stdout, /^cpu: /m);
      const history = await json<MetricsHistory>(['metrics', 'cli-vm-1', '--history', '1h']);
      assert.deepEqual([history.entity, history.vm_id], ['vm', vm.id]);
      assert.match((await ok(['metrics', 'cli-vm-1', '--history', '1h'])).stdout, /^METRIC\s+POINTS\s+LAST\s+MIN\s+AVG\s+MAX$/m);
      const badRange = await twarga(['metrics', 'cli-vm-1', '--history', '2y']);
      assert.equal(badRange.code, 2);
      const denied = await twarga(['metrics', 'host']);
      assert.equal(denied.code, 4, denied.stderr);
      // --token beats the saved context: the admin's token reads the host.
      const host = await json<HostMetrics>(['metrics', 'host', '--token', adminToken]);
      assert.ok(host.cpu.count >= 1);
      assert.match((await ok(['metrics', 'host', '--token', adminToken])).stdout, /^load: /m);
    });

    test('vm stop --force --wait and vm start --wait report in human words', async () => {
      const stopped = await ok(['vm', 'stop', 'cli-vm-1', '--force', '--wait'], { timeoutMs: 180_000 });
      assert.match(stopped.stdout, /^VM cli-vm-1 stopped\.$/m);
      assert.equal((await admin.vms.get(vm.id)).status, 'stopped');
      const started = await ok(['vm', 'start', 'cli-vm-1', '--wait'], { timeoutMs: 300_000 });
      assert.match(started.stdout, /^VM cli-vm-1 started\.$/m);
      assert.equal((await admin.vms.get(vm.id)).status, 'running');
    });

    test('--wait is driven by the live stream: with polling (nearly) off it still ends, with every log line', async () => {
      const token = Object.values(storedToken())[0]!.token;
      const user = new ApiClient({ baseUrl: server.base, token });
      const stderr = new PassThrough();
      let printed = '';
      stderr.on('data', (d) => (printed += d));
      const action = await user.vms.action(vm.id, { action: 'reboot', force: true });
      // One poll at the start and one when the stream opens; after that only the stream can end it.
      const done = await waitForAction(action, {
        client: user, baseUrl: server.base, token, stderr: stderr as unknown as NodeJS.WriteStream, spinner: false, label: 'reboot',
        pollMs: { streaming: 600_000, fallback: 600_000 }, timeoutMs: 120_000,
      });
      assert.deepEqual([done.id, done.status], [action.id, 'completed']);
      const log = (await user.actions.log(action.id)).lines.map((l) => `  ${l.line}\n`).join('');
      assert.equal(printed, log);
      await until('running again', async () => ((await admin.vms.get(vm.id)).status === 'running' ? true : undefined), 120_000);
    });

    test('on a terminal --wait shows a spinner; off a terminal it never does', async () => {
      const r = await inTerminal(['vm', 'reboot', 'cli-vm-1', '--force', '--wait']);
      assert.equal(r.code, 0, r.output);
      assert.match(r.output, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏](\x1b\[\d+m)? reboot cli-vm-1/);
      // The log lines still come through, each on a line of its own (the spinner clears its line first).
      assert.match(r.output, /\x1b\[0K {2}Resetting \(forced\)\r\n/);
      assert.match(r.output, /VM cli-vm-1 rebooted\./);
      const piped = await ok(['vm', 'reboot', 'cli-vm-1', '--force', '--wait'], { timeoutMs: 180_000 });
      assert.doesNotMatch(piped.stdout + piped.stderr, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]|\x1b\[/);
      await until('running again', async () => ((await admin.vms.get(vm.id)).status === 'running' ? true : undefined), 120_000);
    });

    test('a conflicting action exits 5 (one action at a time / already running)', async () => {
      const r = await twarga(['vm', 'start', 'cli-vm-1']);
      assert.equal(r.code, 5, `${r.code}: ${r.stderr}`);
      assert.match(r.stderr, /^error: .+ \(conflict, request \S+\)/);
    });

    test('vm destroy needs --yes off a terminal, then --wait ends with the completed action', async () => {
      const refused = await twarga(['vm', 'destroy', 'cli-vm-1']);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /--yes/);
      const action = await json<Action>(['vm', 'destroy', 'cli-vm-1', '--yes', '--wait'], { timeoutMs: 240_000 });
      assert.deepEqual([action.type, action.status, action.vm_id], ['destroy', 'completed', vm.id]);
      const gone = await twarga(['vm', 'show', 'cli-vm-1']);
      assert.equal(gone.code, 3);
      assert.deepEqual(await json<Vm[]>(['vm', 'list']), []);
    });
  });

  test('tokens create and revoke', async () => {
    const created = await json<{ id: number; token: string; scope: string }>(['tokens', 'create', 'ci-read', '--scope', 'read']);
    assert.equal(created.scope, 'read');
    const ci = new ApiClient({ baseUrl: server.base, token: created.token });
    assert.equal((await ci.auth.me()).username, 'cliuser');
    await ok(['tokens', 'revoke', 'ci-read']);
    await assert.rejects(ci.auth.me(), (err) => err instanceof ApiError && err.status === 401);
  });

  test('Ctrl-C ends events tail with exit 130', async () => {
    const r = await inTerminal(['events', 'tail'], [{ when: /Following events on /, type: '\x03' }]);
    assert.equal(r.code, 130, r.output);
    assert.match(r.output, /interrupted/);
  });

  test('logout revokes the stored token and forgets the context', async () => {
    const token = Object.values(storedToken())[0]!.token;
    await ok(['logout']);
    await assert.rejects(new ApiClient({ baseUrl: server.base, token }).auth.me(), (err) => err instanceof ApiError && err.status === 401);
    assert.deepEqual(storedToken(), {});
    const r = await twarga(['whoami']);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /not logged in/);
  });
});
