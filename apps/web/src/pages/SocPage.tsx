import type { User } from '@twarga/contract';
import { useMemo } from 'react';
import { useMe } from '../auth/useMe';
import { PageHeader } from '../components/PageHeader';
import { Loading } from '../components/Spinner';
import { useTitle } from '../useTitle';
import { BlocksSection } from './soc/BlocksSection';
import { EventDetailDialog } from './soc/EventDetailDialog';
import { FeedSection } from './soc/FeedSection';
import { toQuery } from './soc/filters';
import { IncidentDialog } from './soc/IncidentDialog';
import { IncidentsSection } from './soc/IncidentsSection';
import { RulesSection } from './soc/RulesSection';
import { SocTabs } from './soc/SocTabs';
import { StatsSection } from './soc/StatsSection';
import { useSocLiveInvalidation } from './soc/useSocLiveInvalidation';
import { useSocParams, type SocParams, type SocTab } from './soc/useSocParams';

/** Admins see their own events by default; the switch shows everyone's (?all=1). */
function AllTenantsSwitch({ soc }: { soc: SocParams }) {
  return (
    <button
      type="button"
      role="switch"
      aria-checked={soc.allTenants}
      onClick={() => soc.set({ all: soc.allTenants ? undefined : '1' })}
      className="inline-flex items-center gap-2 rounded-lg border border-slate-300 bg-white px-3 py-2 text-sm font-medium text-slate-800 shadow-sm hover:bg-slate-50 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 dark:border-slate-600 dark:bg-slate-800 dark:text-slate-100 dark:hover:bg-slate-700"
    >
      <span aria-hidden="true" className={`relative inline-flex h-5 w-9 items-center rounded-full transition-colors ${soc.allTenants ? 'bg-indigo-600' : 'bg-slate-400 dark:bg-slate-600'}`}>
        <span className={`inline-block h-4 w-4 rounded-full bg-white shadow transition-transform ${soc.allTenants ? 'translate-x-4' : 'translate-x-0.5'}`} />
      </span>
      All tenants
    </button>
  );
}

function Soc({ me }: { me: User }) {
  const soc = useSocParams();
  useSocLiveInvalidation();
  // An admin's own view asks for the events about them; users are limited by the server.
  const onlyUserId = me.is_admin && !soc.allTenants ? me.id : undefined;
  const filterKey = JSON.stringify(soc.filters);
  // eslint-disable-next-line react-hooks/exhaustive-deps -- filterKey stands for soc.filters
  const query = useMemo(() => toQuery(soc.filters, onlyUserId), [filterKey, onlyUserId]);
  const tabs: { tab: SocTab; label: string }[] = [
    { tab: 'events', label: 'Events' },
    { tab: 'incidents', label: 'Incidents' },
    { tab: 'blocks', label: 'Blocks' },
    ...(me.is_admin ? [{ tab: 'rules' as const, label: 'Rules' }] : []),
  ];
  const tab = soc.tab === 'rules' && !me.is_admin ? 'events' : soc.tab;
  return (
    <>
      <PageHeader
        title="Security"
        description={me.is_admin ? (soc.allTenants ? 'Every tenant: all events, incidents and blocks.' : 'Events about your own account and VMs. Switch on "All tenants" to see everyone’s.') : 'Sign-ins, changes to your account, and attacks on your VMs, as they happen.'}
        actions={me.is_admin ? <AllTenantsSwitch soc={soc} /> : undefined}
      />
      <SocTabs tabs={tabs} active={tab} />
      <div className="space-y-6">
        {tab === 'events' && (
          <>
            {/* The statistics route counts everything an admin may see, whatever the switch says. */}
            <StatsSection everyone={me.is_admin} onSource={(address) => soc.setFilters({ ...soc.filters, source_ip: address })} />
            <FeedSection soc={soc} query={query} />
          </>
        )}
        {tab === 'incidents' && <IncidentsSection onOpen={(id) => soc.set({ incident: String(id) })} />}
        {tab === 'blocks' && <BlocksSection me={me} />}
        {tab === 'rules' && <RulesSection />}
      </div>
      <IncidentDialog id={soc.incidentId} me={me} onClose={() => soc.set({ incident: undefined })} onOpenEvent={(id) => soc.set({ event: String(id) })} />
      <EventDetailDialog id={soc.eventId} onOpen={(id) => soc.set({ event: String(id) }, true)} onClose={() => soc.set({ event: undefined })} />
    </>
  );
}

/** The SOC: live security events, statistics, incidents, blocks and (admins) the detection rules. */
export function SocPage() {
  useTitle('Security');
  const { data: me } = useMe();
  return me ? <Soc me={me} /> : <Loading />;
}
