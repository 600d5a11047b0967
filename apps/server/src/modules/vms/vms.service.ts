import type { Action, ActionLog, ActionType, CreateVmRequest, CreatedVm, EmergencyStopResult, Vm, VmActionRequest, VmStats, VmStatus } from '@twarga/contract';
import type { ExclusiveLock } from '../../lib/cluster-lock.js';
import { hasStats, instanceId } from '../../compute/driver.js';
import type { ComputeRegistry } from '../../compute/registry.js';
import { AppError, badRequest, conflict, notFound } from '../../http/errors.js';


import type { Identity, RequestContext } from '../auth/identity.js';


import type { ConsoleKeys } from '../terminal/console-keys.js';
import { toVm } from './vm-view.js';
import type { VmOperations } from './vm-operations.js';
import type { VmRow } from './vms.repository.js';
import type { Limits } from './quota.js';
import { assertNotSuspended, duplicateName, VmAdmission, type VmAdmissionDeps } from './vm-admission.js';
import { isMaintenance, VmMaintenance, type Prepared } from './vm-maintenance.js';

/** Which actions a VM accepts in which status. */
const ALLOWED: Record<ActionType, VmStatus[]> = {
  create: [],
  start: ['stopped', 'error'],
  stop: ['running', 'paused', 'error'],
  reboot: ['running'],
  // Any status but destroyed: the lock (tryLock) already refuses a VM that an action works on, so a
  // transitional status seen here was left by a crash and must not trap the VM.
  destroy: ['pending', 'provisioning', 'running', 'paused', 'stopping', 'stopped', 'rebooting', 'destroying', 'error'],
  snapshot: ['running', 'stopped'],
  restore: ['running', 'stopped', 'error'],
  resize: ['stopped'],
  rebuild: ['stopped', 'error'],
  migrate: ['stopped'],
};

/** What a launch needs (VmAdmissionDeps), and what the VM's life needs besides. */
export type VmsServiceDeps = Omit<VmAdmissionDeps, 'pendingGrowth' | 'defaultLimits'> & {
  ops: VmOperations;
  drivers: ComputeRegistry;
  consoleKeys: ConsoleKeys;
  /**
   * Quota, capacity and disk space checks read what is in use, then the insert adds to it:
   * two launches at once must not both see the last free slot, in this process or in another
   * one on the same PostgreSQL (ClusterLocks). Credits do not rely on it: the first hour is
   * charged in the insert's transaction.
   */
  admission: ExclusiveLock;
};

export class VmsService {
  constructor(private readonly d: VmsServiceDeps) {
    this.maintenance = new VmMaintenance({
      ...d, defaultLimits: () => this.defaultLimits(), dataDir: d.policy.dataDir, minFreeDiskMb: d.policy.minFreeDiskMb,
    });
    this.launches = new VmAdmission({ ...d, pendingGrowth: (userId) => this.maintenance.pendingGrowth(userId), defaultLimits: () => this.defaultLimits() });
  }

  /** A launch's rules: plan, then quotas, credits, placement and the insert. */
  private readonly launches: VmAdmission;

  /** Snapshot, restore, resize and rebuild: their rules and work. */
  private readonly maintenance: VmMaintenance;

  private get admission(): ExclusiveLock {
    return this.d.admission;
  }

  private view = (row: VmRow, tags?: string[]) => toVm(row, this.d.policy.sshHost, this.d.clock.now(), tags);

  /** Rows as the API shows them, with their tags. */
  private async views(rows: VmRow[]): Promise<Vm[]> {
    const tags = await this.d.vms.tagsOf(rows.map((r) => r.id));
    return rows.map((r) => this.view(r, tags.get(r.id)));
  }

  /**
   * Your VMs (an admin: every VM, unless `own`: DO's API is per account), only those with the
   * tag when one is given.
   */
  async list(identity: Identity, filter: { tag?: string; own?: boolean } = {}): Promise<Vm[]> {
    const everyone = identity.user.is_admin && !filter.own;
    return this.views(await this.d.vms.listLive(everyone ? undefined : identity.user.id, { tag: filter.tag }));
  }

  /** The VM if the caller may see it; someone else's VM is indistinguishable from a missing one. */
  async findVisible(identity: Identity, id: number): Promise<VmRow> {
    const row = await this.d.vms.find(id);
    if (!row || (row.user_id !== identity.user.id && !identity.user.is_admin)) throw notFound('VM');
    return row;
  }

  async get(identity: Identity, id: number): Promise<Vm> {
    return (await this.views([await this.findVisible(identity, id)]))[0]!;
  }

  async listActions(identity: Identity, id: number): Promise<Action[]> {
    await this.findVisible(identity, id);
    return this.d.actions.listForVm(id);
  }

  /** The caller's own actions on all their VMs, newest first (DO's account-wide action list). */
  listMyActions(identity: Identity, limit = 1000): Promise<Action[]> {
    return this.d.actions.listForUser(identity.user.id, limit);
  }

  async getAction(identity: Identity, id: number): Promise<Action> {
    const action = await this.d.actions.get(id);
    if (!action || (action.user_id !== identity.user.id && !identity.user.is_admin)) throw notFound('Action');
    return action;
  }

  async actionLog(identity: Identity, id: number): Promise<ActionLog> {
    await this.getAction(identity, id);
    return { action_id: id, lines: await this.d.actions.log(id) };
  }

  async create(identity: Identity, input: CreateVmRequest, ctx: RequestContext): Promise<CreatedVm> {
    const { events } = this.d;
    const userId = identity.user.id;
    const { source, image, spec, sshKeys, pinned } = await this.launches.plan(userId, input);
    const { row, action } = await this.admission.runExclusive(() => this.launches.admit(userId, input, image, spec, sshKeys, source, pinned));
    const from = source ? `snapshot #${source.id} of ${image.slug}` : image.slug;
    await events.record({ type: 'vm', action: 'vm.create_requested', message: `VM ${row.name} requested (${from}, ${spec.ram} MB, ${spec.cpu} vCPU, ${spec.disk} GB)`, userId, username: identity.user.username, vmId: row.id, sourceIp: ctx.ip });
    this.d.ops.dispatch(row, action, () => this.d.ops.provision(row));
    return { ...this.view(row, [...new Set(input.tags ?? [])].sort()), action, message: 'VM creation started' };
  }

  /**
   * Several VMs of one request (DigitalOcean's `names`). Whatever can be checked for all of them
   * is checked first, so a repeated or taken name, or a quota or balance that fits only some of
   * them, creates none; then they are created one by one with create()'s rules. A launch by
   * someone else in between can still make a later one fail: the error is answered, the VMs
   * already created stay (as DO does).
   */
  async createMany(identity: Identity, names: string[], input: Omit<CreateVmRequest, 'name'>, ctx: RequestContext): Promise<CreatedVm[]> {
    const userId = identity.user.id;
    const repeated = names.find((n, i) => names.indexOf(n) !== i);
    if (repeated !== undefined) throw badRequest(`The name ${repeated} is given twice`, [{ field: 'names', message: `${repeated} is given twice` }]);
    const { spec } = await this.launches.plan(userId, { ...input, name: names[0]! });
    await this.admission.runExclusive(async () => {
      const user = (await this.d.users.findById(userId))!;
      assertNotSuspended(user);
      for (const name of names) if (await this.d.vms.nameTaken(userId, name)) throw duplicateName(name);
      await this.launches.assertRoom(user, spec, names.length);
    });
    const created: CreatedVm[] = [];
    for (const name of names) created.push(await this.create(identity, { ...input, name }, ctx));
    return created;
  }

  /** The server-wide limits (config); an admin may override them per user. */
  defaultLimits(): Limits {
    const p = this.d.policy;
    return { maxVms: p.maxVmsPerUser, maxRamMb: p.maxRamPerUserMb, maxVcpus: p.maxVcpusPerUser, maxDiskGb: p.maxDiskGbPerUser };
  }

  async stats(identity: Identity, id: number): Promise<VmStats> {
    const row = await this.findVisible(identity, id);
    if (row.status !== 'running' || row.destroyed_at) throw new AppError(409, 'vm_not_running', `VM ${row.name} is ${row.status}: it has no usage to report`);
    const driver = await this.d.drivers.forVm(row);
    if (!hasStats(driver)) throw conflict(`The ${driver.info().name} driver reports no usage`);
    const stats = await driver.stats(instanceId(row.id));
    if (!stats) throw new AppError(409, 'vm_not_running', `VM ${row.name} is not running on its host`);
    return {
      vm_id: row.id,
      sampled_at: this.d.clock.now().toISOString(),
      cpu_seconds: stats.cpuTimeNs / 1e9,
      memory_rss_bytes: stats.memoryRssBytes,
      disk_read_bytes: stats.disk.readBytes,
      disk_write_bytes: stats.disk.writeBytes,
      network_rx_bytes: stats.network?.rxBytes ?? null,
      network_tx_bytes: stats.network?.txBytes ?? null,
    };
  }

  async act(identity: Identity, id: number, req: VmActionRequest, ctx: RequestContext): Promise<Action> {
    const row = await this.findVisible(identity, id);
    const type: ActionType = req.action === 'restart' ? 'reboot' : req.action;
    // A user suspended for lack of credits starts nothing until a top-up.
    if (type === 'start') assertNotSuspended((await this.d.users.findById(row.user_id))!);
    const message = `${identity.user.username} asked to ${req.action} VM ${row.name}${req.force ? ' (forced)' : ''}${asked(type, req)}`;
    const by = { userId: identity.user.id, username: identity.user.username, sourceIp: ctx.ip, message };
    if (!isMaintenance(type)) return this.run(row, type, req.force === true, by);
    this.maintenance.validate(row, type, req);
    // A resize is admitted against the quotas like a launch: one at a time (see admission).
    const admit = (current: VmRow) => (type === 'resize' ? this.admission.runExclusive(() => this.maintenance.admit(current, type, req)) : this.maintenance.admit(current, type, req));
    return this.run(row, type, false, by, admit);
  }

  /**
   * Stops or destroys any user's VM for an admin (the admin panel) or for the system (billing
   * suspension): no ownership check, the caller already decided. Same lock and rules as act().
   */
  async enforce(id: number, type: 'stop' | 'destroy', force: boolean, by: ActingFor): Promise<Action> {
    const row = await this.d.vms.find(id);
    if (!row) throw notFound('VM');
    return this.run(row, type, force, by);
  }

  /**
   * An admin's move of a VM to another compute host (a cold migration) run as the VM's action: the
   * same lock, lease, log, events and takeover as any action. admit runs under the lock and the
   * admission lock (the target's room is counted as a launch's is) and returns the work.
   */
  async move(id: number, by: ActingFor, admit: (current: VmRow, step: (text: string) => void) => Promise<Prepared>): Promise<Action> {
    const row = await this.d.vms.find(id);
    if (!row) throw notFound('VM');
    const step = (text: string) => this.d.ops.step(row, text);
    return this.run(row, 'migrate', false, by, (current) => this.admission.runExclusive(() => admit(current, step)));
  }

  /**
   * Stops every running VM of the given users (every user when undefined), forced: an emergency
   * or a suspension. A VM another action holds is skipped and reported, never waited for.
   */
  async stopAll(userIds: number[] | undefined, by: ActingFor): Promise<EmergencyStopResult> {
    const result: EmergencyStopResult = { requested: [], skipped: [] };
    const live = userIds === undefined ? await this.d.vms.listLive() : (await Promise.all(userIds.map((u) => this.d.vms.listLive(u)))).flat();
    for (const vm of live) {
      if (!ALLOWED.stop.includes(vm.status as VmStatus)) continue;
      try {
        const action = await this.enforce(vm.id, 'stop', true, by);
        result.requested.push({ vm_id: vm.id, name: vm.name, user_id: vm.user_id, action_id: action.id });
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        result.skipped.push({ vm_id: vm.id, name: vm.name, user_id: vm.user_id, reason: err.message });
      }
    }
    return result;
  }

  /**
   * Takes the VM's lock, checks the action fits its status (and, for snapshot, restore, resize and
   * rebuild, what admit checks under the lock), and dispatches it.
   */
  private async run(row: VmRow, type: ActionType, force: boolean, by: ActingFor, admit?: (current: VmRow) => Promise<Prepared>): Promise<Action> {
    const { vms, actions, ops, events } = this.d;
    const id = row.id;
    if (row.destroyed_at) throw conflict('This VM has been destroyed');
    const host = await this.d.hosts.hostOf(row);
    if (host && host.enabled !== 1) throw conflict(`Compute host ${host.name} is disabled (out of service): ask an administrator to enable it`);
    const now = this.d.clock.now().toISOString();
    if (!(await vms.tryLock(id, now))) throw conflict('Another action is in progress on this VM; wait for it to finish');
    // Whatever fails between taking the lock and dispatching the action must release it.
    let prepared: Prepared | undefined;
    const { current, action } = await (async () => {
      const current = (await vms.find(id))!;
      if (!ALLOWED[type].includes(current.status as VmStatus)) throw conflict(VmMaintenance.statusMessage(type, current.status) ?? `Cannot ${type} a VM that is ${current.status}`);
      prepared = await admit?.(current);
      // A destroy is written down before it is answered: were the server killed right after the
      // 202, the reconciler finds the VM `destroying` and finishes it (it would keep a VM whose
      // destroy was only in memory, and the user was told it is going away).
      if (type === 'destroy') await ops.setStatus(id, 'destroying');
      return { current, action: await actions.insert({ vmId: id, userId: row.user_id, type, now, forced: force && (type === 'stop' || type === 'reboot') }) };
    })().catch(async (err: unknown) => {
      await prepared?.abandon?.(err instanceof Error ? err.message : String(err)).catch(() => {});
      await vms.update(id, { locked: 0 });
      throw err;
    });
    await events.record({ type: 'vm', action: `vm.${type}_requested`, message: by.message, userId: by.userId, username: by.username, vmId: id, sourceIp: by.sourceIp });
    const work: Partial<Record<ActionType, () => Promise<void>>> = { start: () => ops.start(current), stop: () => ops.stop(current, force), reboot: () => ops.reboot(current, force), destroy: () => ops.destroy(current), create: () => ops.provision(current) };
    ops.dispatch(current, action, prepared?.work ?? work[type] ?? (() => Promise.reject(new Error(`${type} cannot run without its admission`))));
    return action;
  }

}

/** Who an action is run for, as its events name them (userId null: the system). */
export interface ActingFor {
  userId: number | null;
  username: string | null;
  sourceIp?: string | null;
  message: string;
}

/** What a snapshot, restore, resize or rebuild request asked for, for its event. */
function asked(type: ActionType, req: VmActionRequest): string {
  if (type === 'snapshot') return `${req.name ? ` as ${req.name}` : ''}${req.memory ? ' with RAM' : ''}`;
  if (type === 'restore') return ` to snapshot #${req.snapshot_id}`;
  if (type === 'resize') return req.size ? ` to ${req.size}` : ` to ${[req.ram && `${req.ram} MB`, req.cpu && `${req.cpu} vCPU`, req.disk && `${req.disk} GB`].filter(Boolean).join(', ')}`;
  if (type === 'rebuild') return ` from ${req.image ?? 'its image'}`;
  return '';
}

