import { Mutex } from 'async-mutex';
import type { FastifyBaseLogger } from 'fastify';
import { BlockScopes, type BlockQuery, type BlockScope, type CreateSocBlock, type Event, type IncidentBlockRequest, type SocBlock } from '@twarga/contract';
import { badRequest, conflict, forbidden, notFound } from '../../../http/errors.js';
import type { Clock } from '../../../lib/time.js';
import type { Identity } from '../../auth/identity.js';
import type { EventLog } from '../../events/event-log.js';
import { actorOf, type Actor, type Viewer } from '../incidents/actor.js';
import type { IncidentsService } from '../incidents/incidents.service.js';
import { canonicalAddress, isLoopback } from './address.js';
import type { MemoryBlocklist } from './blocklist.js';
import type { BlocksRepository, StoredBlock } from './blocks.repository.js';

export interface BlocksPolicy {
  /** A repeat offender's block doubles per earlier block in the look-back, up to this. */
  maxSeconds: number;
  lookbackDays: number;
}

export interface BlocksDeps {
  repo: BlocksRepository;
  blocklist: MemoryBlocklist;
  incidents: Pick<IncidentsService, 'visible' | 'noteBlocked'>;
  vms: { find(id: number): Promise<{ user_id: number; name: string; destroyed_at: string | null } | undefined> };
  events: Pick<EventLog, 'record' | 'subscribeCluster'>;
  clock: Clock;
  log: FastifyBaseLogger;
  policy: BlocksPolicy;
}

export interface BlockInput {
  address: string;
  scope: BlockScope;
  vmId?: number | null;
  durationSeconds?: number;
  reason?: string;
  incidentId?: number | null;
  ruleId?: string | null;
}

/**
 * The duration of an address's offence-th block: doubled for each earlier block in the
 * look-back (fail2ban's bantime.increment), capped at maxSeconds, but never shorter than asked.
 */
export function escalated(baseSeconds: number, offence: number, maxSeconds: number): number {
  if (offence <= 1) return baseSeconds;
  return Math.min(baseSeconds * 2 ** Math.min(offence - 1, 40), Math.max(baseSeconds, maxSeconds));
}

const describeScope = (b: { scope: BlockScope; vm_id: number | null }) =>
  b.scope === 'vm' ? `on VM #${b.vm_id}'s SSH` : b.scope === 'all_vms' ? "on every VM's SSH" : 'on the control plane';

/**
 * Address blocks: made by a rule's response or by a person (from an incident or directly),
 * listed, lifted, expired. Every change reaches the in-memory blocklist at once (it answers each
 * connection and request) and is audited as an event. Users may block, see and lift blocks on
 * their own VMs' SSH (scope vm); other scopes are for admins.
 */
export class BlocksService {
  /** Serialises check-then-insert, so one address is not blocked twice in the same place at once. */
  private readonly admission = new Mutex();

  constructor(private readonly d: BlocksDeps) {}

  /** Loads the active blocks into memory (start-up). */
  async load(): Promise<void> {
    this.d.blocklist.reset(await this.d.repo.listActive(this.now()));
  }

  /**
   * Keeps the in-memory blocklist in step with blocks added and lifted through the other server
   * processes (cluster-wide: their audit events carry the block). This process's own changes are
   * in it already; applying them again changes nothing. Returns the unsubscribe.
   */
  follow(): () => void {
    return this.d.events.subscribeCluster((e) => this.apply(e));
  }

  private apply(e: Event): void {
    const id = e.details.block_id;
    if (typeof id !== 'number' || !e.source_ip) return;
    if (e.code === 'soc.block_lifted') this.d.blocklist.remove({ id, address: e.source_ip });
    if (e.code !== 'soc.block_added') return;
    const scope = BlockScopes.find((s) => s === e.details.scope);
    const expires = e.details.expires_at;
    if (scope) this.d.blocklist.add({ id, address: e.source_ip, scope, vm_id: e.vm_id, expires_at: typeof expires === 'string' ? expires : null });
  }

  /** POST /api/soc/blocks. */
  async create(identity: Identity, input: CreateSocBlock, ip?: string): Promise<SocBlock> {
    if (input.incident_id !== undefined) await this.d.incidents.visible(identity, input.incident_id);
    const block = await this.add(
      { address: input.address, scope: input.scope, vmId: input.vm_id, durationSeconds: input.duration_seconds, reason: input.reason, incidentId: input.incident_id },
      actorOf(identity, ip),
    );
    return this.view(block);
  }

  /** POST /api/soc/incidents/{id}/block: the incident's source address, on its VM for scope vm. */
  async blockIncident(identity: Identity, incidentId: number, body: IncidentBlockRequest, ip?: string): Promise<SocBlock> {
    const incident = await this.d.incidents.visible(identity, incidentId);
    if (!incident.source_ip) throw badRequest(`Incident #${incidentId} has no single source address to block`);
    if (body.scope === 'vm' && incident.vm_id === null) throw badRequest(`Incident #${incidentId} is not about a VM: choose scope all_vms or control_plane`, [{ field: 'scope', message: 'the incident has no VM' }]);
    const block = await this.add(
      {
        address: incident.source_ip, scope: body.scope, vmId: body.scope === 'vm' ? incident.vm_id : null, durationSeconds: body.duration_seconds,
        reason: body.reason ?? `Incident #${incidentId}: ${incident.title}`, incidentId, ruleId: incident.rule_id,
      },
      actorOf(identity, ip),
    );
    return this.view(block);
  }

  /**
   * A rule's response. Never throws for what a person would be told (already blocked, a VM gone):
   * returns undefined instead.
   */
  async auto(input: BlockInput): Promise<StoredBlock | undefined> {
    // The usual case while an attack goes on: the rule fires again and its block still holds.
    // The in-memory blocklist (in step with soc_blocks) says so without a database round trip.
    const address = canonicalAddress(input.address);
    if (address && this.d.blocklist.holds(address, input.scope, input.scope === 'vm' ? (input.vmId ?? null) : null)) return undefined;
    try {
      return await this.add(input, null);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode && (err as { statusCode: number }).statusCode < 500) return undefined;
      throw err;
    }
  }

  async list(identity: Identity, q: BlockQuery): Promise<SocBlock[]> {
    const rows = await this.d.repo.list({ userId: identity.user.is_admin ? undefined : identity.user.id, active: q.active, now: this.now(), limit: q.limit ?? 100 });
    return rows.map((b) => this.view(b));
  }

  /** DELETE /api/soc/blocks/{id}. */
  async lift(identity: Identity, id: number, ip?: string): Promise<void> {
    const block = await this.d.repo.find(id);
    if (!block || !this.mayManage(identity, block)) throw notFound('Block');
    const lifted = await this.d.repo.lift(id, identity.user.id, this.now());
    if (!lifted) throw conflict(`Block #${id} was lifted or has expired already`);
    this.d.blocklist.remove(lifted);
    const actor = actorOf(identity, ip);
    await this.d.events.record({
      type: 'security', severity: 'info', action: 'soc.block_lifted',
      message: `Block #${id} of ${lifted.address} ${describeScope(lifted)} lifted by ${identity.user.username}`,
      userId: lifted.user_id, vmId: lifted.vm_id, sourceIp: lifted.address,
      details: { block_id: id, scope: lifted.scope, by_user_id: actor.userId, by_username: actor.username, ...(ip ? { by_ip: ip } : {}) },
    });
  }

  /** Ends the blocks whose time is up (the periodic sweep): out of memory, audited. */
  async expire(): Promise<number> {
    const ended = await this.d.repo.endExpired(this.now());
    for (const b of ended) {
      this.d.blocklist.remove(b);
      await this.d.events.record({
        type: 'security', severity: 'info', action: 'soc.block_lifted',
        message: `Block #${b.id} of ${b.address} ${describeScope(b)} expired`,
        userId: b.user_id, vmId: b.vm_id, sourceIp: b.address,
        details: { block_id: b.id, scope: b.scope, expired: true },
      });
    }
    return ended.length;
  }

  countActive(viewer: Viewer): Promise<number> {
    return this.d.repo.countActive({ userId: viewer.admin ? undefined : viewer.userId, now: this.now() });
  }

  private mayManage(identity: Identity, b: StoredBlock): boolean {
    return identity.user.is_admin || (b.scope === 'vm' && b.user_id === identity.user.id);
  }

  private async add(input: BlockInput, actor: Actor): Promise<StoredBlock> {
    const address = canonicalAddress(input.address);
    if (!address) throw badRequest(`"${input.address.slice(0, 64)}" is not an IP address`, [{ field: 'address', message: 'must be an IPv4 or IPv6 address' }]);
    if (actor && !actor.admin && input.scope !== 'vm') throw forbidden('Only administrators may block an address on every VM or on the control plane');
    // Loopback on the control plane would refuse the host's own clients, local health checks and,
    // behind a reverse proxy without TWARGA_TRUST_PROXY, every client at once (the admin too).
    if (input.scope === 'control_plane' && isLoopback(address)) {
      throw badRequest(`${address} is a loopback address: blocking it would lock this host (and a proxy in front of the server) out of the control plane`, [{ field: 'address', message: 'must not be a loopback address for scope control_plane' }]);
    }
    let owner: number | null = null;
    let vmId: number | null = null;
    if (input.scope === 'vm') {
      if (!input.vmId) throw badRequest('scope vm needs vm_id', [{ field: 'vm_id', message: 'is required for scope vm' }]);
      const vm = await this.d.vms.find(input.vmId);
      if (!vm || (actor && !actor.admin && vm.user_id !== actor.userId)) throw notFound('VM');
      if (vm.destroyed_at) throw badRequest(`VM #${input.vmId} is destroyed`);
      owner = vm.user_id;
      vmId = input.vmId;
    } else if (input.vmId) throw badRequest(`vm_id applies to scope vm only`, [{ field: 'vm_id', message: `not with scope ${input.scope}` }]);

    const block = await this.admission.runExclusive(async () => {
      const now = this.d.clock.now();
      const since = now.getTime() - this.d.policy.lookbackDays * 86_400_000;
      const earlier = await this.d.repo.ofAddress(address, new Date(since).toISOString(), now.toISOString());
      const isActive = (b: StoredBlock) => b.lifted_at === null && (b.expires_at === null || Date.parse(b.expires_at) > now.getTime());
      const active = earlier.find((b) => b.scope === input.scope && b.vm_id === vmId && isActive(b));
      if (active) throw conflict(`${address} is blocked ${describeScope(active)} already (block #${active.id})`);
      const offence = 1 + earlier.filter((b) => Date.parse(b.created_at) >= since).length;
      const seconds = input.durationSeconds === undefined ? undefined : escalated(input.durationSeconds, offence, this.d.policy.maxSeconds);
      return this.d.repo.insert({
        address, scope: input.scope, vm_id: vmId, user_id: owner,
        reason: (input.reason ?? (input.ruleId ? `Rule ${input.ruleId}` : 'Blocked by hand')).slice(0, 500),
        incident_id: input.incidentId ?? null, rule_id: input.ruleId ?? null, created_by: actor?.userId ?? null,
        created_at: now.toISOString(), expires_at: seconds === undefined ? null : new Date(now.getTime() + seconds * 1000).toISOString(), offence,
      });
    });
    this.d.blocklist.add(block);
    const by = actor ? `by ${actor.username}` : `by rule ${input.ruleId ?? '?'}`;
    const until = block.expires_at ? `until ${block.expires_at}` : 'until lifted';
    // The audit event and the incident's note are independent writes: at once (fewer sequential round trips).
    await Promise.all([
      this.d.events.record({
        type: 'security', severity: 'warning', action: 'soc.block_added',
        message: `${address} blocked ${describeScope(block)} ${until} (offence ${block.offence}) ${by}`,
        userId: block.user_id, vmId: block.vm_id, sourceIp: address,
        details: {
          block_id: block.id, scope: block.scope, offence: block.offence, expires_at: block.expires_at, rule_id: block.rule_id, incident_id: block.incident_id,
          by_user_id: actor?.userId ?? null, by_username: actor?.username ?? null, ...(actor?.ip ? { by_ip: actor.ip } : {}),
        },
      }),
      block.incident_id !== null && this.d.incidents.noteBlocked(block.incident_id, actor, `${address} blocked ${describeScope(block)} ${until} (block #${block.id}, offence ${block.offence})`),
    ]);
    return block;
  }

  private view({ user_id: _owner, ...b }: StoredBlock): SocBlock {
    const now = this.d.clock.now().getTime();
    return { ...b, active: b.lifted_at === null && (b.expires_at === null || Date.parse(b.expires_at) > now) };
  }

  private now(): string {
    return this.d.clock.now().toISOString();
  }
}
