import type { AuditEntry } from '@twarga/contract';
import type { ReactNode } from 'react';
import { Dialog } from '../../components/Dialog';
import { button, muted, table } from '../../components/ui';
import { formatDateTime } from '../../format';
import { OutcomeBadge } from './badges';
import { diffRows, type DiffRow } from './params';

function Field({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div className="min-w-0">
      <dt className={`text-xs font-medium uppercase tracking-wide ${muted}`}>{term}</dt>
      <dd className="mt-0.5 break-words text-sm text-slate-900 dark:text-slate-100">{children}</dd>
    </div>
  );
}

const none = <span className={muted}>—</span>;

const CHANGE_TONE: Record<DiffRow['change'], string> = {
  changed: 'bg-amber-50 dark:bg-amber-950/40',
  added: 'bg-emerald-50 dark:bg-emerald-950/40',
  removed: 'bg-red-50 dark:bg-red-950/40',
  same: '',
};

/** Before and after, field by field; what changed first and marked (a word as well as a colour). */
function Diff({ entry }: { entry: AuditEntry }) {
  const rows = diffRows(entry.before, entry.after);
  if (rows.length === 0) return <p className={`text-sm ${muted}`}>No before or after state recorded for this action.</p>;
  return (
    <div className={`${table.wrap} max-h-72 overflow-y-auto`}>
      <table className={table.table} data-testid="audit-diff">
        <caption className="sr-only">Before and after</caption>
        <thead>
          <tr>
            <th scope="col" className={table.th}>Field</th>
            <th scope="col" className={table.th}>Before</th>
            <th scope="col" className={table.th}>After</th>
          </tr>
        </thead>
        <tbody className={table.tbody}>
          {rows.map((r) => (
            <tr key={r.path} className={CHANGE_TONE[r.change]} data-change={r.change}>
              <th scope="row" className={`${table.td} text-left font-mono text-xs font-medium`}>
                {r.path}
                {r.change !== 'same' && <span className={`ml-1 font-sans text-[0.65rem] uppercase ${muted}`}>{r.change}</span>}
              </th>
              <td className={`${table.td} break-all font-mono text-xs ${r.change === 'changed' || r.change === 'removed' ? 'line-through decoration-red-500/60' : ''}`}>{r.before ?? none}</td>
              <td className={`${table.td} break-all font-mono text-xs ${r.change !== 'same' ? 'font-semibold' : ''}`}>{r.after ?? none}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Every field of one audit entry, its change as a diff, and its details. */
export function AuditDetailDialog({ entry, onClose }: { entry: AuditEntry | undefined; onClose: () => void }) {
  return (
    <Dialog open={entry !== undefined} onClose={onClose} title={entry ? `Audit entry #${entry.id}` : 'Audit entry'} wide>
      {entry && (
        <div data-testid="audit-detail" data-action={entry.action}>
          <p className="mb-4 flex flex-wrap items-center gap-2 text-base font-medium text-slate-900 dark:text-white">
            <code className="font-mono">{entry.action}</code>
            <OutcomeBadge outcome={entry.outcome} />
          </p>
          <dl className="grid grid-cols-2 gap-x-6 gap-y-3 sm:grid-cols-4">
            <Field term="Time"><time dateTime={entry.created_at}>{formatDateTime(entry.created_at)}</time></Field>
            <Field term="Actor">{entry.actor_username ?? (entry.actor_id !== null ? `#${entry.actor_id}` : none)}</Field>
            <Field term="Target">{entry.target_type ? `${entry.target_type} ${entry.target_label ?? entry.target_id ?? ''}` : none}</Field>
            <Field term="Source address">{entry.source_ip ? <code className="font-mono">{entry.source_ip}</code> : none}</Field>
            <Field term="Request"><code className="break-all font-mono text-xs">{entry.method} {entry.path}</code></Field>
            <Field term="Status">{entry.status_code}</Field>
            <Field term="Request id">{entry.request_id ? <code className="break-all font-mono text-xs">{entry.request_id}</code> : none}</Field>
            <Field term="Id">{entry.id}</Field>
          </dl>
          <h3 className="mt-5 mb-1.5 text-sm font-semibold text-slate-900 dark:text-white">Change</h3>
          <Diff entry={entry} />
          {entry.details && Object.keys(entry.details).length > 0 && (
            <>
              <h3 className="mt-5 text-sm font-semibold text-slate-900 dark:text-white">Details</h3>
              <pre className="mt-1.5 max-h-48 overflow-auto rounded-lg bg-slate-100 p-3 font-mono text-xs text-slate-800 dark:bg-slate-950 dark:text-slate-200">{JSON.stringify(entry.details, null, 2)}</pre>
            </>
          )}
        </div>
      )}
      <div className="mt-6 flex justify-end">
        <button type="button" className={button.secondary} onClick={onClose}>Close</button>
      </div>
    </Dialog>
  );
}
