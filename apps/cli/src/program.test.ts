import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import type { Io } from './client.js';
import { buildProgram, runCli } from './program.js';
import { bashCompletion, commandTree } from './commands/completion.js';

function io(env: Record<string, string> = {}): Io & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  return {
    stdin: new PassThrough() as unknown as NodeJS.ReadStream,
    stdout: stdout as unknown as NodeJS.WriteStream,
    stderr: stderr as unknown as NodeJS.WriteStream,
    env: { HOME: '/nonexistent-home', ...env },
    out: () => out,
    err: () => err,
  };
}

describe('command line', () => {
  test('--help and --version exit 0; usage mistakes exit 2', async () => {
    const a = io();
    assert.equal(await runCli(['--help'], a), 0);
    assert.match(a.out(), /Usage: twarga/);
    assert.equal(await runCli(['--version'], io()), 0);
    assert.equal(await runCli(['vm', 'create'], io()), 2);
    assert.equal(await runCli(['--bogus-flag'], io()), 2);
    assert.equal(await runCli(['tokens', 'create', 'x', '--scope', 'admin'], io()), 2);
    const c = io();
    assert.equal(await runCli(['completion', 'fish'], c), 2);
    assert.match(c.err(), /^error: no completion for "fish": bash or zsh \(usage\)/);
  });

  test('no login at all: exit 4 with a hint, before any network', async () => {
    const a = io();
    assert.equal(await runCli(['vm', 'list'], a), 4);
    assert.match(a.err(), /not logged in: run `twarga login/);
  });

  test('global flags work after the subcommand too', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-cli-prog-'));
    try {
      const a = io({ XDG_CONFIG_HOME: dir });
      // An unknown context named after the subcommand is still a usage error (2), not "not logged in".
      assert.equal(await runCli(['vm', 'list', '--context', 'nope'], a), 2);
      assert.match(a.err(), /no context named "nope"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the completion tree comes from the real commands', () => {
    const tree = commandTree(buildProgram(io(), { exitCode: 0 }));
    const top = tree.find((n) => n.path === '')!;
    for (const c of ['login', 'logout', 'whoami', 'context', 'vm', 'keys', 'tokens', 'images', 'sizes', 'events', 'metrics', 'completion']) {
      assert.ok(top.commands.some((x) => x.name === c), c);
    }
    const vm = tree.find((n) => n.path === 'vm')!;
    assert.deepEqual(
      ['list', 'create', 'show', 'start', 'stop', 'reboot', 'destroy', 'ssh', 'console'].filter((c) => !vm.commands.some((x) => x.name === c)),
      [],
    );
    assert.ok(tree.find((n) => n.path === 'vm create')!.flags.includes('--wait'));
    assert.ok(tree.find((n) => n.path === 'vm create')!.flags.includes('--json'));
  });

  test('the bash script is valid bash and completes commands, subcommands and flags', () => {
    const program = buildProgram(io(), { exitCode: 0 });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-cli-compl-'));
    try {
      const file = path.join(dir, 'twarga.bash');
      writeFileSync(file, bashCompletion(program));
      execFileSync('bash', ['-n', file]);
      // A stand-in `twarga` on PATH answers the live-name lookups (`twarga __complete vms`).
      writeFileSync(path.join(dir, 'twarga'), '#!/bin/sh\n[ "$1 $2" = "__complete vms" ] && printf "web-1\\nweb-2\\ndb\\n"\n', { mode: 0o755 });
      const complete = (line: string) => {
        const words = line.split(' ');
        const script = `source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _twarga; echo "\${COMPREPLY[*]}"`;
        return execFileSync('bash', ['-c', script], { encoding: 'utf8', env: { PATH: `${dir}:${process.env.PATH}` } }).trim().split(' ');
      };
      assert.deepEqual(complete('twarga v'), ['vm']);
      assert.deepEqual(complete('twarga vm s').sort(), ['show', 'ssh', 'start', 'stop']);
      assert.deepEqual(complete('twarga --json vm cr'), ['create']);
      assert.ok(complete('twarga vm create web-1 --w').includes('--wait'));
      assert.deepEqual(complete('twarga --url http://x vm destroy web-1 --y'), ['--yes']);
      // VM names come live for the VM argument, and only for it.
      assert.deepEqual(complete('twarga vm ssh web').sort(), ['web-1', 'web-2']);
      assert.deepEqual(complete('twarga vm ssh web-1 web'), ['']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the zsh script parses in zsh (when zsh is installed)', (t) => {
    if (spawnSync('zsh', ['-c', 'true']).error) return t.skip('zsh is not installed');
    const a = io();
    return runCli(['completion', 'zsh'], a).then((code) => {
      assert.equal(code, 0);
      const r = spawnSync('zsh', ['-n'], { input: a.out(), encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    });
  });
});
