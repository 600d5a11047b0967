import os from 'node:os';
import type { ComputeHost, ComputeHostDetail, ComputeDriverName, CreateHostRequest, EventCode, UpdateHostRequest } from '@twarga/contract';
import { AppError, badRequest, conflict, notFound } from '../../http/errors.js';
import { checkLibvirtConnection, type ConnectionProblem } from '../../compute/libvirt/connection-check.js';
import { hostPool } from '../../lib/host-pool.js';
import { libvirtUriProblem } from '../../lib/libvirt-uri.js';
import type { Clock } from '../../lib/time.js';
import type { Identity } from '../auth/identity.js';
import type { EventLog } from '../events/event-log.js';
import type { HostRow, HostUsage, HostsRepository } from './hosts.repository.js';
import { pickHost, type Placement } from './scheduler.js';

export interface DefaultHost {
  driver: ComputeDriverName;
  uri?: string;
}

const toView = (h: HostRow, usage: HostUsage | undefined, defaultPool: string): ComputeHost => ({
  id: h.id, name: h.name, driver: h.driver, uri: h.uri, pool: hostPool(h, defaultPool), pool_is_default: h.pool === null,
  ram_mb: h.ram_mb, vcpus: h.vcpus,
  enabled: h.enabled === 1, draining: h.draining === 1, usage: usage ?? { vms: 0, ram_mb: 0, vcpus: 0 },
  created_at: h.created_at, updated_at: h.updated_at,
});

const poolNotUsed = (driver: ComputeDriverName) =>
  badRequest(`A ${driver} host has no libvirt storage pool to choose`, [{ field: 'pool', message: `not used by ${driver}` }]);

/** Transports that check the host key against the URI's known_hosts file (see lib/libvirt-uri.ts). */
const sshHostKeyChecked = (uri: string) => /^qemu\+libssh2?:\/\//.test(uri);

/** Host, port and known_hosts file of a qemu+libssh URI, for the admin's error message. */
function sshTarget(uri: string): { host: string; port: number; knownHosts?: string } {
  const url = new URL(uri);
  return { host: url.hostname, port: Number(url.port || 22), knownHosts: url.searchParams.get('known_hosts') ?? undefined };
}

/**
 * The admin-managed list of compute hosts and the placement of new VMs on them. qemu and
 * vagrant hosts are this machine (one of each at most); libvirt hosts are reached by URI.
 */
export class HostsService {
  constructor(
    private readonly repo: HostsRepository,
    private readonly events: EventLog,
    private readonly clock: Clock,
    private readonly supported: (driver: ComputeDriverName) => boolean,
    /** config.libvirtPool: the pool of libvirt hosts that name none. */
    private readonly defaultPool: string,
    /** Opens a libvirt URI once; a host reached over libssh is checked before it is added. */
    private readonly checkConnection: (uri: string) => Promise<ConnectionProblem | undefined> = checkLibvirtConnection,
  ) {}

  async list(): Promise<ComputeHost[]> {
    const usage = await this.repo.usage();
    return (await this.repo.list()).map((h) => toView(h, usage.get(h.id), this.defaultPool));
  }

  async get(id: number): Promise<ComputeHost> {
    const host = await this.repo.find(id);
    if (!host) throw notFound('Compute host');
    return toView(host, (await this.repo.usage()).get(id), this.defaultPool);
  }

  /** A host and the live VMs still on it (an admin draining it sees what is left to move). */
  async detail(id: number): Promise<ComputeHostDetail> {
    return { ...(await this.get(id)), vms: await this.repo.vmsOn(id) };
  }

  /** First start: this machine becomes the first host, with its RAM and (overcommitted) vCPUs. */
  async ensureDefault(def: DefaultHost): Promise<HostRow> {
    const existing = await this.repo.list();
    if (existing.length) return existing[0]!;
    const now = this.clock.now().toISOString();
    return this.repo.insert({
      name: 'local', driver: def.driver, uri: def.driver === 'libvirt' ? (def.uri ?? 'qemu:///system') : null, pool: null,
      ram_mb: Math.floor(os.totalmem() / 1024 / 1024), vcpus: os.availableParallelism() * 16,
      enabled: 1, draining: 0, created_at: now, updated_at: now,
    });
  }

  async create(actor: Identity, input: CreateHostRequest, sourceIp: string): Promise<ComputeHost> {
    if (!this.supported(input.driver)) throw badRequest(`The ${input.driver} driver is not available on this server`, [{ field: 'driver', message: 'not available' }]);
    if (input.driver === 'libvirt' && !input.uri) throw badRequest('A libvirt host needs its connection URI', [{ field: 'uri', message: 'is required for libvirt' }]);
    const uriProblem = input.uri === undefined ? undefined : libvirtUriProblem(input.uri);
    if (uriProblem) throw badRequest(`Invalid libvirt URI: ${uriProblem}`, [{ field: 'uri', message: uriProblem }]);
    if (input.driver !== 'libvirt' && input.uri) throw badRequest(`A ${input.driver} host runs on this machine and takes no URI`, [{ field: 'uri', message: `not used by ${input.driver}` }]);
    if (input.driver !== 'libvirt' && input.pool) throw poolNotUsed(input.driver);
    if (await this.repo.nameTaken(input.name)) throw conflict(`A host named ${input.name} exists`, [{ field: 'name', message: 'is taken' }]);
    if (input.driver !== 'libvirt' && (await this.repo.list()).some((h) => h.driver === input.driver))
      throw conflict(`There is already a ${input.driver} host: it is this machine, and there is only one`);
    if (input.uri && sshHostKeyChecked(input.uri)) await this.requireReachable(input.uri);
    const now = this.clock.now().toISOString();
    const row = await this.repo.insert({
      name: input.name, driver: input.driver, uri: input.uri ?? null, pool: input.pool ?? null, ram_mb: input.ram_mb, vcpus: input.vcpus,
      enabled: input.enabled === false ? 0 : 1, draining: input.draining ? 1 : 0, created_at: now, updated_at: now,
    });
    const pool = hostPool(row, this.defaultPool);
    await this.audit(actor, 'admin.host_created', `${actor.user.username} added compute host ${row.name} (${row.driver}${row.uri ? ` ${row.uri}` : ''}${pool ? `, pool ${pool}` : ''})`, sourceIp, { host_id: row.id, pool });
    return toView(row, undefined, this.defaultPool);
  }

  async update(actor: Identity, id: number, input: UpdateHostRequest, sourceIp: string): Promise<ComputeHost> {
    const host = await this.repo.find(id);
    if (!host) throw notFound('Compute host');
    if (input.name && (await this.repo.nameTaken(input.name, id))) throw conflict(`A host named ${input.name} exists`, [{ field: 'name', message: 'is taken' }]);
    if (input.pool && host.driver !== 'libvirt') throw poolNotUsed(host.driver);
    const flag = (v: boolean | undefined) => (v === undefined ? undefined : v ? 1 : 0);
    const changes = {
      name: input.name, ram_mb: input.ram_mb, vcpus: input.vcpus, enabled: flag(input.enabled), draining: flag(input.draining),
      updated_at: this.clock.now().toISOString(),
    };
    const poolMoves = input.pool !== undefined && hostPool({ driver: host.driver, pool: input.pool }, this.defaultPool) !== hostPool(host, this.defaultPool);
    let row: HostRow;
    if (poolMoves) {
      // The VMs' disks and seeds live in the old pool: under another pool the driver would not
      // find them (a start fails, a destroy leaves them behind). Checked in the same statement.
      const updated = await this.repo.updateIfNoVms(id, { ...changes, pool: input.pool });
      if (!updated) {
        const vms = (await this.repo.usage()).get(id)?.vms ?? 0;
        throw conflict(`Host ${host.name} has ${vms} VM(s) whose volumes are in pool ${hostPool(host, this.defaultPool)}: its pool can change only while it has none`, [{ field: 'pool', message: 'cannot change while the host has VMs' }]);
      }
      row = updated;
    } else {
      // The same pool said explicitly (or null for the default it already uses) is stored as said.
      row = await this.repo.update(id, { ...changes, pool: input.pool });
    }
    await this.audit(actor, 'admin.host_updated', `${actor.user.username} changed compute host ${row.name}: ${JSON.stringify(input)}`, sourceIp, { host_id: id, ...input });
    return toView(row, (await this.repo.usage()).get(id), this.defaultPool);
  }

  async remove(actor: Identity, id: number, sourceIp: string): Promise<void> {
    const host = await this.repo.find(id);
    if (!host) throw notFound('Compute host');
    const vms = (await this.repo.usage()).get(id)?.vms ?? 0;
    if (vms > 0) throw conflict(`Host ${host.name} still has ${vms} VM(s): drain it and destroy or move them first`);
    await this.repo.remove(id);
    await this.audit(actor, 'admin.host_deleted', `${actor.user.username} removed compute host ${host.name}`, sourceIp, { host_id: id });
  }

  hostOf(vm: { host_id: number | null }): Promise<HostRow | undefined> {
    return vm.host_id === null ? Promise.resolve(undefined) : this.repo.find(vm.host_id);
  }

  /** The host a new VM goes to (only `onHost` when given: a snapshot's files are there), or 503 no_capacity. */
  /**
   * The host a VM's `region` names (regions are compute hosts, by name): one that takes new VMs,
   * i.e. enabled and not draining; otherwise a 400 saying which and why.
   */
  async forRegion(name: string): Promise<HostRow> {
    const host = (await this.repo.list()).find((h) => h.name === name);
    if (!host) throw badRequest(`Region ${name} is not a compute host of this cloud`, [{ field: 'region', message: 'is not a compute host' }]);
    if (!host.enabled || host.draining) throw badRequest(`Compute host ${name} takes no new VMs (${host.enabled ? 'draining' : 'disabled'})`, [{ field: 'region', message: 'takes no new VMs' }]);
    return host;
  }

  async place(need: Placement, onHost?: number): Promise<HostRow> {
    const usage = await this.repo.usage();
    const hosts = (await this.repo.list()).filter((h) => onHost === undefined || h.id === onHost);
    const candidates = hosts.map((h) => ({
      id: h.id, name: h.name, enabled: h.enabled === 1, draining: h.draining === 1, ramMb: h.ram_mb, vcpus: h.vcpus,
      usedRamMb: usage.get(h.id)?.ram_mb ?? 0, usedVcpus: usage.get(h.id)?.vcpus ?? 0,
    }));
    const chosen = pickHost(candidates, need);
    if (!chosen) {
      const which = onHost === undefined ? 'No compute host has' : `Host ${hosts[0]?.name ?? `#${onHost}`} (where the snapshot is) has no`;
      throw new AppError(503, 'no_capacity', `${which} room for ${need.ramMb} MB and ${need.vcpus} vCPU right now`);
    }
    return hosts.find((h) => h.id === chosen.id)!;
  }

  /** A libssh host whose key is unknown or changed is refused now, not at its first VM's create. */
  private async requireReachable(uri: string): Promise<void> {
    const problem = await this.checkConnection(uri);
    if (!problem) return;
    const { host, port, knownHosts } = sshTarget(uri);
    const where = knownHosts ?? "the server user's ~/.ssh/known_hosts";
    const record = `record it with: ssh-keyscan -p ${port} ${host} >> ${where} (after checking its fingerprint on the host)`;
    if (problem.kind === 'host-key-unknown') throw new AppError(409, 'host_key_unknown', `The SSH host key of ${host}:${port} is not in ${where}: ${record}`, [{ field: 'uri', message: problem.detail }]);
    if (problem.kind === 'host-key-mismatch') {
      throw new AppError(409, 'host_key_mismatch', `The SSH host key of ${host}:${port} differs from the one in ${where}: if the host was reinstalled, replace its line; otherwise do not connect`, [{ field: 'uri', message: problem.detail }]);
    }
    throw new AppError(409, 'host_unreachable', `libvirt on ${host}:${port} did not answer: ${problem.detail}`, [{ field: 'uri', message: problem.detail }]);
  }

  private audit(actor: Identity, action: EventCode, message: string, sourceIp: string, details: Record<string, unknown>) {
    return this.events.record({ type: 'admin', action, message, userId: actor.user.id, username: actor.user.username, sourceIp, details });
  }
}
