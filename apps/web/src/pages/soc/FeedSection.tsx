import type { SocEventQuery } from '@twarga/contract';
import { errorMessage, client } from '../../api';
import { Alert } from '../../components/Alert';
import { EmptyList } from '../../components/EmptyState';
import { Section } from '../../components/Section';
import { SkeletonRows, Spinner } from '../../components/Spinner';
import { button } from '../../components/ui';
import { useVms } from '../vms/queries';
import { EventTable } from './EventRows';
import { FilterBar } from './FilterBar';
import { hasFilters } from './filters';
import { useSocFeed } from './useSocFeed';
import type { SocParams } from './useSocParams';

const download = `${button.secondary} px-3 py-1.5`;

/** The live feed with its filters, pause, older pages and export. */
export function FeedSection({ soc, query }: { soc: SocParams; query: Omit<SocEventQuery, 'limit' | 'cursor'> }) {
  const feed = useSocFeed(query, true);
  const vms = useVms();
  const { pages } = feed;
  return (
    <Section title="Live feed" description="Newest first. New events appear as they happen; pause to read without the list moving.">
      <FilterBar filters={soc.filters} onChange={soc.setFilters} events={feed.events} vms={vms.data ?? []} />
      <div className="mb-3 mt-5 flex flex-wrap items-center gap-3">
        <button type="button" aria-pressed={feed.paused} className={button.secondary} onClick={feed.paused ? feed.resume : feed.pause}>
          {feed.paused ? (
            <svg viewBox="0 0 16 16" className="h-4 w-4" fill="currentColor" aria-hidden="true"><path d="M4 2.5v11l9-5.5-9-5.5Z" /></svg>
          ) : (
            <svg viewBox="0 0 16 16" className="h-4 w-4" fill="currentColor" aria-hidden="true"><path d="M4 2.5h3v11H4zM9 2.5h3v11H9z" /></svg>
          )}
          {feed.paused ? 'Resume' : 'Pause'}
        </button>
        {feed.paused && feed.newCount > 0 && (
          <button type="button" data-testid="soc-new-badge" className="rounded-full bg-indigo-600 px-3 py-1 text-xs font-semibold text-white hover:bg-indigo-700 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2" onClick={feed.resume}>
            {feed.newCount} new
          </button>
        )}
        <span role="status" className="flex items-center gap-1.5 text-xs text-slate-600 dark:text-slate-400">
          <span aria-hidden="true" className={`h-2 w-2 rounded-full ${feed.paused ? 'bg-slate-400' : 'animate-pulse bg-emerald-500'}`} />
          {feed.paused ? 'Paused' : 'Live'}
        </span>
        <div className="ml-auto flex items-center gap-2">
          <span className="text-xs text-slate-600 dark:text-slate-400">Export {hasFilters(soc.filters) ? 'the filtered events' : 'every event'}:</span>
          <a className={download} href={client.soc.exportUrl('csv', query)} download>CSV</a>
          <a className={download} href={client.soc.exportUrl('json', query)} download>JSON</a>
        </div>
      </div>
      {pages.isPending && <SkeletonRows label="Loading events…" rows={4} />}
      {pages.isError && <Alert>Could not load the events: {errorMessage(pages.error)}</Alert>}
      {pages.isSuccess &&
        (feed.events.length === 0 ? (
          <EmptyList>{hasFilters(soc.filters) ? 'No event matches these filters yet.' : 'No event yet. Sign-ins, token changes and attacks will show up here as they happen.'}</EmptyList>
        ) : (
          <EventTable events={feed.events} caption="Security events, newest first" testId="soc-feed" onOpen={(id) => soc.set({ event: String(id) })} />
        ))}
      {pages.hasNextPage && (
        <div className="mt-4 flex justify-center">
          <button type="button" className={button.secondary} disabled={pages.isFetchingNextPage} onClick={() => void pages.fetchNextPage()}>
            {pages.isFetchingNextPage && <Spinner />}
            Load older events
          </button>
        </div>
      )}
      {pages.isFetchNextPageError && <Alert className="mt-3">Could not load older events: {errorMessage(pages.error)}</Alert>}
    </Section>
  );
}
