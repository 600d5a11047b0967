import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { SocRule, UpdateSocRule } from '@twarga/contract';
import { useState, type FormEvent } from 'react';
import { client, errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { Section } from '../../components/Section';
import { SkeletonRows, Spinner } from '../../components/Spinner';
import { button, input } from '../../components/ui';
import { socKeys, useRules } from './queries';
import { SeverityBadge } from './Severity';

/** "10 min", "1 h", "90 s": a window in words. */
export function formatWindow(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

function useSaveRule() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: string; body: UpdateSocRule }) => client.soc.rules.update(id, body),
    onSuccess: (rule) => queryClient.setQueryData<SocRule[]>(socKeys.rules, (list) => list?.map((r) => (r.id === rule.id ? rule : r))),
    onSettled: () => queryClient.invalidateQueries({ queryKey: socKeys.rules }),
  });
}

/** One rule: what it detects, a switch, and its threshold and window. */
function RuleCard({ rule }: { rule: SocRule }) {
  const save = useSaveRule();
  const toggle = useSaveRule();
  const [threshold, setThreshold] = useState(String(rule.threshold));
  const [windowMin, setWindowMin] = useState(String(rule.window_seconds / 60));
  const changed = Number(threshold) !== rule.threshold || Math.round(Number(windowMin) * 60) !== rule.window_seconds;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate({ id: rule.id, body: { threshold: Number(threshold), window_seconds: Math.round(Number(windowMin) * 60) } });
  };
  const base = `soc-rule-${rule.id}`;
  return (
    <li className="rounded-lg border border-slate-200 p-4 dark:border-slate-800" data-testid="soc-rule" data-rule-id={rule.id}>
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div className="min-w-0 flex-1">
          <h3 className="flex flex-wrap items-center gap-2 text-sm font-semibold text-slate-900 dark:text-white">
            {rule.title}
            <SeverityBadge severity={rule.severity} />
          </h3>
          <p className="mt-1 text-sm text-slate-700 dark:text-slate-300">{rule.description}</p>
          <p className="mt-1 text-xs text-slate-600 dark:text-slate-400">
            <code className="font-mono">{rule.id}</code> · {rule.kind} · MITRE ATT&amp;CK {rule.mitre}
            {rule.group_by.length > 0 && ` · per ${rule.group_by.join(' + ')}`}
            {rule.response.block && ` · blocks the address (${rule.response.block.scope}, ${formatWindow(rule.response.block.duration_seconds)})`}
          </p>
        </div>
        <button
          type="button"
          role="switch"
          aria-checked={rule.enabled}
          aria-label={`${rule.title}: ${rule.enabled ? 'enabled' : 'disabled'}`}
          disabled={toggle.isPending}
          onClick={() => toggle.mutate({ id: rule.id, body: { enabled: !rule.enabled } })}
          className={`relative inline-flex h-6 w-11 shrink-0 items-center rounded-full transition-colors focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2 ${rule.enabled ? 'bg-indigo-600' : 'bg-slate-400 dark:bg-slate-600'}`}
        >
          <span aria-hidden="true" className={`inline-block h-5 w-5 rounded-full bg-white shadow transition-transform ${rule.enabled ? 'translate-x-5' : 'translate-x-0.5'}`} />
        </button>
      </div>
      {rule.kind === 'event_count' || rule.kind === 'value_count' ? (
        <form onSubmit={submit} className="mt-3 flex flex-wrap items-end gap-3">
          <div className="w-32">
            <label htmlFor={`${base}-t`} className="mb-1 block text-xs font-medium text-slate-700 dark:text-slate-300">{rule.kind === 'value_count' ? 'Distinct values' : 'Events'} ≥</label>
            <input id={`${base}-t`} type="number" min={1} max={1_000_000} required className={input} value={threshold} onChange={(e) => setThreshold(e.target.value)} />
          </div>
          <div className="w-32">
            <label htmlFor={`${base}-w`} className="mb-1 block text-xs font-medium text-slate-700 dark:text-slate-300">Within (minutes)</label>
            <input id={`${base}-w`} type="number" min={0.1} step="any" max={10080} required className={input} value={windowMin} onChange={(e) => setWindowMin(e.target.value)} />
          </div>
          <button type="submit" className={button.secondary} disabled={!changed || save.isPending}>
            {save.isPending && <Spinner />}
            Save
          </button>
        </form>
      ) : (
        <p className="mt-3 text-xs text-slate-600 dark:text-slate-400">
          {rule.kind === 'temporal_ordered' ? `Steps in order within ${formatWindow(rule.window_seconds)}.` : `A value not seen before (learned per ${rule.group_by.join(' + ') || 'rule'}).`}
        </p>
      )}
      {(save.isError || toggle.isError) && <Alert className="mt-3">{errorMessage(save.error ?? toggle.error)}</Alert>}
    </li>
  );
}

/** The detection rules (admins): enable, disable and tune. */
export function RulesSection() {
  const rules = useRules(true);
  return (
    <Section title="Detection rules" description="Rules as data, modelled on Sigma's correlation rules. A change applies to the events that arrive from now on.">
      {rules.isPending && <SkeletonRows label="Loading rules…" rows={3} />}
      {rules.isError && <Alert>Could not load the rules: {errorMessage(rules.error)}</Alert>}
      {rules.data && <ul className="space-y-3">{rules.data.map((r) => <RuleCard key={`${r.id}-${r.updated_at}`} rule={r} />)}</ul>}
    </Section>
  );
}
