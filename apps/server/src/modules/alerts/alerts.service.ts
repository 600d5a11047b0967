import type { Alert, AlertEntity, AlertPolicy, AlertsQuery, CreateAlertPolicyRequest, UpdateAlertPolicyRequest } from '@twarga/contract';
import { Mutex } from 'async-mutex';
import type { ExclusiveLock } from '../../lib/cluster-lock.js';
import { badRequest, forbidden, notFound, quotaExceeded } from '../../http/errors.js';
import type { Clock } from '../../lib/time.js';
import type { Identity } from '../auth/identity.js';
import type { AlertEngine } from './alert-engine.js';
import { isPercentMetric, metricsFor } from './alert-metrics.js';
import type { AlertsRepository, PolicyFields } from './alerts.repository.js';
import type { ChannelOwnership } from './notifier.js';

export interface AlertsPolicy {
  /** Alert policies a user may have. */
  maxPoliciesPerUser: number;
}

export interface AlertsServiceDeps {
  repo: AlertsRepository;
  engine: AlertEngine;
  /** VM rows (the vms module's repository): ownership of vm_ids and vm_id. */
  vms: { find(id: number): Promise<{ user_id: number; destroyed_at: string | null } | undefined> };
  /** The notifications module's answer to "are these channels this user's?". */
  channels: ChannelOwnership;
  clock: Clock;
  policy: AlertsPolicy;
  /** Serialises count-then-insert, so two creates cannot both take the last slot (across server processes: ClusterLocks). */
  admission?: ExclusiveLock;
}

const uniq = (ids: number[]) => [...new Set(ids)];

/** Alert policies (a user's for their VMs; host and system policies for admins) and the alerts they raised. */
export class AlertsService {
  private readonly admission: ExclusiveLock;

  constructor(private readonly d: AlertsServiceDeps) {
    this.admission = d.admission ?? new Mutex();
  }

  listPolicies(identity: Identity): Promise<AlertPolicy[]> {
    return this.d.repo.listPolicies(identity.user.id, identity.user.is_admin);
  }

  async getPolicy(identity: Identity, id: number): Promise<AlertPolicy> {
    const p = await this.d.repo.findPolicy(id);
    // Another user's policy is not found, whatever it is.
    if (!p || !visible(identity, p)) throw notFound('Alert policy');
    return p;
  }

  async createPolicy(identity: Identity, input: CreateAlertPolicyRequest): Promise<AlertPolicy> {
    if (input.entity === 'host' && !identity.user.is_admin) throw forbidden('Host alert policies are for administrators');
    const fields: PolicyFields = {
      user_id: identity.user.id,
      entity: input.entity,
      metric: input.metric,
      compare: input.compare,
      value: input.value,
      window: input.window ?? '5m',
      vm_ids: uniq(input.vm_ids ?? []),
      channel_ids: uniq(input.channel_ids ?? []),
      description: (input.description ?? '').trim(),
      enabled: input.enabled ?? true,
    };
    await this.validate(identity, fields, { metric: true, value: true, vm_ids: true, channel_ids: true });
    const policy = await this.admission.runExclusive(async () => {
      if ((await this.d.repo.countPolicies(identity.user.id)) >= this.d.policy.maxPoliciesPerUser) {
        throw quotaExceeded(`at most ${this.d.policy.maxPoliciesPerUser} alert policies per user; delete one you no longer use`);
      }
      return this.d.repo.insertPolicy(fields, this.d.clock.now().toISOString());
    });
    await this.d.engine.reload();
    return policy;
  }

  async updatePolicy(identity: Identity, id: number, patch: UpdateAlertPolicyRequest): Promise<AlertPolicy> {
    const before = await this.getPolicy(identity, id);
    const changes: Partial<PolicyFields> = { ...patch };
    if (patch.vm_ids) changes.vm_ids = uniq(patch.vm_ids);
    if (patch.channel_ids) changes.channel_ids = uniq(patch.channel_ids);
    if (patch.description !== undefined) changes.description = patch.description.trim();
    const after: PolicyFields = { ...before, ...changes };
    await this.validate(identity, after, {
      metric: patch.metric !== undefined,
      value: patch.metric !== undefined || patch.value !== undefined,
      vm_ids: patch.vm_ids !== undefined,
      channel_ids: patch.channel_ids !== undefined,
    });
    const updated = await this.d.repo.updatePolicy(id, changes, this.d.clock.now().toISOString());
    if (!updated) throw notFound('Alert policy');
    // Open alerts of a condition that no longer holds resolve; then the evaluator follows the new policy.
    if (!updated.enabled && before.enabled) await this.d.engine.policyChanged(id, 'the policy was disabled');
    else if (before.metric !== updated.metric || before.compare !== updated.compare || before.value !== updated.value || before.window !== updated.window) {
      await this.d.engine.policyChanged(id, 'the policy changed');
    } else if (patch.vm_ids) {
      const watched = new Set(updated.vm_ids);
      await this.d.engine.policyChanged(id, 'the VM is no longer watched by the policy', (vmId) => updated.vm_ids.length === 0 || (vmId !== null && watched.has(vmId)));
    } else await this.d.engine.reload();
    return updated;
  }

  async deletePolicy(identity: Identity, id: number): Promise<void> {
    await this.getPolicy(identity, id);
    if (!(await this.d.repo.deletePolicy(id))) throw notFound('Alert policy');
    await this.d.engine.policyChanged(id, 'the policy was deleted');
  }

  /** Users: the alerts of their VMs. Admins: every alert, host alerts included. */
  async listAlerts(identity: Identity, q: AlertsQuery): Promise<Alert[]> {
    const admin = identity.user.is_admin;
    if (q.vm_id !== undefined && !admin) {
      const vm = await this.d.vms.find(q.vm_id);
      if (!vm || vm.user_id !== identity.user.id) throw notFound('VM');
    }
    return this.d.repo.listAlerts({
      userId: admin ? undefined : identity.user.id,
      vmId: q.vm_id,
      state: q.state === 'all' ? undefined : (q.state as 'open' | 'resolved' | undefined),
      limit: q.limit ?? 100,
    });
  }

  raiseCondition = (c: { userId: number; vmId: number; metric: string; message: string }) => this.d.engine.raiseCondition(c);
  clearCondition = (c: { vmId: number; metric: string; message: string }) => this.d.engine.clearCondition(c);

  private async validate(identity: Identity, p: PolicyFields, check: { metric: boolean; value: boolean; vm_ids: boolean; channel_ids: boolean }): Promise<void> {
    const valid = metricsFor(p.entity as AlertEntity);
    if (check.metric && !valid.includes(p.metric)) {
      throw badRequest(`Unknown metric "${p.metric}" for a ${p.entity} policy: valid metrics are ${valid.join(', ')}`, [{ field: 'metric', message: `must be one of ${valid.join(', ')}` }]);
    }
    if (check.value) {
      if (isPercentMetric(p.metric) && (p.value < 0 || p.value > 100)) throw badRequest(`${p.metric} is a percentage: value must be between 0 and 100`, [{ field: 'value', message: 'must be between 0 and 100' }]);
      if (p.value < 0) throw badRequest('value must not be negative', [{ field: 'value', message: 'must be at least 0' }]);
    }
    if (check.vm_ids && p.vm_ids.length > 0) {
      if (p.entity === 'host') throw badRequest('vm_ids apply to VM policies only', [{ field: 'vm_ids', message: 'must be empty for a host policy' }]);
      for (const vmId of p.vm_ids) {
        const vm = await this.d.vms.find(vmId);
        // Only one's own VMs, like SSH keys on a new VM: another user's VM is not one of yours.
        if (!vm || vm.user_id !== p.user_id || vm.destroyed_at) throw badRequest(`VM ${vmId} is not one of your VMs`, [{ field: 'vm_ids', message: `${vmId} is not one of your VMs` }]);
      }
    }
    if (check.channel_ids && p.channel_ids.length > 0) {
      // A system policy's channels are those of the admin who sets them.
      const notOwned = await this.d.channels(p.user_id ?? identity.user.id, p.channel_ids);
      if (notOwned.length > 0) {
        throw badRequest(`Notification channel ${notOwned.join(', ')} is not one of your channels`, notOwned.map((id) => ({ field: 'channel_ids', message: `${id} is not one of your channels` })));
      }
    }
  }
}

/** Own policies; for admins also the system policies and every host policy. */
function visible(identity: Identity, p: AlertPolicy): boolean {
  return p.user_id === identity.user.id || (identity.user.is_admin && (p.user_id === null || p.entity === 'host'));
}
