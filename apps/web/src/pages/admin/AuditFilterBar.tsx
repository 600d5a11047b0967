import type { AdminUser } from '@twarga/contract';
import { useEffect, useId, useState, type FormEvent } from 'react';
import { button, input } from '../../components/ui';
import { hasAuditFilters, type AuditFilters } from './params';

/** An ISO timestamp as a datetime-local value (the browser's local time, to the minute). */
function toLocalInput(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
const fromLocalInput = (v: string) => (v && !Number.isNaN(Date.parse(v)) ? new Date(v).toISOString() : undefined);

const label = 'mb-1 block text-xs font-medium text-slate-700 dark:text-slate-300';

/** Empty strings are "no filter"; text is trimmed. */
function clean(f: AuditFilters): AuditFilters {
  const out: AuditFilters = {};
  for (const [k, v] of Object.entries(f)) if (v !== undefined && v !== '') (out as Record<string, unknown>)[k] = typeof v === 'string' ? v.trim() : v;
  return out;
}

/**
 * The audit log's filters. The selects apply at once; the text and time fields on Enter or
 * "Apply". Everything lands in the URL.
 */
export function AuditFilterBar({ filters, onChange, admins, actions, targetTypes }: { filters: AuditFilters; onChange: (f: AuditFilters) => void; admins: readonly AdminUser[]; actions: readonly string[]; targetTypes: readonly string[] }) {
  const [draft, setDraft] = useState(filters);
  const id = useId();
  const applied = JSON.stringify(filters);
  useEffect(() => setDraft(JSON.parse(applied) as AuditFilters), [applied]);
  const text = (field: 'q' | 'action' | 'target_type' | 'target_id') => ({
    value: draft[field] ?? '',
    onChange: (e: { target: { value: string } }) => setDraft({ ...draft, [field]: e.target.value || undefined }),
  });
  const applyNow = (changes: Partial<AuditFilters>) => {
    const next = { ...draft, ...changes };
    setDraft(next);
    onChange(clean(next));
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onChange(clean(draft));
  };
  return (
    <form role="search" aria-label="Filter the audit log" onSubmit={submit} className="mb-4 space-y-3">
      <div className="flex flex-wrap items-end gap-3">
        <div className="min-w-56 flex-1">
          <label htmlFor={`${id}-q`} className={label}>Search</label>
          <input id={`${id}-q`} type="search" className={input} placeholder="Action, target, path or actor" maxLength={100} {...text('q')} />
        </div>
        <div>
          <label htmlFor={`${id}-actor`} className={label}>Actor</label>
          <select id={`${id}-actor`} className={input} value={draft.actor_id ?? ''} onChange={(e) => applyNow({ actor_id: e.target.value ? Number(e.target.value) : undefined })}>
            <option value="">Any admin</option>
            {draft.actor_id !== undefined && !admins.some((a) => a.id === draft.actor_id) && <option value={draft.actor_id}>User #{draft.actor_id}</option>}
            {admins.map((a) => <option key={a.id} value={a.id}>{a.username}</option>)}
          </select>
        </div>
        <div>
          <label htmlFor={`${id}-outcome`} className={label}>Outcome</label>
          <select id={`${id}-outcome`} className={input} value={draft.outcome ?? ''} onChange={(e) => applyNow({ outcome: (e.target.value || undefined) as AuditFilters['outcome'] })}>
            <option value="">Any outcome</option>
            <option value="succeeded">succeeded</option>
            <option value="failed">failed</option>
          </select>
        </div>
      </div>
      <div className="flex flex-wrap items-end gap-3">
        <div className="w-56">
          <label htmlFor={`${id}-action`} className={label}>Action</label>
          <input id={`${id}-action`} className={`${input} font-mono`} placeholder="e.g. user.credits_adjusted" list={`${id}-actions`} maxLength={64} {...text('action')} />
          <datalist id={`${id}-actions`}>{actions.map((a) => <option key={a} value={a} />)}</datalist>
        </div>
        <div className="w-40">
          <label htmlFor={`${id}-target`} className={label}>Target type</label>
          <input id={`${id}-target`} className={`${input} font-mono`} placeholder="e.g. user" list={`${id}-targets`} maxLength={32} {...text('target_type')} />
          <datalist id={`${id}-targets`}>{targetTypes.map((t) => <option key={t} value={t} />)}</datalist>
        </div>
        <div>
          <label htmlFor={`${id}-since`} className={label}>Since</label>
          <input id={`${id}-since`} type="datetime-local" className={input} value={toLocalInput(draft.since)} onChange={(e) => setDraft({ ...draft, since: fromLocalInput(e.target.value) })} />
        </div>
        <div>
          <label htmlFor={`${id}-until`} className={label}>Until</label>
          <input id={`${id}-until`} type="datetime-local" className={input} value={toLocalInput(draft.until)} onChange={(e) => setDraft({ ...draft, until: fromLocalInput(e.target.value) })} />
        </div>
        <div className="ml-auto flex gap-2">
          {hasAuditFilters(filters) && (
            <button type="button" className={button.secondary} onClick={() => { setDraft({}); onChange({}); }}>
              Clear
            </button>
          )}
          <button type="submit" className={button.primary}>Apply</button>
        </div>
      </div>
    </form>
  );
}
