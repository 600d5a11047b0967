import type { QueryClient } from '@tanstack/react-query';
import type { ActionLog, Alert, MetricsHistory, StreamEvent, Vm } from '@twarga/contract';
import { keys } from '../api';
import { hostValues, vmValues } from '@twarga/contract/browser';
import { appendSample, LIVE_RANGE, upsertAlert } from '../pages/monitor/liveMetrics';
import { publishRecordedEvent } from './recordedEvents';

/** The message's data as a StreamEvent, or undefined when it is not one (ignored). */
export function parseStreamEvent(data: unknown): StreamEvent | undefined {
  if (typeof data !== 'string') return undefined;
  try {
    const parsed = JSON.parse(data) as Partial<StreamEvent> | null;
    if (!parsed || typeof parsed !== 'object') return undefined;
    if (parsed.kind === 'vm' && parsed.vm && typeof parsed.vm.id === 'number') return parsed as StreamEvent;
    if (parsed.kind === 'action' && parsed.action && typeof parsed.action.vm_id === 'number') return parsed as StreamEvent;
    if (parsed.kind === 'action_log' && typeof parsed.action_id === 'number' && typeof parsed.line?.line === 'string') return parsed as StreamEvent;
    if (parsed.kind === 'hello') return parsed as StreamEvent;
    if (parsed.kind === 'revoked' && typeof parsed.message === 'string') return parsed as StreamEvent;
    if (parsed.kind === 'metrics' && parsed.entity === 'host' && typeof parsed.sample?.sampled_at === 'string') return parsed as StreamEvent;
    if (parsed.kind === 'metrics' && parsed.entity === 'vm' && typeof parsed.vm_id === 'number' && parsed.sample && typeof parsed.sample.sampled_at === 'string') return parsed as StreamEvent;
    if (parsed.kind === 'alert' && typeof parsed.alert?.id === 'number' && typeof parsed.alert.state === 'string') return parsed as StreamEvent;
    if (parsed.kind === 'event' && typeof parsed.event?.id === 'number' && typeof parsed.event.action === 'string') return parsed as StreamEvent;
  } catch {
    // Not JSON (a comment or keep-alive the server might send): nothing to do.
  }
  return undefined;
}

const newer = (a: Vm, b: Vm) => Date.parse(a.updated_at) > Date.parse(b.updated_at);

/** Puts one pushed VM into the cache: its own entry and its row in the list. */
function applyVm(queryClient: QueryClient, vm: Vm): void {
  const cached = queryClient.getQueryData<Vm>(keys.vm(vm.id));
  // Events can overtake a slower GET; never let an older snapshot win.
  if (!cached || !newer(cached, vm)) queryClient.setQueryData(keys.vm(vm.id), vm);

  const list = queryClient.getQueryData<Vm[]>(keys.vms);
  if (!list) return; // the list is not loaded: it will be fetched fresh when needed
  if (list.some((v) => v.id === vm.id)) {
    queryClient.setQueryData<Vm[]>(keys.vms, list.map((v) => (v.id === vm.id && !newer(v, vm) ? vm : v)));
  } else {
    void queryClient.invalidateQueries({ queryKey: keys.vms, exact: true });
  }
}

/**
 * Loads a query again even while its first load is in flight: invalidating alone would join that
 * load, whose answer may be older than the event that asked for a new one.
 */
function reload(queryClient: QueryClient, queryKey: readonly unknown[]): void {
  void queryClient.cancelQueries({ queryKey }).then(() => queryClient.invalidateQueries({ queryKey }));
}

/**
 * A pushed sample: the latest values of whoever shows them, and one more point on every live (1h)
 * history of that host or VM in the cache. No refetch: a sample every 5 s stays one small event.
 */
function applySample(queryClient: QueryClient, entity: 'host' | 'vm', id: number, latestKey: readonly unknown[], sample: unknown, values: Record<string, number | null>, t: string): void {
  if (queryClient.getQueryState(latestKey)) queryClient.setQueryData(latestKey, sample);
  for (const [key, history] of queryClient.getQueriesData<MetricsHistory>({ queryKey: ['metrics-history', entity, id, LIVE_RANGE] })) {
    // A history still loading for the first time: its answer will include this sample.
    if (history) queryClient.setQueryData<MetricsHistory>(key, appendSample(history, t, values));
  }
}

/** Applies one server-sent event to the TanStack Query cache. */
export function applyStreamEvent(queryClient: QueryClient, event: StreamEvent): void {
  switch (event.kind) {
    case 'vm':
      applyVm(queryClient, event.vm);
      // Started or stopped: its latest metrics change (a stopped VM has none); reload them if shown.
      void queryClient.invalidateQueries({ queryKey: keys.vmMetrics(event.vm.id) });
      return;
    case 'action': {
      const id = event.action.vm_id;
      void queryClient.invalidateQueries({ queryKey: keys.vmActions(id) });
      void queryClient.invalidateQueries({ queryKey: keys.vm(id) });
      // A snapshot action adds or settles a snapshot; a restore, create or destroy changes what the lists show.
      void queryClient.invalidateQueries({ queryKey: keys.snapshots });
      // Its whole log is stored by the time it ends: load it again, so no line pushed meanwhile is missing.
      if (event.action.status !== 'in-progress') reload(queryClient, keys.actionLog(event.action.id));
      // Creating and running VMs costs credits.
      void queryClient.invalidateQueries({ queryKey: keys.me });
      void queryClient.invalidateQueries({ queryKey: keys.ledger });
      return;
    }
    case 'action_log': {
      // Only a log someone is looking at is kept up to date; a closed one loads whole when opened.
      const key = keys.actionLog(event.action_id);
      const state = queryClient.getQueryState(key);
      if (!state) return;
      // Still loading for the first time: that answer may predate this line.
      if (state.data === undefined) reload(queryClient, key);
      else queryClient.setQueryData<ActionLog>(key, (log) => log && { ...log, lines: [...log.lines, event.line] });
      return;
    }
    case 'metrics':
      if (event.entity === 'host') applySample(queryClient, 'host', 0, keys.hostMetrics, event.sample, hostValues(event.sample), event.sample.sampled_at);
      else if (event.sample.sampled_at) applySample(queryClient, 'vm', event.vm_id, keys.vmMetrics(event.vm_id), event.sample, vmValues(event.sample), event.sample.sampled_at);
      return;
    case 'alert':
      for (const [key, list] of queryClient.getQueriesData<Alert[]>({ queryKey: ['alerts'] })) {
        const [, state, vmId] = key as ReturnType<typeof keys.alerts>;
        if (list) queryClient.setQueryData<Alert[]>(key, upsertAlert(list, event.alert, state, vmId));
      }
      return;
    case 'hello':
      return;
    case 'event':
      // A recorded event (login, 403, VM lifecycle...): handed to the open SOC feed, if any.
      // Deliberately no refetch here, since every request may record one.
      publishRecordedEvent(event.event);
      return;
    case 'revoked':
      // The login or the admin rights behind the stream went: nothing cached may be trusted.
      // Refetching `me` sends a signed-out page to the login; everything else loads again (or fails).
      void queryClient.invalidateQueries();
      return;
  }
}

/** After a gap in the stream, anything may have changed: refetch what the events keep fresh. */
export function resyncAfterGap(queryClient: QueryClient): void {
  for (const key of [keys.vms, ['vm'], ['vm-actions'], keys.snapshots, keys.me, ['metrics'], ['metrics-history'], ['alerts'], ['soc']]) void queryClient.invalidateQueries({ queryKey: key });
}
