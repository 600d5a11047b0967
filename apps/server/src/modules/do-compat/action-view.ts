import type { Action, ActionType, VmActionRequest } from '@twarga/contract';
import { doDate, type DoRegion } from './catalog-view.js';

/** An action as godo decodes it (action.go). */
export interface DoAction {
  id: number;
  status: 'in-progress' | 'completed' | 'errored';
  type: string;
  started_at: string;
  completed_at: string | null;
  resource_id: number;
  resource_type: 'droplet';
  region: DoRegion;
  region_slug: string;
}

/** The droplet actions /v2 takes, and the VM action each one is. */
export const DO_ACTION_TYPES = ['power_on', 'power_off', 'shutdown', 'reboot', 'power_cycle'] as const;
export type DoActionType = (typeof DO_ACTION_TYPES)[number];

export function toVmAction(type: DoActionType): Pick<VmActionRequest, 'action' | 'force'> {
  switch (type) {
    case 'power_on': return { action: 'start' };
    case 'power_off': return { action: 'stop', force: true };
    case 'shutdown': return { action: 'stop' };
    case 'reboot': return { action: 'reboot' };
    case 'power_cycle': return { action: 'reboot', force: true };
  }
}

/** Our stored action types as DO's (a forced stop is power_off, a forced reboot power_cycle). */
const DO_TYPE: Record<ActionType, string> = {
  create: 'create', start: 'power_on', stop: 'shutdown', reboot: 'reboot', destroy: 'destroy',
  snapshot: 'snapshot', restore: 'restore', resize: 'resize', rebuild: 'rebuild', migrate: 'migrate',
};

const doType = (action: Action) => (action.forced && action.type === 'stop' ? 'power_off' : action.forced && action.type === 'reboot' ? 'power_cycle' : DO_TYPE[action.type]);

export function toDoAction(action: Action, region: DoRegion): DoAction {
  return {
    id: action.id,
    status: action.status,
    type: doType(action),
    started_at: doDate(action.started_at),
    completed_at: action.completed_at ? doDate(action.completed_at) : null,
    resource_id: action.vm_id,
    resource_type: 'droplet',
    region,
    region_slug: region.slug,
  };
}
