import type { Event } from '@twarga/contract';
import { button, input } from '../../components/ui';
import { FilterActions } from '../../components/FilterActions';
import { filterLabel, fromLocalInput, toLocalInput, useFilterDraft } from '../../components/useFilterDraft';
import { EVENT_TYPES, hasFilters, SEVERITIES, type SocFilters } from './filters';

const RECENT = [
  { label: 'Last hour', seconds: 3600 },
  { label: 'Last 24 h', seconds: 86400 },
  { label: 'Last 7 days', seconds: 7 * 86400 },
];

/**
 * The feed's filters and search. The selects apply at once; the text fields on Enter or "Apply".
 * Everything lands in the URL (see useSocParams).
 */
export function FilterBar({ filters, onChange, events, vms }: { filters: SocFilters; onChange: (f: SocFilters) => void; events: readonly Event[]; vms: readonly { id: number; name: string }[] }) {
  const { draft, setDraft, id, text, applyNow, submit } = useFilterDraft(filters, onChange);
  const codes = [...new Set(events.map((e) => e.code))].sort();

  return (
    <form role="search" aria-label="Filter events" onSubmit={submit} className="space-y-3">
      <div className="flex flex-wrap items-end gap-3">
        <div className="min-w-56 flex-1">
          <label htmlFor={`${id}-q`} className={filterLabel}>Search</label>
          <input id={`${id}-q`} type="search" className={input} placeholder="Words in the message, user, address or details" maxLength={200} {...text('q')} />
        </div>
        <div>
          <label htmlFor={`${id}-type`} className={filterLabel}>Type</label>
          <select id={`${id}-type`} className={input} value={draft.type ?? ''} onChange={(e) => applyNow({ type: (e.target.value || undefined) as SocFilters['type'] })}>
            <option value="">Any type</option>
            {EVENT_TYPES.map((t) => <option key={t} value={t}>{t}</option>)}
          </select>
        </div>
        <div>
          <label htmlFor={`${id}-sev`} className={filterLabel}>Severity</label>
          <select id={`${id}-sev`} className={input} value={draft.severity ?? ''} onChange={(e) => applyNow({ severity: (e.target.value || undefined) as SocFilters['severity'] })}>
            <option value="">Any severity</option>
            {SEVERITIES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </div>
        <div>
          <label htmlFor={`${id}-vm`} className={filterLabel}>VM</label>
          <select id={`${id}-vm`} className={input} value={draft.vm_id ?? ''} onChange={(e) => applyNow({ vm_id: e.target.value ? Number(e.target.value) : undefined })}>
            <option value="">Any VM</option>
            {draft.vm_id && !vms.some((v) => v.id === draft.vm_id) && <option value={draft.vm_id}>VM #{draft.vm_id}</option>}
            {vms.map((v) => <option key={v.id} value={v.id}>{v.name} (#{v.id})</option>)}
          </select>
        </div>
      </div>
      <div className="flex flex-wrap items-end gap-3">
        <div className="w-52">
          <label htmlFor={`${id}-code`} className={filterLabel}>Code</label>
          <input id={`${id}-code`} className={`${input} font-mono`} placeholder="e.g. login.failed" list={`${id}-codes`} maxLength={64} pattern="[a-z_]+(\.[a-z_]+)*" title="An event code such as login.failed" {...text('code')} />
          <datalist id={`${id}-codes`}>{codes.map((c) => <option key={c} value={c} />)}</datalist>
        </div>
        <div className="w-44">
          <label htmlFor={`${id}-src`} className={filterLabel}>Source address</label>
          <input id={`${id}-src`} className={`${input} font-mono`} placeholder="198.51.100.7" maxLength={64} {...text('source_ip')} />
        </div>
        <div>
          <label htmlFor={`${id}-from`} className={filterLabel}>From</label>
          <input id={`${id}-from`} type="datetime-local" className={input} value={toLocalInput(draft.from)} onChange={(e) => setDraft({ ...draft, from: fromLocalInput(e.target.value) })} />
        </div>
        <div>
          <label htmlFor={`${id}-to`} className={filterLabel}>To</label>
          <input id={`${id}-to`} type="datetime-local" className={input} value={toLocalInput(draft.to)} onChange={(e) => setDraft({ ...draft, to: fromLocalInput(e.target.value) })} />
        </div>
        <div className="flex flex-wrap gap-1" role="group" aria-label="Recent time ranges">
          {RECENT.map((r) => (
            <button key={r.label} type="button" className={button.ghost} onClick={() => applyNow({ from: new Date(Date.now() - r.seconds * 1000).toISOString(), to: undefined })}>
              {r.label}
            </button>
          ))}
        </div>
        <FilterActions active={hasFilters(filters)} onClear={() => { setDraft({}); onChange({}); }} />
      </div>
    </form>
  );
}
