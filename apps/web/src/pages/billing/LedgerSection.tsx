import { useEffect, useId, useMemo, useState, type FormEvent } from 'react';
import { errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { EmptyList } from '../../components/EmptyState';
import { Section } from '../../components/Section';
import { SkeletonRows, Spinner } from '../../components/Spinner';
import { button, input } from '../../components/ui';
import { LEDGER_KIND_LABELS, LEDGER_KINDS, monthLabel, type LedgerKind } from './billing';
import { hasLedgerFilters, ledgerExportUrl, type LedgerFilters } from './ledgerFilters';
import { LedgerRows } from './LedgerRows';
import { useLedgerPages } from './queries';

const label = 'mb-1 block text-xs font-medium text-slate-700 dark:text-slate-300';
const download = `${button.secondary} px-3 py-1.5`;

interface Props {
  filters: LedgerFilters;
  onChange: (f: LedgerFilters) => void;
  /** VMs to filter by (every VM the user had, destroyed ones too). */
  vms: readonly { id: number; name: string }[];
  /** Months with ledger rows, newest first. */
  months: readonly string[];
}

/** The ledger with its filters (in the URL), older pages on demand and the export of what is shown. */
export function LedgerSection({ filters, onChange, vms, months }: Props) {
  const pages = useLedgerPages(filters);
  const id = useId();
  const [q, setQ] = useState(filters.q ?? '');
  // Back/forward or a shared link changed the search: show it.
  useEffect(() => setQ(filters.q ?? ''), [filters.q]);
  const entries = useMemo(() => pages.data?.pages.flatMap((p) => p.entries) ?? [], [pages.data]);
  const vmNames = useMemo(() => new Map(vms.map((v) => [v.id, v.name])), [vms]);
  const set = (changes: Partial<LedgerFilters>) => onChange({ ...filters, ...changes });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    set({ q: q.trim() || undefined });
  };
  const filtered = hasLedgerFilters(filters);

  return (
    <Section title="Credit history" description="Every change to your balance, newest first: VM charges, credits added and refunds.">
      <form role="search" aria-label="Filter the credit history" onSubmit={submit} className="flex flex-wrap items-end gap-3">
        <div className="min-w-48 flex-1">
          <label htmlFor={`${id}-q`} className={label}>Search</label>
          <input id={`${id}-q`} type="search" className={input} placeholder="Words in the description" maxLength={100} value={q} onChange={(e) => setQ(e.target.value)} />
        </div>
        <div>
          <label htmlFor={`${id}-kind`} className={label}>Kind</label>
          <select id={`${id}-kind`} className={input} value={filters.kind ?? ''} onChange={(e) => set({ kind: (e.target.value || undefined) as LedgerKind | undefined })}>
            <option value="">Any kind</option>
            {LEDGER_KINDS.map((k) => <option key={k} value={k}>{LEDGER_KIND_LABELS[k]}</option>)}
          </select>
        </div>
        <div>
          <label htmlFor={`${id}-vm`} className={label}>VM</label>
          <select id={`${id}-vm`} className={input} value={filters.vm_id ?? ''} onChange={(e) => set({ vm_id: e.target.value ? Number(e.target.value) : undefined })}>
            <option value="">Any VM</option>
            {filters.vm_id !== undefined && !vmNames.has(filters.vm_id) && <option value={filters.vm_id}>VM #{filters.vm_id}</option>}
            {vms.map((v) => <option key={v.id} value={v.id}>{v.name} (#{v.id})</option>)}
          </select>
        </div>
        <div>
          <label htmlFor={`${id}-month`} className={label}>Month</label>
          <select id={`${id}-month`} className={input} value={filters.month ?? ''} onChange={(e) => set({ month: e.target.value || undefined })}>
            <option value="">Any month</option>
            {filters.month && !months.includes(filters.month) && <option value={filters.month}>{monthLabel(filters.month)}</option>}
            {months.map((m) => <option key={m} value={m}>{monthLabel(m)}</option>)}
          </select>
        </div>
        <div className="flex gap-2">
          {filtered && (
            <button type="button" className={button.secondary} onClick={() => onChange({})}>
              Clear
            </button>
          )}
          <button type="submit" className={button.primary}>Search</button>
        </div>
      </form>
      <div className="mb-3 mt-5 flex flex-wrap items-center justify-end gap-2">
        <span className="text-xs text-slate-600 dark:text-slate-400">Export {filtered ? 'the filtered rows' : 'every row'}:</span>
        <a className={download} href={ledgerExportUrl('csv', filters)} download>CSV</a>
        <a className={download} href={ledgerExportUrl('json', filters)} download>JSON</a>
      </div>
      {pages.isPending && <SkeletonRows label="Loading credit history…" rows={4} />}
      {pages.isError && <Alert>Could not load your credit history: {errorMessage(pages.error)}</Alert>}
      {pages.isSuccess &&
        (entries.length === 0 ? (
          <EmptyList>{filtered ? 'No row matches these filters.' : 'No credit history yet.'}</EmptyList>
        ) : (
          <LedgerRows entries={entries} vmNames={vmNames} caption="Credit history, newest first" />
        ))}
      {pages.hasNextPage && (
        <div className="mt-4 flex justify-center">
          <button type="button" className={button.secondary} disabled={pages.isFetchingNextPage} onClick={() => void pages.fetchNextPage()}>
            {pages.isFetchingNextPage && <Spinner />}
            Load more
          </button>
        </div>
      )}
      {pages.isFetchNextPageError && <Alert className="mt-3">Could not load older rows: {errorMessage(pages.error)}</Alert>}
    </Section>
  );
}
