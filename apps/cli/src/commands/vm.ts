import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Action, CreateVmRequest, Vm, VmActionRequest } from '@twarga/contract';
import { Option, type Command } from 'commander';
import { resolveKey, resolveVm, type CommandContext } from '../client.js';
import { attachConsole } from '../console/attach.js';
import { CliError, EXIT } from '../exit-codes.js';
import { formatDuration, renderFields, type Column } from '../output.js';
import { ask } from '../prompt.js';
import { sshBanner, waitForSsh } from '../ssh-ready.js';
import type { Registrar } from '../program.js';
import { waitForAction } from '../wait.js';

// A tiny VM's sshd is up in seconds; a Debian cloud image under software emulation can take minutes.
const SSH_BOOT_WAIT_MS = 300_000;

const sshAddress = (vm: Vm) => (vm.ssh_port ? `${vm.ssh_user}@${vm.ssh_host}:${vm.ssh_port}` : null);

export const VM_COLUMNS: Column<Vm>[] = [
  { header: 'id', get: (v) => v.id },
  { header: 'name', get: (v) => v.name },
  { header: 'status', get: (v) => (v.locked && v.status !== 'destroyed' ? `${v.status}*` : v.status) },
  { header: 'image', get: (v) => v.image },
  { header: 'size', get: (v) => v.size ?? `${v.cpu}cpu/${v.ram}MiB/${v.disk}GiB` },
  { header: 'ip', get: (v) => v.ip_address },
  { header: 'ssh', get: sshAddress },
  { header: 'tags', get: (v) => v.tags ?? [] },
];

export function vmFields(vm: Vm): [string, unknown][] {
  return [
    ['id', vm.id],
    ['name', vm.name],
    ['status', vm.status + (vm.status_reason ? ` (${vm.status_reason})` : '')],
    ['locked', vm.locked ? 'yes (an action runs)' : 'no'],
    ['health', vm.health],
    ['image', vm.image],
    ['size', vm.size],
    ['vcpus', vm.cpu],
    ['memory', `${vm.ram} MiB`],
    ['disk', `${vm.disk} GiB`],
    ['price', `${vm.price_hourly} credits/hour`],
    ['driver', vm.driver],
    ['host id', vm.host_id],
    ['ip', vm.ip_address],
    ['ssh', vm.ssh_command],
    ['tags', vm.tags ?? []],
    ['created', vm.created_at],
    ['uptime', formatDuration(vm.uptime_seconds)],
    ['error', vm.error],
  ];
}

interface WaitFlag {
  wait?: boolean;
  timeout?: string;
}

/** Follows the action when --wait was given (log lines and spinner on stderr); returns the final action. */
async function follow(ctx: CommandContext, action: Action, label: string, o: WaitFlag): Promise<Action> {
  if (!o.wait) return action;
  const { url, token } = ctx.credentials();
  const timeoutMs = o.timeout ? parseSeconds(o.timeout) * 1000 : undefined;
  return waitForAction(action, { client: ctx.client(), baseUrl: url, token, stderr: ctx.io.stderr, spinner: ctx.interactive, label, timeoutMs });
}

/** "90", "90s", "5m", "1h" → seconds. */
export function parseSeconds(text: string): number {
  const m = /^(\d+)\s*(s|m|h)?$/.exec(text.trim());
  if (!m) throw new CliError(`not a duration: "${text}" (e.g. 90s, 5m, 1h)`, EXIT.usage, 'usage');
  return Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

const intArg = (name: string) => (value: string) => {
  if (!/^\d+$/.test(value)) throw new CliError(`${name} must be a whole number, got "${value}"`, EXIT.usage, 'usage');
  return Number(value);
};

interface CreateOptions extends WaitFlag {
  image?: string;
  size?: string;
  cpu?: number;
  ram?: number;
  disk?: number;
  sshKey?: string[];
  userData?: string;
  tag?: string[];
  region?: string;
  snapshot?: number;
  watchdogReset?: boolean;
}

async function create(ctx: CommandContext, name: string, o: CreateOptions): Promise<void> {
  const body: CreateVmRequest = { name };
  if (o.image) body.image = o.image;
  if (o.size) body.size = o.size;
  if (o.cpu !== undefined) body.cpu = o.cpu;
  if (o.ram !== undefined) body.ram = o.ram;
  if (o.disk !== undefined) body.disk = o.disk;
  // A key by name, id or fingerprint, as `keys remove` takes it; the API gets its id.
  if (o.sshKey?.length) body.ssh_keys = await Promise.all(o.sshKey.map(async (k) => (await resolveKey(ctx.client(), k)).id));
  if (o.userData) body.user_data = readFileSync(o.userData === '-' ? 0 : o.userData, 'utf8');
  if (o.tag?.length) body.tags = o.tag;
  if (o.region) body.region = o.region;
  if (o.snapshot !== undefined) body.snapshot_id = o.snapshot;
  if (o.watchdogReset) body.watchdog_reset = true;

  const client = ctx.client();
  const created = await client.vms.create(body);
  if (!o.wait) {
    ctx.out.result(created, () => `Creating VM ${created.name} (id ${created.id}, action ${created.action.id}). Follow it with: twarga vm show ${created.name}`);
    return;
  }
  ctx.out.info(`Creating VM ${created.name} (id ${created.id}, action ${created.action.id})…`);
  await follow(ctx, created.action, `creating ${created.name}`, o);
  const vm = await client.vms.get(created.id);
  ctx.out.result(vm, () => `VM ${vm.name} is ${vm.status}.${vm.ssh_command ? ` SSH: ${vm.ssh_command} (or: twarga vm ssh ${vm.name})` : ''}`);
}

const PAST: Record<string, string> = { start: 'started', stop: 'stopped', reboot: 'rebooted', destroy: 'destroyed' };

async function act(ctx: CommandContext, ref: string, request: VmActionRequest, o: WaitFlag): Promise<void> {
  const client = ctx.client();
  const vm = await resolveVm(client, ref);
  const action = await client.vms.action(vm.id, request);
  if (!o.wait) {
    ctx.out.result(action, () => `${request.action} of VM ${vm.name} started (action ${action.id}).`);
    return;
  }
  ctx.out.info(`${request.action[0]!.toUpperCase()}${request.action.slice(1)} of VM ${vm.name} (action ${action.id})…`);
  const done = await follow(ctx, action, `${request.action} ${vm.name}`, o);
  ctx.out.result(done, () => `VM ${vm.name} ${PAST[request.action] ?? request.action + ' done'}.`);
}

async function destroy(ctx: CommandContext, ref: string, o: WaitFlag & { force?: boolean; yes?: boolean }): Promise<void> {
  if (!o.yes) {
    const { stdin, stderr } = ctx.io;
    if (!stdin.isTTY) throw new CliError('destroying a VM deletes its disk: pass --yes to confirm', EXIT.usage, 'confirmation_required');
    const answer = await ask(stdin, stderr, `Destroy VM "${ref}" and its disk? Type its name to confirm: `);
    if (answer.trim() !== ref) throw new CliError('not confirmed; nothing was destroyed', EXIT.usage, 'not_confirmed');
  }
  await act(ctx, ref, { action: 'destroy', ...(o.force ? { force: true } : {}) }, o);
}

async function ssh(ctx: CommandContext, ref: string, command: string[], o: { identity?: string; user?: string; sshOption?: string[] }): Promise<number> {
  const vm = await resolveVm(ctx.client(), ref);
  if (vm.status !== 'running' || !vm.ssh_port) {
    throw new CliError(`VM ${vm.name} has no SSH endpoint (status ${vm.status}); start it first`, EXIT.conflict, 'vm_not_running');
  }
  // Just started (create --wait, start --wait): the guest's sshd may not be up yet. Wait for its
  // greeting rather than fail with "connection refused" (health says booting until it answers).
  if (vm.health === 'booting' && !(await sshBanner(vm.ssh_host, vm.ssh_port))) {
    ctx.io.stderr.write(`Waiting for the SSH server of ${vm.name} (booting)…\n`);
    if (!(await waitForSsh(vm.ssh_host, vm.ssh_port, SSH_BOOT_WAIT_MS))) {
      throw new CliError(`VM ${vm.name}'s SSH server did not answer within ${SSH_BOOT_WAIT_MS / 1000} s`, EXIT.error, 'ssh_timeout');
    }
  }
  const args = ['-p', String(vm.ssh_port)];
  if (o.identity) args.push('-i', o.identity, '-o', 'IdentitiesOnly=yes');
  // Ports are reused by later VMs: pin the host key to this VM (id on that host), trusting it on first use.
  args.push('-o', `HostKeyAlias=twarga-vm-${vm.id}.${vm.ssh_host}`, '-o', 'StrictHostKeyChecking=accept-new');
  for (const opt of o.sshOption ?? []) args.push('-o', opt);
  // `--` ends ssh's options: the remote command's words are never read as ssh flags.
  args.push('--', `${o.user ?? vm.ssh_user}@${vm.ssh_host}`, ...command);
  return runSsh(args);
}

/** The system ssh with our terminal; resolves with its exit code (255: ssh's own error). */
function runSsh(args: string[]): Promise<number> {
  // Ctrl-C belongs to ssh while it runs (it passes it on or ends itself).
  const saved = process.listeners('SIGINT');
  process.removeAllListeners('SIGINT');
  process.on('SIGINT', () => undefined);
  const restore = () => {
    process.removeAllListeners('SIGINT');
    for (const l of saved) process.on('SIGINT', l);
  };
  return new Promise<number>((resolve, reject) => {
    const child = spawn('ssh', args, { stdio: 'inherit' });
    child.on('error', (err) => {
      restore();
      reject((err as NodeJS.ErrnoException).code === 'ENOENT' ? new CliError('the ssh command was not found: install an OpenSSH client', EXIT.error, 'ssh_missing') : err);
    });
    child.on('exit', (code, signal) => {
      restore();
      resolve(code ?? (signal === 'SIGINT' ? EXIT.interrupted : EXIT.error));
    });
  });
}

async function console_(ctx: CommandContext, ref: string, o: { ssh?: boolean }): Promise<number> {
  const { url, token } = ctx.credentials();
  const vm = await resolveVm(ctx.client(), ref);
  return attachConsole({ baseUrl: url, token, vmId: vm.id, kind: o.ssh ? 'ssh' : 'serial', stdin: ctx.io.stdin, stdout: ctx.io.stdout, stderr: ctx.io.stderr });
}

function withWait(cmd: Command, what: string): Command {
  return cmd.option('--wait', `follow the ${what} until it ends, printing its log`).option('--timeout <duration>', 'with --wait: give up after this long (e.g. 10m)');
}

export function registerVm(program: Command, r: Registrar): void {
  const vm = program.command('vm').description('virtual machines');

  vm.command('list')
    .alias('ls')
    .description('list your VMs (* after the status: an action is running)')
    .option('--tag <tag>', 'only VMs with this tag')
    .action(
      r.action(async (ctx, o: { tag?: string }) => {
        const vms = await ctx.client().vms.list();
        ctx.out.table(o.tag ? vms.filter((v) => v.tags?.includes(o.tag!)) : vms, VM_COLUMNS);
      }),
    );

  withWait(
    vm.command('create <name>')
      .description('create a VM')
      .option('-i, --image <slug>', 'image slug (see: twarga images list)')
      .option('-s, --size <slug>', 'size slug (see: twarga sizes list)')
      .option('--cpu <n>', 'vCPUs (instead of --size)', intArg('--cpu'))
      .option('--ram <mib>', 'memory in MiB (instead of --size)', intArg('--ram'))
      .option('--disk <gib>', 'disk in GiB (instead of --size)', intArg('--disk'))
      .option('-k, --ssh-key <key>', 'SSH key to install, by name, id or fingerprint (repeatable)', collect)
      .option('--user-data <file>', 'cloud-init user data from a file (- for stdin)')
      .option('-t, --tag <tag>', 'tag (repeatable)', collect)
      .option('--region <host>', 'place the VM on this compute host')
      .option('--snapshot <id>', 'start from one of your snapshots', intArg('--snapshot'))
      .option('--watchdog-reset', 'reset the VM once per boot when it stops answering'),
    'creation',
  ).action(r.action((ctx, name: string, o: CreateOptions) => create(ctx, name, o)));

  vm.command('show <vm>')
    .alias('get')
    .description('show one VM (by name or id)')
    .action(
      r.action(async (ctx, ref: string) => {
        const found = await resolveVm(ctx.client(), ref);
        ctx.out.result(found, () => renderFields(vmFields(found)));
      }),
    );

  withWait(vm.command('start <vm>').description('start a stopped VM'), 'start').action(r.action((ctx, ref: string, o: WaitFlag) => act(ctx, ref, { action: 'start' }, o)));
  withWait(vm.command('stop <vm>').description('shut a VM down (ACPI; --force: power off)').option('-f, --force', 'power off at once'), 'stop').action(
    r.action((ctx, ref: string, o: WaitFlag & { force?: boolean }) => act(ctx, ref, { action: 'stop', ...(o.force ? { force: true } : {}) }, o)),
  );
  withWait(vm.command('reboot <vm>').description('reboot a VM (--force: hard reset)').option('-f, --force', 'hard reset'), 'reboot').action(
    r.action((ctx, ref: string, o: WaitFlag & { force?: boolean }) => act(ctx, ref, { action: 'reboot', ...(o.force ? { force: true } : {}) }, o)),
  );
  withWait(
    vm.command('destroy <vm>')
      .alias('rm')
      .description('destroy a VM and its disk')
      .option('-y, --yes', 'do not ask for confirmation')
      .option('-f, --force', 'kill at once (no graceful shutdown)'),
    'destruction',
  ).action(r.action((ctx, ref: string, o: WaitFlag & { force?: boolean; yes?: boolean }) => destroy(ctx, ref, o)));

  vm.command('ssh <vm> [command...]')
    .description('ssh into a VM with the system ssh (put the remote command after --)')
    .option('-i, --identity <file>', 'private key file (ssh -i)')
    .option('-l, --user <user>', "log in as this user (default: the image's user)")
    .addOption(new Option('-o, --ssh-option <option>', 'extra ssh -o option (repeatable)').argParser(collect))
    .action(r.action((ctx, ref: string, command: string[], o) => ssh(ctx, ref, command, o)));

  vm.command('console <vm>')
    .description('attach the serial console (or with --ssh an SSH terminal) to this terminal; ~. detaches')
    .option('--ssh', 'an SSH terminal instead of the serial console')
    .action(r.action((ctx, ref: string, o: { ssh?: boolean }) => console_(ctx, ref, o)));
}
