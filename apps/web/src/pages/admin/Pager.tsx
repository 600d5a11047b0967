import { button, muted } from '../../components/ui';
import { formatNumber } from '../../format';
import { pageInfo } from './params';

/** "Showing 51–100 of 230" with Previous / Next (the page number lives in the URL). */
export function Pager({ page, pageSize, total, shown, noun, onPage }: { page: number; pageSize: number; total: number; shown: number; noun: string; onPage: (p: number) => void }) {
  const { pages, first, last } = pageInfo(page, pageSize, total, shown);
  // An empty list says so itself.
  if (total === 0) return null;
  return (
    <nav aria-label={`${noun} pages`} className="mt-4 flex flex-wrap items-center justify-between gap-3">
      <p className={`text-sm ${muted}`} data-testid="pager-summary">
        Showing {formatNumber(first)}–{formatNumber(last)} of {formatNumber(total)} {noun}
      </p>
      {pages > 1 && (
        <div className="flex items-center gap-2">
          <button type="button" className={button.secondary} disabled={page <= 1} onClick={() => onPage(page - 1)}>
            Previous
          </button>
          <span className={`text-sm tabular-nums ${muted}`}>
            Page {page} of {pages}
          </span>
          <button type="button" className={button.secondary} disabled={page >= pages} onClick={() => onPage(page + 1)}>
            Next
          </button>
        </div>
      )}
    </nav>
  );
}
