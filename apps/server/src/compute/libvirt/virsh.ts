import { CommandError, run } from '../../infra/process.js';
import { libvirtUriProblem } from '../../lib/libvirt-uri.js';
import type { InstanceState, InstanceStats } from '../driver.js';

/** What went wrong, from virsh's message (run with LC_ALL=C so the messages are English). */
export type VirshErrorKind = 'not-found' | 'not-running' | 'already-running' | 'timeout' | 'other';

export class VirshError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly kind: VirshErrorKind,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    const detail = stderr.trim().split('\n').filter(Boolean).slice(-3).join(' | ').slice(0, 500);
    super(`virsh ${args.slice(0, 2).join(' ')} ${kind === 'timeout' ? 'timed out' : `failed: ${detail || kind}`}`, options);
    this.name = 'VirshError';
  }
}

export function classifyVirshError(stderr: string): VirshErrorKind {
  if (/failed to get (domain|vol|pool|network)|not found: no (domain|storage vol|storage pool|network)|no (domain|storage vol|storage pool|network) with matching/i.test(stderr)) {
    return 'not-found';
  }
  if (/domain is not running|is not active/i.test(stderr)) return 'not-running';
  if (/domain is already (active|running)|already active/i.test(stderr)) return 'already-running';
  return 'other';
}

const URI_PATTERN = /^([a-z][a-z0-9]*)(?:\+([a-z0-9]+))?:\/\/([^/\s?#]*)(\/[^\s]*)?$/i;

/**
 * Only libvirt connection URIs: `qemu:///system`, `qemu+ssh://user@host/system`… whose query
 * passes the allow-list, checked at use too: host rows stored before the list existed (or
 * written around the API) must not reach virsh with a `command=` or `netcat=` in them.
 */
export function assertLibvirtUri(uri: string): void {
  if (!URI_PATTERN.test(uri)) throw new Error(`invalid libvirt URI: ${JSON.stringify(uri)}`);
  const problem = libvirtUriProblem(uri);
  if (problem) throw new Error(`invalid libvirt URI: ${JSON.stringify(uri)}: ${problem}`);
}

/** True when the URI talks to a libvirtd on this machine (no host part, unix socket transport). */
export function isLocalUri(uri: string): boolean {
  const m = URI_PATTERN.exec(uri);
  if (!m) return false;
  const transport = m[2]?.toLowerCase();
  return m[3] === '' && (transport === undefined || transport === 'unix');
}

/** Runs `virsh --connect <uri> -q …` through infra/process (argv only, always a timeout). */
export class Virsh {
  constructor(
    readonly uri: string,
    private readonly opts: { binary?: string; timeoutMs?: number } = {},
  ) {
    assertLibvirtUri(uri);
  }

  async run(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<string> {
    try {
      const { stdout } = await run(this.opts.binary ?? 'virsh', ['--connect', this.uri, '-q', ...args], {
        timeoutMs: options.timeoutMs ?? this.opts.timeoutMs ?? 30_000,
        env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
      });
      return stdout;
    } catch (err) {
      if (err instanceof CommandError) {
        throw new VirshError(args, err.timedOut ? 'timeout' : classifyVirshError(err.stderr), err.stderr, { cause: err });
      }
      throw err;
    }
  }

  /** Like run(), but a 'not-found' error resolves to undefined. */
  async runIfExists(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<string | undefined> {
    try {
      return await this.run(args, options);
    } catch (err) {
      if (err instanceof VirshError && err.kind === 'not-found') return undefined;
      throw err;
    }
  }
}

// ---- parsers (pure) ----

/** `virsh domstate <dom>` → the state text ("running", "shut off", "paused"…). */
export function parseDomState(stdout: string): string {
  return stdout.trim().split('\n')[0]!.replace(/\s*\(.*\)$/, '').trim().toLowerCase();
}

/** running/paused/blocked/in shutdown/pmsuspended → running (QEMU exists); shut off/crashed → stopped. */
export function mapDomState(state: string): Exclude<InstanceState, 'missing'> {
  switch (state) {
    case 'running':
    case 'idle':
    case 'paused':
    case 'blocked':
    case 'in shutdown':
    case 'pmsuspended':
      return 'running';
    case 'shut off':
    case 'crashed':
    case 'no state':
    case 'nostate':
      return 'stopped';
    default:
      return 'stopped';
  }
}

export interface InterfaceAddress {
  iface: string;
  mac: string;
  protocol: 'ipv4' | 'ipv6';
  address: string;
  prefix: number;
}

/**
 * `virsh -q domifaddr <dom> [--source lease]`: lines of `name mac protocol address/prefix`;
 * further addresses of the same interface show "-" for name and MAC.
 */
export function parseDomIfAddr(stdout: string): InterfaceAddress[] {
  const out: InterfaceAddress[] = [];
  let last: { iface: string; mac: string } | undefined;
  for (const line of stdout.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length !== 4) continue;
    const [iface, mac, protocol, cidr] = cols as [string, string, string, string];
    if (protocol !== 'ipv4' && protocol !== 'ipv6') continue;
    const m = /^([0-9a-fA-F:.]+)\/([0-9]{1,3})$/.exec(cidr);
    if (!m) continue;
    const owner = iface === '-' && last ? last : { iface, mac };
    last = owner;
    out.push({ ...owner, protocol, address: m[1]!, prefix: Number(m[2]) });
  }
  return out;
}

/** `virsh -q list --all --name` (also pool-list/net-list --name): one name a line. */
export function parseNameList(stdout: string): string[] {
  return stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** `virsh -q vol-list <pool>`: `name path` a line (names and paths without spaces). */
export function parseVolList(stdout: string): { name: string; path: string }[] {
  const vols: { name: string; path: string }[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^\s*(\S+)\s+(\/\S.*?)\s*$/.exec(line);
    if (m) vols.push({ name: m[1]!, path: m[2]! });
  }
  return vols;
}

/** `Key: value` lines (vol-info, pool-info, net-info, dominfo) → a record keyed by the lower-cased key. */
export function parseKeyValues(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^\s*([^:]+?):\s*(.*?)\s*$/.exec(line);
    if (m) out[m[1]!.toLowerCase()] = m[2]!;
  }
  return out;
}

/** `virsh vol-info --bytes` → capacity and allocation in bytes. */
export function parseVolInfo(stdout: string): { capacity: number; allocation: number } {
  const kv = parseKeyValues(stdout);
  const bytes = (s: string | undefined) => {
    const m = /^([0-9]+) bytes$/.exec(s ?? '');
    if (!m) throw new Error(`unexpected vol-info output: ${stdout.slice(0, 200)}`);
    return Number(m[1]);
  };
  return { capacity: bytes(kv.capacity), allocation: bytes(kv.allocation) };
}

/** `virsh domstats …`: `Domain: 'name'` blocks of `key=value` lines → name → stats. */
export function parseDomStats(stdout: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const line of stdout.split('\n')) {
    const dom = /^Domain: '(.*)'\s*$/.exec(line.trim());
    if (dom) {
      current = {};
      out.set(dom[1]!, current);
      continue;
    }
    const kv = /^\s*([^=\s]+)=(.*)$/.exec(line);
    if (kv && current) current[kv[1]!] = kv[2]!;
  }
  return out;
}

/** The arguments of `virsh domstats` that give what runningDomainStats reads. */
export const DOMSTATS_ARGS = ['domstats', '--state', '--cpu-total', '--balloon', '--block', '--interface'] as const;

/** virDomainState codes in which the domain's QEMU exists: running, blocked, paused, shutting down, pmsuspended. */
const QEMU_ALIVE_STATES = new Set(['1', '2', '3', '4', '7']);

/** The counters of one domain in `virsh domstats` output, or undefined when it is not running (a shut-off domain still reports some). */
export function runningDomainStats(stdout: string, domain: string): InstanceStats | undefined {
  const record = parseDomStats(stdout).get(domain);
  return record && QEMU_ALIVE_STATES.has(record['state.state'] ?? '') ? instanceStatsOf(record) : undefined;
}

/**
 * One domain's `virsh domstats` record as the contract's counters: cpu.time, balloon.rss (KiB),
 * and every block.N / net.N device summed.
 */
function instanceStatsOf(record: Record<string, string>): InstanceStats {
  const num = (key: string) => {
    const v = Number(record[key]);
    return Number.isFinite(v) ? v : 0;
  };
  const sum = (group: 'block' | 'net', field: string) => {
    let total = 0;
    for (let i = 0; i < num(`${group}.count`); i++) total += num(`${group}.${i}.${field}`);
    return total;
  };
  return {
    cpuTimeNs: num('cpu.time'),
    memoryRssBytes: num('balloon.rss') * 1024,
    disk: { readBytes: sum('block', 'rd.bytes'), writeBytes: sum('block', 'wr.bytes') },
    network: { rxBytes: sum('net', 'rx.bytes'), txBytes: sum('net', 'tx.bytes') },
  };
}

/** A .catch() handler that ignores the given kinds of virsh failure and rethrows the rest. */
export function ignoreKind(...kinds: VirshError['kind'][]) {
  return (err: unknown) => {
    if (err instanceof VirshError && kinds.includes(err.kind)) return;
    throw err;
  };
}
