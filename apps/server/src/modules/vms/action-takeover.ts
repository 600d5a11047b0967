import type { FastifyBaseLogger } from 'fastify';
import type { Action } from '@twarga/contract';
import { instanceId, type InstanceInspection } from '../../compute/driver.js';
import type { ComputeRegistry } from '../../compute/registry.js';
import type { Clock } from '../../lib/time.js';
import type { ActionsRepository } from '../../operations/actions.repository.js';
import type { EventLog } from '../events/event-log.js';
import type { VmOperations } from './vm-operations.js';
import type { VmRow, VmsRepository } from './vms.repository.js';

/**
 * Finishes actions whose server process died (their lease ran out, or, on SQLite, the server
 * restarted). The same action goes on, so whoever polls it sees it end: create and destroy run
 * again (both are idempotent), start, stop and reboot are done again unless the hypervisor shows
 * them done, and snapshot, restore, resize and rebuild end errored with the VM as its hypervisor
 * has it (half of such a change cannot be trusted). The VM's lock passes to the new runner.
 */
export class ActionTakeover {
  constructor(
    private readonly d: {
      vms: VmsRepository;
      actions: ActionsRepository;
      drivers: ComputeRegistry;
      ops: VmOperations;
      events: EventLog;
      clock: Clock;
      log: FastifyBaseLogger;
    },
  ) {}

  /** Claims what nobody runs any more and carries each action on; returns how many. */
  async run(opts: { everyone?: boolean } = {}): Promise<number> {
    const { actions, ops, log } = this.d;
    const claimed = await actions.claimAbandoned({ ...opts, running: ops.runningActionIds() });
    for (const action of claimed) {
      // One action that cannot be carried on must not hold up the others: it is given back, and
      // the next pass tries again.
      await this.carryOn(action, action.previousRunner).catch(async (err: unknown) => {
        log.warn({ err, action: action.id }, 'taking over an action failed; the next pass tries again');
        await actions.release(action.id).catch(() => {});
      });
    }
    return claimed.length;
  }

  private async carryOn(action: Action, previousRunner: string | null): Promise<void> {
    const { vms, actions, ops, events, clock, log } = this.d;
    const now = clock.now().toISOString();
    const row = await vms.find(action.vm_id);
    if (!row || row.destroyed_at) {
      const done = action.type === 'destroy';
      await actions.finish(action.id, { status: done ? 'completed' : 'errored', error: done ? undefined : 'the VM was destroyed meanwhile', now });
      return;
    }
    log.warn({ vm: row.id, action: action.type, action_id: action.id, previous_runner: previousRunner }, 'taking over an action whose server process stopped');
    const locked = await vms.update(row.id, { locked: 1, updated_at: now });
    await events.record({
      type: 'vm', severity: 'warning', action: 'vm.action_taken_over', userId: row.user_id, vmId: row.id,
      message: `VM ${row.name}: its ${action.type} is carried on (the server process running it stopped)`,
      details: { action_id: action.id, previous_runner: previousRunner },
    });
    const state = await this.inspect(locked);
    const work = this.workFor(action, locked, state);
    ops.dispatch(locked, action, async () => {
      ops.step(locked, `Carried on: the server process running this ${action.type} stopped`);
      await work();
    });
  }

  private async inspect(row: VmRow): Promise<InstanceInspection | undefined> {
    const driver = await this.d.drivers.forVm(row).catch(() => undefined);
    return driver?.inspect(instanceId(row.id)).catch(() => undefined);
  }

  private workFor(action: Action, row: VmRow, state: InstanceInspection | undefined): () => Promise<void> {
    const { ops } = this.d;
    const running = state?.state === 'running';
    const adopt = async () => {
      ops.step(row, 'The VM runs on its host: adopted as running');
      await ops.markRunning(row, state!);
    };
    switch (action.type) {
      case 'create':
        return running ? adopt : () => ops.resume(row, 'create');
      case 'destroy':
        return () => ops.resume(row, 'destroy');
      case 'start':
        return running ? adopt : () => ops.start(row);
      case 'stop':
        if (state?.state === 'stopped') return async () => void (await ops.setStatus(row.id, 'stopped', { booted_at: null, status_reason: null }));
        return () => ops.stop(row, action.forced);
      case 'reboot':
        // Whether the reboot happened before the process died is unknown: rebooting again keeps the promise.
        return running ? () => ops.reboot(row, action.forced) : interrupted(action);
      default:
        return interrupted(action);
    }
  }
}

const interrupted = (action: Action) => () =>
  Promise.reject(new Error(`interrupted: the server process running this ${action.type} stopped; the VM is left as its hypervisor has it`));
