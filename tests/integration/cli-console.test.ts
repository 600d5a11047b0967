import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import pty from '@lydell/node-pty';
import { ApiClient, type TerminalSession, type Vm } from '@twarga/contract';
import { waitForSshBanner } from '../../apps/server/src/test-support/ssh.js';
import { killQemusUnder } from '../support/qemu.js';
import { root, startServer } from '../support/server.js';
import { until } from '../support/until.js';

const cliJs = path.join(root, 'apps/cli/dist/main.js');

/**
 * A shell in a real pseudo-terminal that runs the CLI, then prints its exit code and the
 * terminal's modes (`stty -a`), so a test sees what a user's terminal is left in.
 */
class PtyRun {
  output = '';
  private readonly proc: pty.IPty;
  readonly exited: Promise<number>;
  private waiters: (() => void)[] = [];

  constructor(args: string[], env: Record<string, string>, size = { cols: 100, rows: 30 }) {
    const script = '"$@"; echo "[rc=$?]"; stty -a';
    this.proc = pty.spawn('/bin/sh', ['-c', script, 'sh', process.execPath, cliJs, ...args], {
      name: 'xterm', cols: size.cols, rows: size.rows, cwd: root, env,
    });
    this.proc.onData((d) => {
      this.output += d;
      for (const w of this.waiters.splice(0)) w();
    });
    this.exited = new Promise((resolve) => this.proc.onExit(({ exitCode }) => resolve(exitCode)));
  }

  /** The CLI's process (the shell's child), for signals. */
  get cliPid(): number {
    const children = readFileSync(`/proc/${this.proc.pid}/task/${this.proc.pid}/children`, 'utf8').trim().split(/\s+/);
    assert.equal(children.length, 1, `one child of the shell: ${children.join(' ')}`);
    return Number(children[0]);
  }

  type(keys: string): void {
    this.proc.write(keys);
  }

  resize(cols: number, rows: number): void {
    this.proc.resize(cols, rows);
  }

  /** Output after `from` (an index into output). */
  since(from: number): string {
    return this.output.slice(from);
  }

  until<T>(what: string, pred: () => T | undefined | false | null, timeoutMs = 30_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; output tail: ${JSON.stringify(this.output.slice(-600))}`)), timeoutMs);
      const check = () => {
        const v = pred();
        if (v) {
          clearTimeout(timer);
          resolve(v);
        } else this.waiters.push(check);
      };
      check();
    });
  }

  /** Waits for the CLI to exit; its exit code, how long that took, and the terminal modes after it. */
  async cliExit(timeoutMs: number): Promise<{ rc: number; ms: number; stty: string }> {
    const start = Date.now();
    const m = await this.until('the CLI to exit', () => /\[rc=(\d+)\]/.exec(this.output), timeoutMs);
    const ms = Date.now() - start;
    await this.exited;
    return { rc: Number(m[1]), ms, stty: this.output.slice(m.index) };
  }

  kill(): void {
    try {
      this.proc.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** Canonical mode and echo are back on: the terminal was put back after raw mode. */
function assertCooked(stty: string) {
  assert.match(stty, /(^|\s)icanon(\s|$)/m, `icanon in: ${stty}`);
  assert.match(stty, /(^|\s)echo(\s|$)/m, `echo in: ${stty}`);
  assert.doesNotMatch(stty, /-icanon|(^|\s)-echo(\s|$)/m);
}

/** Parses an asciicast v2 recording: header, events, and the output text. */
function parseCast(text: string) {
  const [head, ...lines] = text.trimEnd().split('\n');
  const events = lines.map((l) => JSON.parse(l) as [number, string, string]);
  return { header: JSON.parse(head!) as { width: number; height: number }, events, output: events.filter((e) => e[1] === 'o').map((e) => e[2]).join('') };
}

/**
 * `twarga vm console` as a user runs it: the built CLI in a pseudo-terminal, the built server,
 * a real tiny VM (QEMU, software emulation). No Origin header from the CLI, like any non-browser client.
 */
describe('twarga vm console in a pseudo-terminal against a real VM', () => {
  let dataDir: string;
  let configDir: string;
  let server: Awaited<ReturnType<typeof startServer>>;
  let api: ApiClient;
  let token: string;
  let vm: Vm;
  const runs: PtyRun[] = [];

  const cli = (...args: string[]) => cliWith({}, ...args);
  const cliWith = (env: Record<string, string>, ...args: string[]) => {
    const r = new PtyRun(args, {
      PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: configDir, XDG_CONFIG_HOME: configDir, TERM: 'xterm',
      TWARGA_URL: server.base, TWARGA_TOKEN: token, ...env,
    });
    runs.push(r);
    return r;
  };
  /** Types a command and waits for what it prints (after the echo of the command itself). */
  const run = (t: PtyRun, command: string, expect: RegExp) => {
    const from = t.output.length;
    t.type(command + '\r');
    return t.until(`${command} → ${expect}`, () => expect.exec(t.since(from))?.[0]);
  };
  const attached = (t: PtyRun, what: string) => t.until('the console to attach', () => t.output.includes(`Connected to the ${what} of VM ${vm.id}`));
  const lastSession = async (kind: 'serial' | 'ssh'): Promise<TerminalSession> => {
    const { recent } = await api.terminal.forVm(vm.id);
    const s = recent.find((x) => x.kind === kind);
    assert.ok(s, JSON.stringify(recent));
    return s;
  };

  before(async () => {
    assert.ok(existsSync(cliJs), `${cliJs} is missing: run npm run build`);
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-cli-console-'));
    configDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-cli-console-home-'));
    server = await startServer({ TWARGA_DATA_DIR: dataDir, TWARGA_ADMIN_PASSWORD: 'console-admin-pw', TWARGA_ACCEL: 'tcg', TWARGA_SSH_PORTS: '27750-27799' });
    const anon = new ApiClient({ baseUrl: server.base });
    await anon.auth.register({ username: 'conuser', email: 'conuser@example.com', password: 'correct horse battery' });
    const session = new ApiClient({ baseUrl: server.base, token: (await anon.auth.login('conuser', 'correct horse battery')).access_token });
    // A personal API token, as `twarga login` stores.
    token = (await session.account.tokens.create({ name: 'cli-console-test', scope: 'read-write' })).token;
    api = new ApiClient({ baseUrl: server.base, token });
    const created = await api.vms.create({ name: 'con-vm', image: 'tiny', size: 's-1vcpu-256mb' });
    vm = await until('VM running', async () => {
      const v = await api.vms.get(created.id);
      if (v.status === 'error') throw new Error(`VM error: ${v.error}`);
      return v.status === 'running' && !v.locked ? v : undefined;
    }, 180_000);
    await waitForSshBanner(vm.ssh_port!, 120_000);
  });

  // A test that failed half-way leaves no session behind for the next one.
  afterEach(async () => {
    for (const r of runs.splice(0)) r.kill();
    await until('no live session left', async () => ((await api.terminal.live()).length === 0 ? true : undefined), 10_000);
  });

  after(async () => {
    for (const r of runs) r.kill();
    await server?.stop();
    killQemusUnder(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(configDir, { recursive: true, force: true });
  });

  test('serial console: a typed command runs in the guest, resize reaches the server, Enter ~ . detaches with exit 0', async () => {
    const t = cli('vm', 'console', 'con-vm');
    await attached(t, 'serial console');
    await run(t, '', /# /);
    assert.ok(await run(t, 'echo con$((1+1))sole', /\r\ncon2sole\r\n/));
    // While attached, the session is live and the terminal is in raw mode (no local echo of typed keys).
    const live = await api.terminal.live();
    assert.deepEqual(live.map((s) => [s.vm_id, s.kind]), [[vm.id, 'serial']]);

    t.resize(120, 40);
    // The resize is a control message; a command after it shows the order is kept.
    await run(t, 'echo after-resize', /\r\nafter-resize\r\n/);
    t.type('\r~.');
    const { rc, ms, stty } = await t.cliExit(5_000);
    assert.equal(rc, 0, t.output.slice(-400));
    assert.ok(ms < 3_000, `the CLI exited ${ms} ms after ~.`);
    assert.match(t.output, /Detached\./);
    assertCooked(stty);

    // The server ended the session when the CLI closed it, and recorded it.
    assert.deepEqual(await until('no live session', async () => ((await api.terminal.live()).length === 0 ? [] : undefined), 5_000), []);
    const s = await lastSession('serial');
    assert.equal(s.end_reason, 'closed');
    assert.ok(s.recording.available);
    assert.deepEqual([s.cols, s.rows], [120, 40], 'the last size the CLI sent');
    const cast = parseCast(await api.terminal.recording(s.id));
    assert.deepEqual([cast.header.width, cast.header.height], [100, 30], 'the session starts at the local terminal’s size');
    assert.ok(cast.events.some((e) => e[1] === 'r' && e[2] === '120x40'), 'the SIGWINCH resize is recorded');
    assert.ok(cast.output.includes('\r\ncon2sole\r\n'));
    // Neither the escape nor anything after it reached the VM: the last input was the Enter.
    assert.doesNotMatch(cast.output, /~\./);
  });

  test('--ssh: an SSH terminal of the local size; stty size follows a resize; ~~ sends a ~; ~. detaches', async () => {
    const t = cli('vm', 'console', 'con-vm', '--ssh');
    await attached(t, 'SSH terminal');
    assert.ok(await run(t, 'stty size', /\r\n30 100\r\n/));
    t.resize(132, 43);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(await run(t, 'stty size', /\r\n43 132\r\n/));
    // At the start of a line `~~` is one literal ~ (the shell expands it to the home directory).
    assert.ok(await run(t, '~~; echo tilde-$?', /tilde-\d+\r\n/));
    const s = t.output.slice(-300);
    assert.doesNotMatch(s, /~~/, 'one ~ reached the shell');
    t.type('\r~.');
    const { rc, stty } = await t.cliExit(5_000);
    assert.equal(rc, 0);
    assertCooked(stty);
    const ended = await until('ssh session ended', async () => {
      const x = await lastSession('ssh');
      return x.end_reason ? x : undefined;
    }, 5_000);
    assert.equal(ended.end_reason, 'closed');
  });

  test('the server ending the session: the CLI prints why and exits 0', async () => {
    const t = cli('vm', 'console', 'con-vm');
    await attached(t, 'serial console');
    const live = await until('live session', async () => (await api.terminal.live())[0], 5_000);
    await api.terminal.end(live.id);
    const { rc, stty } = await t.cliExit(5_000);
    assert.equal(rc, 0);
    assert.match(t.output, /Session ended: .*\(ended_by_user\)/);
    assertCooked(stty);
  });

  test('SIGTERM while attached: the terminal is put back, the session closed, exit 143', async () => {
    const t = cli('vm', 'console', 'con-vm');
    await attached(t, 'serial console');
    await until('live session', async () => (await api.terminal.live())[0], 5_000);
    process.kill(t.cliPid, 'SIGTERM');
    const { rc, stty } = await t.cliExit(5_000);
    assert.equal(rc, 143);
    assert.match(t.output, /Interrupted by SIGTERM/);
    assertCooked(stty);
    assert.deepEqual(await until('no live session', async () => ((await api.terminal.live()).length === 0 ? [] : undefined), 5_000), []);
  });

  test('an unknown VM, a bad token, a stopped VM: a clear error and exit code, no console, the terminal untouched', async () => {
    const missing = cli('vm', 'console', 'no-such-vm');
    const a = await missing.cliExit(15_000);
    assert.equal(a.rc, 3, missing.output);
    assert.match(missing.output, /error: /);
    assert.doesNotMatch(missing.output, /Connected to/);
    assertCooked(a.stty);

    const badToken = cliWith({ TWARGA_TOKEN: 'twg_not-a-token' }, 'vm', 'console', 'con-vm');
    assert.equal((await badToken.cliExit(15_000)).rc, 4, badToken.output);

    // The ticket is refused: the server's error code and request id, the CLI's exit code for a conflict.
    await api.vms.action(vm.id, { action: 'stop', force: true });
    await until('VM stopped', async () => {
      const v = await api.vms.get(vm.id);
      return v.status === 'stopped' && !v.locked ? true : undefined;
    });
    const stopped = cli('vm', 'console', 'con-vm');
    const c = await stopped.cliExit(15_000);
    assert.equal(c.rc, 5, stopped.output);
    assert.match(stopped.output, /error: .+ \(vm_not_running, request \S+\)/);
    assert.doesNotMatch(stopped.output, /Connected to/);
    assertCooked(c.stty);
  });
});
