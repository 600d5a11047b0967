import type { AdminUser } from '@twarga/contract';
import { input } from '../../components/ui';
import { FilterActions } from '../../components/FilterActions';
import { filterLabel, fromLocalInput, toLocalInput, useFilterDraft } from '../../components/useFilterDraft';
import { hasAuditFilters, type AuditFilters } from './params';

/**
 * The audit log's filters. The selects apply at once; the text and time fields on Enter or
 * "Apply". Everything lands in the URL.
 */
export function AuditFilterBar({ filters, onChange, admins, actions, targetTypes }: { filters: AuditFilters; onChange: (f: AuditFilters) => void; admins: readonly AdminUser[]; actions: readonly string[]; targetTypes: readonly string[] }) {
  const { draft, setDraft, id, text, applyNow, submit } = useFilterDraft(filters, onChange);
  return (
    <form role="search" aria-label="Filter the audit log" onSubmit={submit} className="mb-4 space-y-3">
      <div className="flex flex-wrap items-end gap-3">
        <div className="min-w-56 flex-1">
          <label htmlFor={`${id}-q`} className={filterLabel}>Search</label>
          <input id={`${id}-q`} type="search" className={input} placeholder="Action, target, path or actor" maxLength={100} {...text('q')} />
        </div>
        <div>
          <label htmlFor={`${id}-actor`} className={filterLabel}>Actor</label>
          <select id={`${id}-actor`} className={input} value={draft.actor_id ?? ''} onChange={(e) => applyNow({ actor_id: e.target.value ? Number(e.target.value) : undefined })}>
            <option value="">Any admin</option>
            {draft.actor_id !== undefined && !admins.some((a) => a.id === draft.actor_id) && <option value={draft.actor_id}>User #{draft.actor_id}</option>}
            {admins.map((a) => <option key={a.id} value={a.id}>{a.username}</option>)}
          </select>
        </div>
        <div>
          <label htmlFor={`${id}-outcome`} className={filterLabel}>Outcome</label>
          <select id={`${id}-outcome`} className={input} value={draft.outcome ?? ''} onChange={(e) => applyNow({ outcome: (e.target.value || undefined) as AuditFilters['outcome'] })}>
            <option value="">Any outcome</option>
            <option value="succeeded">succeeded</option>
            <option value="failed">failed</option>
          </select>
        </div>
      </div>
      <div className="flex flex-wrap items-end gap-3">
        <div className="w-56">
          <label htmlFor={`${id}-action`} className={filterLabel}>Action</label>
          <input id={`${id}-action`} className={`${input} font-mono`} placeholder="e.g. user.credits_adjusted" list={`${id}-actions`} maxLength={64} {...text('action')} />
          <datalist id={`${id}-actions`}>{actions.map((a) => <option key={a} value={a} />)}</datalist>
        </div>
        <div className="w-40">
          <label htmlFor={`${id}-target`} className={filterLabel}>Target type</label>
          <input id={`${id}-target`} className={`${input} font-mono`} placeholder="e.g. user" list={`${id}-targets`} maxLength={32} {...text('target_type')} />
          <datalist id={`${id}-targets`}>{targetTypes.map((t) => <option key={t} value={t} />)}</datalist>
        </div>
        <div>
          <label htmlFor={`${id}-since`} className={filterLabel}>Since</label>
          <input id={`${id}-since`} type="datetime-local" className={input} value={toLocalInput(draft.since)} onChange={(e) => setDraft({ ...draft, since: fromLocalInput(e.target.value) })} />
        </div>
        <div>
          <label htmlFor={`${id}-until`} className={filterLabel}>Until</label>
          <input id={`${id}-until`} type="datetime-local" className={input} value={toLocalInput(draft.until)} onChange={(e) => setDraft({ ...draft, until: fromLocalInput(e.target.value) })} />
        </div>
        <FilterActions active={hasAuditFilters(filters)} onClear={() => { setDraft({}); onChange({}); }} />
      </div>
    </form>
  );
}
