import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { BlockScope, IncidentAction, IncidentStatus, SocIncidentDetail, User } from '@twarga/contract';
import { useId, useState, type FormEvent } from 'react';
import { client, errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { Dialog } from '../../components/Dialog';
import { Loading, Spinner } from '../../components/Spinner';
import { button, input } from '../../components/ui';
import { formatEventTime } from './EventRows';
import { allowedScopes, canActOn, DURATIONS, SCOPE_LABEL, STATUS_LABEL } from './incidentText';
import { socKeys, useIncident } from './queries';
import { SeverityBadge } from './Severity';
import { IncidentStatusBadge } from './StatusBadge';

/** The status buttons offered for an incident in a given status. */
const NEXT: Record<IncidentStatus, { status: IncidentStatus; label: string }[]> = {
  open: [
    { status: 'acknowledged', label: 'Acknowledge' },
    { status: 'resolved', label: 'Resolve' },
    { status: 'false_positive', label: 'False positive' },
  ],
  acknowledged: [
    { status: 'resolved', label: 'Resolve' },
    { status: 'false_positive', label: 'False positive' },
  ],
  resolved: [{ status: 'open', label: 'Reopen' }],
  false_positive: [{ status: 'open', label: 'Reopen' }],
};

const ACTION_TEXT: Record<string, string> = {
  opened: 'opened',
  event: 'more matching events',
  acknowledged: 'acknowledged',
  resolved: 'resolved',
  false_positive: 'marked false positive',
  reopened: 'reopened',
  comment: 'commented',
  blocked: 'blocked the address',
};

function useInvalidateSoc() {
  const queryClient = useQueryClient();
  return (incident?: SocIncidentDetail) => {
    if (incident) queryClient.setQueryData(socKeys.incident(incident.id), incident);
    void queryClient.invalidateQueries({ queryKey: socKeys.incidentsAll });
    void queryClient.invalidateQueries({ queryKey: socKeys.statistics });
  };
}

/** Block the incident's address: scope (as the viewer may) and duration. */
function BlockForm({ incident, scopes }: { incident: SocIncidentDetail; scopes: BlockScope[] }) {
  const queryClient = useQueryClient();
  const [scope, setScope] = useState<BlockScope>(scopes[0]!);
  const [duration, setDuration] = useState('3600');
  const id = useId();
  const block = useMutation({
    mutationFn: () => client.soc.incidents.block(incident.id, { scope, duration_seconds: duration ? Number(duration) : undefined }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: socKeys.blocks });
      void queryClient.invalidateQueries({ queryKey: socKeys.incident(incident.id) });
      void queryClient.invalidateQueries({ queryKey: socKeys.statistics });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    block.mutate();
  };
  return (
    <form onSubmit={submit} className="mt-5 rounded-lg border border-slate-200 p-4 dark:border-slate-800" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`} className="text-sm font-semibold text-slate-900 dark:text-white">
        Block address <code className="font-mono">{incident.source_ip}</code>
      </h3>
      <div className="mt-3 flex flex-wrap items-end gap-3">
        <div>
          <label htmlFor={`${id}-scope`} className="mb-1 block text-xs font-medium text-slate-700 dark:text-slate-300">Where</label>
          <select id={`${id}-scope`} className={input} value={scope} onChange={(e) => setScope(e.target.value as BlockScope)}>
            {scopes.map((s) => <option key={s} value={s}>{SCOPE_LABEL[s]}</option>)}
          </select>
        </div>
        <div>
          <label htmlFor={`${id}-dur`} className="mb-1 block text-xs font-medium text-slate-700 dark:text-slate-300">For</label>
          <select id={`${id}-dur`} className={input} value={duration} onChange={(e) => setDuration(e.target.value)}>
            {DURATIONS.map((d) => <option key={d.label} value={d.seconds ?? ''}>{d.label}</option>)}
          </select>
        </div>
        <button type="submit" className={button.danger} disabled={block.isPending}>
          {block.isPending && <Spinner />}
          Block address
        </button>
      </div>
      <p className="mt-2 text-xs text-slate-600 dark:text-slate-400">Repeat offenders are blocked for longer: the server may extend the duration.</p>
      {block.isError && <Alert className="mt-3">{errorMessage(block.error)}</Alert>}
      {block.isSuccess && <Alert tone="success" className="mt-3">Blocked{block.data.expires_at ? ` until ${formatEventTime(block.data.expires_at)}` : ' until lifted'} (offence {block.data.offence}).</Alert>}
    </form>
  );
}

/** One incident: what it is about, its history, and the actions the viewer may take. */
export function IncidentDialog({ id, me, onClose, onOpenEvent }: { id: number | undefined; me: User; onClose: () => void; onOpenEvent: (id: number) => void }) {
  const incident = useIncident(id);
  const invalidate = useInvalidateSoc();
  const [comment, setComment] = useState('');
  const commentId = useId();
  const act = useMutation({
    mutationFn: (body: IncidentAction) => client.soc.incidents.act(id!, body),
    onSuccess: (detail) => {
      setComment('');
      invalidate(detail);
    },
  });
  const i = incident.data;
  const mayAct = i ? canActOn(me, i) : false;
  const scopes = i ? allowedScopes(me, i.vm_id, i.source_ip).filter(() => mayAct) : [];

  return (
    <Dialog open={id !== undefined} onClose={() => { act.reset(); onClose(); }} title={i ? `Incident #${i.id}: ${i.title}` : 'Incident'} wide>
      {incident.isPending && <Loading label="Loading the incident…" />}
      {incident.isError && <Alert>Could not load the incident: {errorMessage(incident.error)}</Alert>}
      {i && (
        <div data-testid="soc-incident-detail" data-incident-id={i.id}>
          <div className="flex flex-wrap items-center gap-2">
            <SeverityBadge severity={i.severity} />
            <span data-testid="incident-status"><IncidentStatusBadge status={i.status} /></span>
            <span className="text-xs text-slate-600 dark:text-slate-400">
              {i.rule_id} · MITRE ATT&amp;CK {i.mitre}
            </span>
          </div>
          <dl className="mt-4 grid grid-cols-2 gap-x-6 gap-y-3 text-sm sm:grid-cols-4">
            {[
              ['Source address', i.source_ip ?? '—'],
              ['VM', i.vm_id !== null ? `#${i.vm_id}` : '—'],
              ['Events', String(i.event_count)],
              ['First seen', formatEventTime(i.first_seen)],
              ['Last seen', formatEventTime(i.last_seen)],
              ['Group', Object.entries(i.group).map(([k, v]) => `${k}=${v}`).join(', ') || '—'],
            ].map(([term, value]) => (
              <div key={term} className="min-w-0">
                <dt className="text-xs font-medium uppercase tracking-wide text-slate-600 dark:text-slate-400">{term}</dt>
                <dd className="mt-0.5 break-words text-slate-900 dark:text-slate-100">{value}</dd>
              </div>
            ))}
          </dl>

          {i.event_ids.length > 0 && (
            <div className="mt-4">
              <h3 className="text-sm font-semibold text-slate-900 dark:text-white">Its events</h3>
              <ul className="mt-1.5 flex max-h-24 flex-wrap gap-1.5 overflow-y-auto">
                {i.event_ids.map((eid) => (
                  <li key={eid}>
                    <button type="button" className={`${button.ghost} px-2 py-0.5 text-xs`} onClick={() => onOpenEvent(eid)}>#{eid}</button>
                  </li>
                ))}
              </ul>
            </div>
          )}

          <h3 className="mt-5 text-sm font-semibold text-slate-900 dark:text-white">History</h3>
          <ol className="mt-1.5 max-h-56 space-y-2 overflow-y-auto border-l-2 border-slate-200 pl-4 dark:border-slate-700" data-testid="incident-history">
            {i.history.map((h, n) => (
              <li key={n} className="text-sm">
                <span className="font-medium text-slate-900 dark:text-white">{h.actor_username ?? (h.actor_user_id !== null ? `user #${h.actor_user_id}` : 'System')}</span>{' '}
                <span className="text-slate-700 dark:text-slate-300">{ACTION_TEXT[h.action] ?? h.action}</span>{' '}
                <time className="text-xs text-slate-600 dark:text-slate-400" dateTime={h.at}>{formatEventTime(h.at)}</time>
                {h.comment && <p className="mt-0.5 whitespace-pre-wrap rounded bg-slate-50 px-2 py-1 text-xs text-slate-800 dark:bg-slate-800 dark:text-slate-200">{h.comment}</p>}
              </li>
            ))}
          </ol>

          {mayAct ? (
            <div className="mt-5">
              <label htmlFor={commentId} className="mb-1 block text-sm font-medium text-slate-800 dark:text-slate-200">Comment</label>
              <textarea id={commentId} className={input} rows={2} maxLength={2000} value={comment} onChange={(e) => setComment(e.target.value)} placeholder="What you found or did (optional with a status change)" />
              <div className="mt-3 flex flex-wrap gap-2">
                {NEXT[i.status].map((n) => (
                  <button key={n.status} type="button" className={n.status === 'false_positive' ? button.secondary : button.primary} disabled={act.isPending} onClick={() => act.mutate({ status: n.status, comment: comment.trim() || undefined })}>
                    {n.label}
                  </button>
                ))}
                <button type="button" className={button.secondary} disabled={act.isPending || !comment.trim()} onClick={() => act.mutate({ comment: comment.trim() })}>
                  Add comment
                </button>
                {act.isPending && <Spinner className="h-5 w-5 self-center" />}
              </div>
              {act.isError && <Alert className="mt-3">{errorMessage(act.error)}</Alert>}
              {act.isSuccess && <p role="status" className="mt-2 text-xs text-slate-600 dark:text-slate-400">Saved: the incident is {STATUS_LABEL[act.data.status].toLowerCase()}.</p>}
            </div>
          ) : (
            <p className="mt-5 text-sm text-slate-600 dark:text-slate-400">Only the owner of what was attacked and administrators act on this incident.</p>
          )}

          {i.source_ip && scopes.length > 0 && <BlockForm key={i.id} incident={i} scopes={scopes} />}
        </div>
      )}
      <div className="mt-6 flex justify-end">
        <button type="button" className={button.secondary} onClick={() => { act.reset(); onClose(); }}>Close</button>
      </div>
    </Dialog>
  );
}
