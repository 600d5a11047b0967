import type { AuditEntry } from '@twarga/contract';
import { useMemo, useState } from 'react';
import { useSearchParams } from 'react-router';
import { errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { EmptyList } from '../../components/EmptyState';
import { Section } from '../../components/Section';
import { SkeletonRows, Spinner } from '../../components/Spinner';
import { button, link, muted, table } from '../../components/ui';
import { formatDateTime } from '../../format';
import { AdminShell } from './AdminShell';
import { AuditDetailDialog } from './AuditDetailDialog';
import { AuditFilterBar } from './AuditFilterBar';
import { OutcomeBadge } from './badges';
import { Forbidden, isForbidden } from './Forbidden';
import { auditExportUrl, hasAuditFilters, readAuditFilters, writeAuditFilters } from './params';
import { useAdmins, useAuditPages } from './queries';

const HEADERS = ['Time', 'Actor', 'Action', 'Target', 'Outcome', 'Source IP'];

function Target({ e }: { e: AuditEntry }) {
  if (!e.target_type) return <span className={muted}>—</span>;
  return (
    <>
      <span className={`text-xs ${muted}`}>{e.target_type}</span> {e.target_label ?? (e.target_id ? `#${e.target_id}` : '')}
    </>
  );
}

function Audit() {
  const [params, setParams] = useSearchParams();
  const filters = useMemo(() => readAuditFilters(params), [params]);
  const pages = useAuditPages(filters);
  const admins = useAdmins();
  const [open, setOpen] = useState<AuditEntry>();

  if (pages.isError && isForbidden(pages.error)) return <Forbidden />;
  const entries = pages.data?.pages.flatMap((p) => p.entries) ?? [];
  const actions = [...new Set(entries.map((e) => e.action))].sort();
  const targetTypes = [...new Set(entries.map((e) => e.target_type).filter((t): t is string => !!t))].sort();

  return (
    <Section title="Audit log" description="Every admin action: who did it, to what, the state before and after, from where, and whether it succeeded. Open a row for the change.">
      <AuditFilterBar filters={filters} onChange={(f) => setParams((prev) => writeAuditFilters(prev, f))} admins={admins.data?.rows ?? []} actions={actions} targetTypes={targetTypes} />
      <div className="mb-4 flex flex-wrap items-center gap-3 text-sm">
        <span className={muted}>Export {hasAuditFilters(filters) ? 'the matching entries' : 'every entry'}:</span>
        <a className={link} href={auditExportUrl(filters, 'csv')} download>CSV</a>
        <a className={link} href={auditExportUrl(filters, 'json')} download>JSON</a>
        {pages.isFetching && !pages.isPending && !pages.isFetchingNextPage && (
          <span className={`inline-flex items-center gap-2 ${muted}`} role="status"><Spinner /> Updating…</span>
        )}
      </div>
      {pages.isPending && <SkeletonRows label="Loading the audit log…" />}
      {pages.isError && <Alert className="mb-4">Could not load the audit log: {errorMessage(pages.error)}</Alert>}
      {pages.isSuccess && entries.length === 0 && <EmptyList>{hasAuditFilters(filters) ? 'No entry matches these filters' : 'No admin action recorded yet'}</EmptyList>}
      {entries.length > 0 && (
        <div className={table.wrap}>
          <table className={table.table}>
            <caption className="sr-only">Audit log</caption>
            <thead>
              <tr>
                {HEADERS.map((h) => (
                  <th key={h} scope="col" className={`${table.th} ${h === 'Source IP' ? 'hidden md:table-cell' : ''}`}>{h}</th>
                ))}
              </tr>
            </thead>
            <tbody className={table.tbody}>
              {entries.map((e) => (
                <tr key={e.id} data-testid="audit-row" data-action={e.action} data-outcome={e.outcome}>
                  <td className={`${table.td} whitespace-nowrap tabular-nums`}>
                    <time dateTime={e.created_at}>{formatDateTime(e.created_at)}</time>
                  </td>
                  <td className={`${table.td} whitespace-nowrap`}>{e.actor_username ?? (e.actor_id !== null ? `#${e.actor_id}` : '—')}</td>
                  <td className={table.td}>
                    <button type="button" className={`${link} font-mono text-xs`} onClick={() => setOpen(e)}>
                      {e.action}<span className="sr-only"> — details of entry {e.id}</span>
                    </button>
                  </td>
                  <td className={table.td}><Target e={e} /></td>
                  <td className={table.td}><OutcomeBadge outcome={e.outcome} /></td>
                  <td className={`${table.td} hidden whitespace-nowrap font-mono text-xs md:table-cell`}>{e.source_ip ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {pages.hasNextPage && (
        <div className="mt-4 flex justify-center">
          <button type="button" className={button.secondary} disabled={pages.isFetchingNextPage} onClick={() => pages.fetchNextPage()}>
            {pages.isFetchingNextPage && <Spinner />}
            {pages.isFetchingNextPage ? 'Loading…' : 'Load more'}
          </button>
        </div>
      )}
      <AuditDetailDialog entry={open} onClose={() => setOpen(undefined)} />
    </Section>
  );
}

/** /admin/audit: who did what, filtered (in the URL), a page at a time, and exported. */
export function AdminAuditPage() {
  return <AdminShell title="Audit log · Admin">{() => <Audit />}</AdminShell>;
}
