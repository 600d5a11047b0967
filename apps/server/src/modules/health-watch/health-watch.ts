import type { FastifyBaseLogger } from 'fastify';
import type { VmHealth } from '@twarga/contract';
import { instanceId } from '../../compute/driver.js';
import type { ComputeRegistry } from '../../compute/registry.js';
import { Periodic } from '../../lib/periodic.js';
import type { Clock } from '../../lib/time.js';
import type { BusMessage, LiveBus } from '../../operations/live-bus.js';
import type { EventLog } from '../events/event-log.js';
import { currentHealth, internalSshEndpointOf, toVm } from '../vms/vm-view.js';
import type { VmRow, VmsRepository } from '../vms/vms.repository.js';
import type { HealthPatch, HealthRepository } from './health.repository.js';
import type { OwnConnectionRegistry } from '../../lib/own-connection.js';
import { sshBannerAnswers } from './ssh-banner.js';

/**
 * What the health watch needs of the alerts module: a policy-less alert for a condition, opened
 * and resolved idempotently (AlertsService.raiseCondition / clearCondition).
 */
export interface ConditionAlerts {
  raiseCondition(c: { userId: number; vmId: number; metric: string; message: string }): Promise<void>;
  clearCondition(c: { vmId: number; metric: string; message: string }): Promise<void>;
}

/** The alert's metric name for an unresponsive VM (boot watchdog or lost proof of life). */
export const UNRESPONSIVE_METRIC = 'unresponsive';

/** What proved the guest alive: its agent answered guest-ping, or its SSH server sent a banner. */
export type ProofSource = 'guest-agent' | 'ssh';

export interface HealthPolicy {
  /** No proof of life for this long after having been responsive: unresponsive. */
  unresponsiveSeconds: number;
  /** Not responsive this long after its start (or a watchdog reset): the boot watchdog fires. */
  bootWatchdogSeconds: number;
  /** How long an SSH banner may take to arrive. */
  sshProbeTimeoutMs: number;
}

export interface HealthWatchDeps {
  repo: HealthRepository;
  /** The VM lock, so a watchdog reset never overlaps a user's action. */
  vms: Pick<VmsRepository, 'tryLock' | 'unlock'>;
  drivers: Pick<ComputeRegistry, 'forVm'>;
  bus: LiveBus;
  events: Pick<EventLog, 'record'>;
  alerts: ConditionAlerts;
  clock: Clock;
  log: FastifyBaseLogger;
  sshHost: string;
  policy: HealthPolicy;
  /** The SSH banner check; tests may count its calls. */
  probeSsh?: (host: string, port: number, timeoutMs: number, vmId: number) => Promise<boolean>;
  /** The SOC's register of our own SSH connections: banner probes are never an attack. */
  ownConnections?: OwnConnectionRegistry;
}

interface Proof {
  at: number;
  source: ProofSource;
}

/**
 * A running VM's health, apart from its hypervisor status (issue 10):
 * booting (from its start until the first proof of life) → responsive (its guest agent answers,
 * seen in the collector's samples on the bus; or, for a guest without an agent, its SSH banner)
 * → unresponsive (no proof for unresponsiveSeconds, or none within bootWatchdogSeconds of its
 * start: the boot watchdog). Transitions are stored (vms.health…), pushed to the owner's live
 * channel, recorded as events, and unresponsive opens an alert that the next proof resolves.
 * With watchdog_reset, an unresponsive VM is hard-reset once per boot (then booting again).
 *
 * Once the agent has answered in a boot, only the agent counts for that boot: an SSH server that
 * still answers must not hide a dead agent (the agent-sourced metrics are gone too).
 * Proofs of life are kept in memory: after a server restart every VM gets a fresh grace period.
 */
export class HealthWatch {
  private readonly periodic: Periodic;

  /** The periodic pass, for the admin's system health (when it last ran). */
  get job(): Periodic {
    return this.periodic;
  }
  private readonly proofs = new Map<number, Proof>();
  /** Per VM, the time from which its clocks run again (a paused guest cannot answer). */
  private readonly grace = new Map<number, number>();
  private readonly known = new Map<number, VmHealth>();
  private readonly chains = new Map<number, Promise<void>>();
  private readonly startedAt: number;
  private unsubscribe?: () => void;
  private readonly probe: NonNullable<HealthWatchDeps['probeSsh']>;

  constructor(private readonly d: HealthWatchDeps) {
    this.periodic = new Periodic('health watch', () => this.passOnce(), d.log);
    this.startedAt = d.clock.now().getTime();
    const own = d.ownConnections;
    this.probe = d.probeSsh ?? ((host, port, timeoutMs, vmId) => sshBannerAnswers(host, port, timeoutMs, own && { vmId, registry: own }));
  }

  /** Listens to the collector's samples (agent proofs); the periodic pass is started separately. */
  listen(): void {
    // Leader only: the health watch's jobs run on the leader, which judges each sample once in the cluster.
    // VM changes from every process keep its view of each VM's health; taking over, it starts that view afresh.
    this.unsubscribe ??= this.d.bus.subscribeLeader((m) => this.onMessage(m), { onLeading: () => this.known.clear() });
  }

  start(intervalMs: number): void {
    this.listen();
    this.periodic.start(intervalMs);
  }

  stop(): void {
    this.periodic.stop();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** One pass over every VM now (skipped if one runs). */
  pass(): Promise<void> {
    return this.periodic.run();
  }

  /** Resolves when every queued check has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.chains.size) await Promise.allSettled([...this.chains.values()]);
  }

  private onMessage({ event }: BusMessage): void {
    // Every VM change is published with its current health (a reboot makes it booting at once).
    if (event.kind === 'vm') {
      if (event.vm.health) this.known.set(event.vm.id, event.vm.health);
      else this.known.delete(event.vm.id);
      return;
    }
    if (event.kind !== 'metrics' || event.entity !== 'vm' || event.sample.guest_agent !== true) return;
    this.proofs.set(event.vm_id, { at: this.d.clock.now().getTime(), source: 'guest-agent' });
    // A VM not yet known as responsive changes at once rather than at the next pass.
    if (this.known.get(event.vm_id) !== 'responsive') void this.serial(event.vm_id, () => this.check(event.vm_id, false));
  }

  private async passOnce(): Promise<void> {
    const { repo } = this.d;
    const [watched, left] = await Promise.all([repo.watchedIds(), repo.leftIds()]);
    await Promise.all([...watched, ...left].map((id) => this.serial(id, () => this.check(id, true))));
  }

  /** One check at a time per VM: a pass and an agent's answer never judge the same VM at once. */
  private serial(vmId: number, fn: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(vmId) ?? Promise.resolve())
      .then(fn)
      .catch((err: unknown) => this.d.log.warn({ err, vm: vmId }, 'VM health check failed'))
      .finally(() => {
        if (this.chains.get(vmId) === next) this.chains.delete(vmId);
      });
    this.chains.set(vmId, next);
    return next;
  }

  private async check(vmId: number, mayProbe: boolean): Promise<void> {
    const row = await this.d.repo.find(vmId);
    if (!row) return;
    const now = this.d.clock.now().getTime();
    if (row.status === 'paused' && !row.destroyed_at) {
      // Its hypervisor halted the guest: it cannot answer, and that is its status's business.
      this.grace.set(vmId, now);
      return;
    }
    if (row.status !== 'running' || row.destroyed_at) return this.forget(row);
    await this.judge(row, now, mayProbe);
  }

  /** The VM stopped running: its health goes, and so does an open unresponsive alert. */
  private async forget(row: VmRow): Promise<void> {
    this.proofs.delete(row.id);
    this.grace.delete(row.id);
    this.known.delete(row.id);
    if (row.health === null) return;
    await this.d.repo.clear(row.id);
    if (row.health === 'unresponsive' || row.watchdog_reset_at) {
      await this.d.alerts.clearCondition({ vmId: row.id, metric: UNRESPONSIVE_METRIC, message: `VM ${row.name} is ${row.destroyed_at ? 'destroyed' : row.status}` });
    }
  }

  private async judge(stored: VmRow, checkedAt: number, mayProbe: boolean): Promise<void> {
    let now = checkedAt;
    const { policy } = this.d;
    let row = stored;
    const boot = row.booted_at;
    if (row.health === null || row.health_boot !== boot) {
      // A new boot (start, reboot, adoption): booting from its start, nothing proven yet.
      const wasUnresponsive = row.health === 'unresponsive' || row.watchdog_reset_at !== null;
      const since = boot ?? new Date(now).toISOString();
      const saved = await this.d.repo.save(row.id, boot, { health: 'booting', health_since: since, health_boot: boot, health_source: null, watchdog_reset_at: null });
      if (!saved) return;
      row = saved;
      if (wasUnresponsive) await this.d.alerts.clearCondition({ vmId: row.id, metric: UNRESPONSIVE_METRIC, message: `VM ${row.name} was restarted` });
    }
    const health = row.health as VmHealth;
    this.known.set(row.id, health);
    const sinceMs = Date.parse(row.health_since!);
    // Clocks run from the later of: the state's start, this server's start, the guest's last resume.
    const clockFrom = Math.max(sinceMs, this.startedAt, this.grace.get(row.id) ?? 0);
    const agentMode = row.health_source === 'guest-agent';
    let proof = this.proofs.get(row.id);
    if (proof && proof.source === 'ssh' && agentMode) proof = undefined;
    const fresh = (p: Proof | undefined) => p !== undefined && p.at >= sinceMs;

    // Without an agent (or before it first answers), the SSH banner is the proof; a responsive VM
    // is asked now and then, not every pass.
    const probeDue = health !== 'responsive' ? !fresh(proof) : !proof || now - proof.at >= (policy.unresponsiveSeconds * 1000) / 3;
    if (mayProbe && !agentMode && probeDue && !(proof?.source === 'guest-agent' && fresh(proof))) {
      // Straight to the VM's forward on loopback, never through the SSH gateway.
      const ssh = internalSshEndpointOf(row);
      if (ssh.port !== null && (await this.probe(ssh.host, ssh.port, policy.sshProbeTimeoutMs, row.id))) {
        proof = { at: this.d.clock.now().getTime(), source: 'ssh' };
        // An agent's answer that came meanwhile stays: it is the stronger proof.
        if (this.proofs.get(row.id)?.source !== 'guest-agent') this.proofs.set(row.id, proof);
      }
      // A silent forward costs the probe's timeout: judge the clocks at the time it ended.
      now = this.d.clock.now().getTime();
    }

    if (health === 'booting' || health === 'unresponsive') {
      if (fresh(proof)) return this.becomeResponsive(row, proof!, now);
      if (health === 'booting' && now - clockFrom >= policy.bootWatchdogSeconds * 1000) return this.watchdogFired(row, now);
      if (health === 'unresponsive') await this.maybeReset(row, now);
      return;
    }
    // responsive
    if (proof?.source === 'guest-agent' && !agentMode && fresh(proof)) await this.d.repo.save(row.id, boot, { health_source: 'guest-agent' });
    const lastAlive = Math.max(proof?.at ?? 0, clockFrom);
    if (now - lastAlive >= policy.unresponsiveSeconds * 1000) await this.becomeUnresponsive(row, now, agentMode || proof?.source === 'guest-agent');
  }

  private async becomeResponsive(row: VmRow, proof: Proof, now: number): Promise<void> {
    const saved = await this.transition(row, { health: 'responsive', health_since: iso(now), health_source: proof.source });
    if (!saved) return;
    const via = proof.source === 'guest-agent' ? 'its guest agent answers' : 'its SSH server answers';
    await this.d.events.record({ type: 'vm', action: 'vm.health.responsive', message: `VM ${row.name} is responsive: ${via}`, userId: row.user_id, vmId: row.id, details: { source: proof.source, was: row.health } });
    if (row.health === 'unresponsive' || row.watchdog_reset_at) {
      await this.d.alerts.clearCondition({ vmId: row.id, metric: UNRESPONSIVE_METRIC, message: `VM ${row.name} answers again (${via})` });
    }
  }

  private async watchdogFired(row: VmRow, now: number): Promise<void> {
    const seconds = this.d.policy.bootWatchdogSeconds;
    const saved = await this.transition(row, { health: 'unresponsive', health_since: iso(now) });
    if (!saved) return;
    const after = row.watchdog_reset_at ? 'its watchdog reset' : 'its start';
    const message = `VM ${row.name} did not become responsive within ${seconds} s of ${after} (no guest agent or SSH answer): boot watchdog`;
    await this.d.events.record({ type: 'vm', severity: 'warning', action: 'vm.boot_watchdog', message, userId: row.user_id, vmId: row.id, details: { watchdog_seconds: seconds, after_reset: row.watchdog_reset_at !== null } });
    await this.d.alerts.raiseCondition({ userId: row.user_id, vmId: row.id, metric: UNRESPONSIVE_METRIC, message });
    await this.maybeReset(saved, now);
  }

  private async becomeUnresponsive(row: VmRow, now: number, agent: boolean): Promise<void> {
    const seconds = this.d.policy.unresponsiveSeconds;
    const saved = await this.transition(row, { health: 'unresponsive', health_since: iso(now) });
    if (!saved) return;
    const what = agent ? 'its guest agent' : 'its SSH server';
    const message = `VM ${row.name} is unresponsive: ${what} has not answered for ${seconds} s`;
    await this.d.events.record({ type: 'vm', severity: 'warning', action: 'vm.health.unresponsive', message, userId: row.user_id, vmId: row.id, details: { source: agent ? 'guest-agent' : 'ssh', unresponsive_seconds: seconds } });
    await this.d.alerts.raiseCondition({ userId: row.user_id, vmId: row.id, metric: UNRESPONSIVE_METRIC, message });
    await this.maybeReset(saved, now);
  }

  /**
   * The opt-in reset: once per boot (watchdog_reset_at), under the VM's lock (never during a
   * user's action; tried again on the next pass), then booting again from now. A reset that fails
   * counts as done, so a broken hypervisor is not hammered every pass.
   */
  private async maybeReset(row: VmRow, now: number): Promise<void> {
    if (row.watchdog_reset !== 1 || row.watchdog_reset_at !== null) return;
    const at = iso(now);
    if (!(await this.d.vms.tryLock(row.id, at))) return;
    let failure: string | undefined;
    try {
      const driver = await this.d.drivers.forVm(row);
      // A hard reset: QMP system_reset on qemu, virsh reset on libvirt (the drivers' forced reboot).
      await driver.reboot(instanceId(row.id), { force: true });
    } catch (err) {
      failure = err instanceof Error ? err.message : String(err);
    } finally {
      await this.d.vms.unlock(row.id, this.d.clock.now().toISOString());
    }
    if (failure !== undefined) {
      this.d.log.warn({ vm: row.id, err: failure }, 'watchdog reset failed');
      await this.d.repo.save(row.id, row.booted_at, { watchdog_reset_at: at });
      await this.d.events.record({ type: 'vm', severity: 'warning', action: 'vm.watchdog_reset_failed', message: `VM ${row.name}: the watchdog reset failed`, userId: row.user_id, vmId: row.id, details: { reason: failure.slice(0, 2000) } });
      return;
    }
    this.proofs.delete(row.id);
    await this.transition(row, { health: 'booting', health_since: at, health_source: null, watchdog_reset_at: at });
    await this.d.events.record({ type: 'vm', severity: 'warning', action: 'vm.watchdog_reset', message: `VM ${row.name} was unresponsive and has been reset (once per boot: watchdog_reset)`, userId: row.user_id, vmId: row.id });
  }

  /** Stores a transition of the same boot and pushes the VM to its owner; undefined if the boot changed meanwhile. */
  private async transition(row: VmRow, patch: HealthPatch): Promise<VmRow | undefined> {
    const saved = await this.d.repo.save(row.id, row.booted_at, patch);
    if (!saved) return undefined;
    const health = currentHealth(saved).health;
    if (health) this.known.set(saved.id, health);
    this.d.bus.publish(saved.user_id, { kind: 'vm', vm: toVm(saved, this.d.sshHost, this.d.clock.now()) });
    return saved;
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
