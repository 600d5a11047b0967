import type { EmergencyStopResult } from '@twarga/contract';
import { useEffect, useId, useMemo, useState } from 'react';
import { useSearchParams } from 'react-router';
import { errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { EmptyList } from '../../components/EmptyState';
import { Section } from '../../components/Section';
import { SkeletonRows, Spinner } from '../../components/Spinner';
import { button, input, muted } from '../../components/ui';
import { statusLabel } from '../vms/vmStatus';
import { AdminShell } from './AdminShell';
import { AdminVmsTable } from './AdminVmsTable';
import { EmergencyStopAllDialog, EmergencyStopOutcome } from './EmergencyStop';
import { Forbidden, isForbidden } from './Forbidden';
import { useHosts } from './hostsQueries';
import { Pager } from './Pager';
import { readVmsView, VM_HEALTHS, VM_STATUSES, vmsFiltered, VMS_PAGE_SIZE, vmsQuery, withParams } from './params';
import { useAdminVms } from './queries';
import { useDebounced } from './useDebounced';
import { VmActionDialog, type VmAction } from './VmActionDialog';

const label = 'mb-1 block text-xs font-medium text-slate-700 dark:text-slate-300';

function Vms() {
  const [params, setParams] = useSearchParams();
  const view = useMemo(() => readVmsView(params), [params]);
  const vms = useAdminVms(useMemo(() => vmsQuery(view), [view]));
  const hosts = useHosts();
  const id = useId();
  const set = (changes: Record<string, string | number | undefined>) => setParams((prev) => withParams(prev, { ...changes, page: undefined }));

  const [search, setSearch] = useState(view.q ?? '');
  const settled = useDebounced(search.trim(), 300);
  useEffect(() => {
    if (settled !== (view.q ?? '')) setParams((prev) => withParams(prev, { q: settled, page: undefined }), { replace: true });
    // eslint-disable-next-line react-hooks/exhaustive-deps -- only a settled search changes the URL
  }, [settled]);
  useEffect(() => setSearch((s) => (s.trim() === (view.q ?? '') ? s : (view.q ?? ''))), [view.q]);

  const [acting, setActing] = useState<VmAction>();
  const [actCount, setActCount] = useState(0);
  const [notice, setNotice] = useState<string>();
  const [stopAll, setStopAll] = useState(false);
  const [stopAllCount, setStopAllCount] = useState(0);
  const [result, setResult] = useState<EmergencyStopResult>();

  if (vms.isError && isForbidden(vms.error)) return <Forbidden />;
  const rows = vms.data?.rows ?? [];
  // The owner's name for the filter chip: any row has it (they are all theirs).
  const ownerName = view.owner_id !== undefined ? (rows.find((v) => v.user_id === view.owner_id)?.owner_username ?? `user #${view.owner_id}`) : undefined;

  return (
    <Section title="Virtual machines" description="Every user's VMs, refreshed every 10 s. Stop or destroy one that misbehaves; the owner is told. Stopped VMs still bill until destroyed.">
      <div className="mb-4 flex flex-wrap items-end gap-3">
        <form role="search" aria-label="Filter VMs" onSubmit={(e) => e.preventDefault()} className="flex flex-1 flex-wrap items-end gap-3">
          <div className="min-w-48 flex-1">
            <label htmlFor={`${id}-q`} className={label}>Search</label>
            <input id={`${id}-q`} type="search" className={input} placeholder="VM or owner name" maxLength={100} value={search} onChange={(e) => setSearch(e.target.value)} />
          </div>
          <div>
            <label htmlFor={`${id}-host`} className={label}>Host</label>
            <select id={`${id}-host`} className={input} value={view.host_id ?? ''} onChange={(e) => set({ host: e.target.value })}>
              <option value="">Any host</option>
              {view.host_id !== undefined && !hosts.data?.some((h) => h.id === view.host_id) && <option value={view.host_id}>Host #{view.host_id}</option>}
              {hosts.data?.map((h) => <option key={h.id} value={h.id}>{h.name}</option>)}
            </select>
          </div>
          <div>
            <label htmlFor={`${id}-status`} className={label}>Status</label>
            <select id={`${id}-status`} className={input} value={view.status ?? ''} onChange={(e) => set({ status: e.target.value })}>
              <option value="">Any status</option>
              {VM_STATUSES.filter((s) => s !== 'destroyed').map((s) => <option key={s} value={s}>{statusLabel(s, null)}</option>)}
            </select>
          </div>
          <div>
            <label htmlFor={`${id}-health`} className={label}>Health</label>
            <select id={`${id}-health`} className={input} value={view.health ?? ''} onChange={(e) => set({ health: e.target.value })}>
              <option value="">Any health</option>
              {VM_HEALTHS.map((h) => <option key={h} value={h}>{h}</option>)}
            </select>
          </div>
        </form>
        <button type="button" className={button.danger} onClick={() => { setStopAllCount((c) => c + 1); setStopAll(true); }}>
          Emergency stop all VMs
        </button>
      </div>
      {(ownerName || vmsFiltered(view)) && (
        <div className="mb-4 flex flex-wrap items-center gap-2 text-sm">
          {ownerName && (
            <span className="inline-flex items-center gap-1 rounded-full bg-indigo-50 px-3 py-1 text-indigo-900 dark:bg-indigo-950 dark:text-indigo-100">
              Owner: {ownerName}
              <button type="button" className="ml-1 rounded-full px-1 font-bold" aria-label="Show every owner's VMs" onClick={() => set({ owner: undefined })}>×</button>
            </span>
          )}
          <button type="button" className={button.ghost} onClick={() => { setSearch(''); setParams(new URLSearchParams()); }}>
            Clear filters
          </button>
        </div>
      )}
      {result && <EmergencyStopOutcome result={result} onDismiss={() => setResult(undefined)} />}
      {notice && <Alert tone="success" className="mb-4">{notice}</Alert>}
      {vms.isFetching && !vms.isPending && <span className="sr-only" role="status"><Spinner /> Updating…</span>}
      {vms.isPending && <SkeletonRows label="Loading VMs…" />}
      {vms.isError && <Alert className="mb-4">Could not load VMs: {errorMessage(vms.error)}</Alert>}
      {vms.isSuccess && rows.length === 0 && <EmptyList>{vmsFiltered(view) ? 'No VM matches these filters' : 'No user has a VM'}</EmptyList>}
      {rows.length > 0 && (
        <AdminVmsTable vms={rows} caption="Every user's VMs" onOwner={(vm) => set({ owner: vm.user_id })} onAction={(a) => { setNotice(undefined); setActCount((c) => c + 1); setActing(a); }} />
      )}
      {vms.data && <Pager page={view.page} pageSize={VMS_PAGE_SIZE} total={vms.data.total} shown={rows.length} noun="VMs" onPage={(p) => setParams((prev) => withParams(prev, { page: p > 1 ? p : undefined }))} />}
      <p className={`mt-2 text-xs ${muted}`}>Destroyed VMs are not listed; their charges stay in each owner's credit history.</p>

      <VmActionDialog key={actCount} target={acting} onClose={() => setActing(undefined)} onDone={setNotice} />
      <EmergencyStopAllDialog key={stopAllCount} open={stopAll} onClose={() => setStopAll(false)} onDone={setResult} />
    </Section>
  );
}

/** /admin/vms: every VM of every user, with filters in the URL, stop/destroy, and stop-all. */
export function AdminVmsPage() {
  return <AdminShell title="VMs · Admin">{() => <Vms />}</AdminShell>;
}
