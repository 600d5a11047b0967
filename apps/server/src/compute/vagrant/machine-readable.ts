/**
 * Pure parsers for what the vagrant CLI prints: `--machine-readable` lines and `vagrant ssh-config`.
 *
 * Machine-readable lines are `timestamp,target,type,data…`: the data fields are comma-separated,
 * and Vagrant escapes a comma inside a field as `%!(VAGRANT_COMMA)`, a newline as `\n` and a
 * carriage return as `\r` (lib/vagrant/ui.rb, MachineReadable#machine).
 */

export interface MachineReadableLine {
  timestamp: number;
  /** The machine name, or '' for global lines (ui, error-exit). */
  target: string;
  type: string;
  data: string[];
}

const COMMA = '%!(VAGRANT_COMMA)';

export function unescapeField(field: string): string {
  return field.split(COMMA).join(',').replace(/\\n/g, '\n').replace(/\\r/g, '\r');
}

/** Every well-formed machine-readable line of `output`; other lines (plain text, warnings) are skipped. */
export function parseMachineReadable(output: string): MachineReadableLine[] {
  const lines: MachineReadableLine[] = [];
  for (const raw of output.split(/\r?\n/)) {
    const m = /^(\d+),([^,]*),([^,]+),?(.*)$/.exec(raw);
    if (!m) continue;
    lines.push({
      timestamp: Number(m[1]),
      target: unescapeField(m[2]!),
      type: m[3]!,
      data: m[4] === '' ? [] : m[4]!.split(',').map(unescapeField),
    });
  }
  return lines;
}

/** How a provider state id maps onto the driver contract. */
export type StateClass = 'running' | 'stopped' | 'not_created' | 'unknown';

/**
 * Provider state ids that mean "the VM's process exists". libvirt (fog-libvirt, dashes turned
 * into underscores): running, blocked, paused, shutting_down, and vagrant-libvirt's own
 * `inaccessible` (running, address not known yet); VirtualBox: running, paused, stuck,
 * starting, stopping, saving, restoring…; docker/hyper-v: preparing, starting.
 * Everything else with a known id is stopped: libvirt shutoff, crashed, pmsuspended, nostate;
 * VirtualBox poweroff, aborted, saved, gurumeditation. A shut-off libvirt domain is NOT running.
 */
const RUNNING_STATES = new Set([
  'running', 'blocked', 'paused', 'shutting_down', 'inaccessible', 'preparing', 'starting', 'stopping',
  'saving', 'restoring', 'snapshotting', 'deleting_snapshot', 'live_snapshotting', 'stuck', 'teleporting',
  'teleported', 'settingup', 'onlinesnapshotting', 'restoringsnapshot', 'deletingsnapshot', 'deletingsnapshotonline',
]);
const STOPPED_STATES = new Set([
  'shutoff', 'shut_off', 'poweroff', 'crashed', 'pmsuspended', 'nostate', 'aborted', 'saved', 'gurumeditation', 'stopped',
  'off', 'halted', 'suspended', 'host_off',
]);

export function classifyState(stateId: string): StateClass {
  const id = stateId.trim().toLowerCase().replace(/-/g, '_');
  if (id === 'not_created') return 'not_created';
  if (RUNNING_STATES.has(id)) return 'running';
  if (STOPPED_STATES.has(id)) return 'stopped';
  return 'unknown';
}

export interface MachineStatus {
  /** The provider's state id as printed (e.g. running, shutoff, not_created). */
  state: string;
  class: StateClass;
  provider?: string;
  /** The one-line human description, when printed. */
  human?: string;
}

/**
 * The state of each machine in `vagrant status --machine-readable` output, by machine name.
 * Throws on an error-exit line (its message, unescaped).
 */
export function parseStatus(output: string): Map<string, MachineStatus> {
  const machines = new Map<string, MachineStatus>();
  for (const line of parseMachineReadable(output)) {
    if (line.type === 'error-exit') throw new Error(`vagrant status: ${line.data.slice(1).join(' ') || line.data[0] || 'failed'}`);
    if (!line.target) continue;
    const entry = machines.get(line.target) ?? { state: '', class: 'unknown' as StateClass };
    if (line.type === 'state' && line.data[0]) {
      entry.state = line.data[0];
      entry.class = classifyState(line.data[0]);
    } else if (line.type === 'provider-name' && line.data[0]) {
      entry.provider = line.data[0];
    } else if (line.type === 'metadata' && line.data[0] === 'provider' && line.data[1]) {
      entry.provider ??= line.data[1];
    } else if (line.type === 'state-human-short' && line.data[0]) {
      entry.human = line.data[0];
    } else {
      continue;
    }
    machines.set(line.target, entry);
  }
  return machines;
}

export interface SshConfig {
  host: string;
  hostName: string;
  port: number;
  user: string;
  identityFiles: string[];
}

/**
 * `vagrant ssh-config` output, plain or `--machine-readable` (one `ssh-config` line per
 * machine). Returns one entry per `Host` block.
 */
export function parseSshConfig(output: string): SshConfig[] {
  const records = parseMachineReadable(output);
  const errors = records.filter((r) => r.type === 'error-exit');
  if (errors.length) throw new Error(`vagrant ssh-config: ${errors[0]!.data.slice(1).join(' ') || 'failed'}`);
  const blocks = records.filter((r) => r.type === 'ssh-config');
  const text = blocks.length ? blocks.map((r) => r.data.join(',')).join('\n') : output;

  const out: SshConfig[] = [];
  let cur: SshConfig | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    const value = m[2]!.trim().replace(/^"(.*)"$/, '$1');
    if (key === 'host') {
      cur = { host: value, hostName: value, port: 22, user: '', identityFiles: [] };
      out.push(cur);
      continue;
    }
    if (!cur) continue;
    if (key === 'hostname') cur.hostName = value;
    else if (key === 'port') cur.port = Number(value);
    else if (key === 'user') cur.user = value;
    else if (key === 'identityfile') cur.identityFiles.push(value);
  }
  return out.filter((c) => Number.isInteger(c.port) && c.port > 0 && c.port < 65536);
}

/** `vagrant box list --machine-readable`: the boxes installed, with provider and version. */
export function parseBoxList(output: string): { name: string; provider: string; version: string }[] {
  const boxes: { name: string; provider: string; version: string }[] = [];
  let cur: { name: string; provider: string; version: string } | undefined;
  for (const line of parseMachineReadable(output)) {
    if (line.type === 'box-name') {
      cur = { name: line.data[0] ?? '', provider: '', version: '' };
      boxes.push(cur);
    } else if (line.type === 'box-provider' && cur) {
      cur.provider = line.data[0] ?? '';
    } else if (line.type === 'box-version' && cur) {
      cur.version = line.data[0] ?? '';
    }
  }
  return boxes;
}

/** The last `lines` lines of a command's output, for error messages. */
export function outputTail(output: string, lines = 12, maxChars = 2000): string {
  const kept = output
    .split(/\r?\n/)
    .map((l) => {
      const rec = /^\d+,[^,]*,(ui|error-exit),(?:[^,]*,)?(.*)$/.exec(l);
      return rec ? unescapeField(rec[2]!) : l;
    })
    .join('\n')
    .split('\n')
    .map((l) => l.trimEnd())
    // Ruby backtraces (`\tfrom /usr/…/x.rb:12:in `call'`) hide the message above them.
    .filter((l) => l.trim() !== '' && !/^\s*(from )?\/\S+\.rb:\d+:in /.test(l));
  const tail = kept.slice(-lines).join('\n');
  return tail.length > maxChars ? tail.slice(-maxChars) : tail;
}
