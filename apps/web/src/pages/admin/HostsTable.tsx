import type { ComputeHost, UpdateHostRequest } from '@twarga/contract';
import { errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { Spinner } from '../../components/Spinner';
import { focusRing, link, muted, table } from '../../components/ui';
import { DriverBadge, HostStatus } from './HostBadges';
import { useUpdateHost } from './hostsQueries';
import { UsageBar } from './UsageBar';

/** Column titles, and below which breakpoint each one is hidden. */
const COLUMNS = [
  ['Host', ''],
  ['Status', ''],
  ['Usage', ''],
  ['VMs', 'hidden lg:table-cell text-right'],
] as const;

/**
 * Below the lg breakpoint each row becomes a small card (CSS only, same markup): name and
 * status on top, then the usage bars (side by side from sm), then the actions.
 */
const narrow = {
  table: 'max-lg:block',
  head: 'max-lg:sr-only',
  body: 'max-lg:block',
  row: 'max-lg:grid max-lg:grid-cols-[minmax(0,1fr)_auto] max-lg:py-2',
  host: 'max-lg:block max-lg:min-w-0 max-lg:pb-1.5',
  status: 'max-lg:block max-lg:pb-1.5 max-lg:pl-0',
  usage: 'max-lg:col-span-2 max-lg:block max-lg:py-1.5 sm:max-lg:grid sm:max-lg:grid-cols-2 sm:max-lg:gap-x-8 sm:max-lg:space-y-0',
  actions: 'max-lg:col-span-2 max-lg:block max-lg:pt-1 max-lg:pb-1.5',
};

/** Compact ghost buttons: four of them fit beside the usage bars. */
const act = `inline-flex items-center rounded-md px-2 py-1.5 text-sm font-semibold transition-colors disabled:cursor-not-allowed disabled:opacity-60 ${focusRing}`;
const tones = {
  plain: 'text-slate-700 hover:bg-slate-100 dark:text-slate-200 dark:hover:bg-slate-800',
  good: 'text-emerald-700 hover:bg-emerald-50 dark:text-emerald-300 dark:hover:bg-emerald-950/60',
  danger: 'text-red-700 hover:bg-red-50 dark:text-red-300 dark:hover:bg-red-950/60',
};

/** Where the host is: its libvirt URI (long ones cut, whole in the tooltip) and storage pool, or this machine. */
function Where({ host }: { host: ComputeHost }) {
  if (!host.uri) return <span className={`mt-0.5 block text-xs ${muted}`}>this machine</span>;
  return (
    <>
      <code title={host.uri} className={`mt-0.5 block max-w-full truncate font-mono text-xs sm:max-w-[24rem] lg:max-w-[16rem] xl:max-w-[20rem] ${muted}`}>
        {host.uri}
      </code>
      {host.pool && (
        <span className={`mt-0.5 block text-xs ${muted}`}>
          pool <code className="font-mono">{host.pool}</code>
          {host.pool_is_default ? ' (default)' : ''}
        </span>
      )}
    </>
  );
}

const vmsWord = (n: number) => (n === 1 ? 'VM' : 'VMs');

type HostHandler = (h: ComputeHost) => void;

export function HostsTable({ hosts, onShowVms, onEdit, onRemove }: { hosts: ComputeHost[]; onShowVms: HostHandler; onEdit: HostHandler; onRemove: HostHandler }) {
  const update = useUpdateHost();
  const flip = (h: ComputeHost, body: UpdateHostRequest) => update.mutate({ id: h.id, name: h.name, body });

  return (
    <>
      {update.isError && (
        <Alert className="mb-4">
          Could not change {update.variables?.name}: {errorMessage(update.error)}
        </Alert>
      )}
      <div className={table.wrap}>
        <table className={`${table.table} ${narrow.table}`}>
          <caption className="sr-only">Compute hosts</caption>
          <thead className={narrow.head}>
            <tr>
              {COLUMNS.map(([h, hide]) => (
                <th key={h} scope="col" className={`${table.th} ${hide}`}>
                  {h}
                </th>
              ))}
              <th scope="col" className={table.th}>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody className={`${table.tbody} ${narrow.body}`}>
            {hosts.map((h) => {
              const busy = update.isPending && update.variables?.id === h.id;
              return (
                <tr key={h.id} aria-busy={busy || undefined} className={narrow.row}>
                  <th scope="row" className={`${table.td} text-left font-normal ${narrow.host}`}>
                    <span className="flex flex-wrap items-center gap-x-2 gap-y-1">
                      <span className="font-semibold text-slate-900 dark:text-white">{h.name}</span>
                      <DriverBadge driver={h.driver} />
                      {busy && <Spinner className="h-3.5 w-3.5 text-slate-500" />}
                    </span>
                    <Where host={h} />
                    {/* On narrow screens the VMs column's number goes under the name (same button, same name). */}
                    <button type="button" className={`${link} mt-0.5 block text-xs lg:hidden`} onClick={() => onShowVms(h)}>
                      {h.usage.vms} {vmsWord(h.usage.vms)}<span className="sr-only"> on {h.name}</span>
                    </button>
                  </th>
                  <td className={`${table.td} ${narrow.status}`}>
                    <HostStatus host={h} />
                  </td>
                  <td className={`${table.td} space-y-2 ${narrow.usage}`}>
                    <UsageBar label="RAM" used={h.usage.ram_mb} total={h.ram_mb} unit="MB" of={h.name} />
                    <UsageBar label="vCPUs" used={h.usage.vcpus} total={h.vcpus} of={h.name} />
                  </td>
                  <td className={`${table.td} hidden text-right lg:table-cell`}>
                    <button type="button" className={`${act} ${tones.plain} -mr-2 tabular-nums`} onClick={() => onShowVms(h)} title={`See the VMs on ${h.name}`}>
                      {h.usage.vms}<span className="sr-only"> {vmsWord(h.usage.vms)} on {h.name}</span>
                    </button>
                  </td>
                  <td className={`${table.td} ${narrow.actions}`}>
                    <div className="-mx-2 flex flex-wrap gap-0.5 lg:mx-0 lg:grid lg:grid-cols-[auto_auto] lg:justify-end xl:flex xl:flex-nowrap">
                      <button type="button" className={`${act} ${tones.plain}`} disabled={busy} onClick={() => flip(h, { draining: !h.draining })}
                        title={h.draining ? 'Let the scheduler place new VMs here again' : 'Keep its VMs, place no new ones here'}>
                        {h.draining ? 'Undrain' : 'Drain'}<span className="sr-only"> {h.name}</span>
                      </button>
                      <button type="button" className={`${act} ${h.enabled ? tones.plain : tones.good}`} disabled={busy} onClick={() => flip(h, { enabled: !h.enabled })}
                        title={h.enabled ? 'The scheduler skips a disabled host' : 'Let the scheduler use this host'}>
                        {h.enabled ? 'Disable' : 'Enable'}<span className="sr-only"> {h.name}</span>
                      </button>
                      <button type="button" className={`${act} ${tones.plain}`} onClick={() => onEdit(h)}>
                        Edit<span className="sr-only"> {h.name}</span>
                      </button>
                      <button type="button" className={`${act} ${tones.danger}`} onClick={() => onRemove(h)}>
                        Remove<span className="sr-only"> {h.name}</span>
                      </button>
                    </div>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </>
  );
}
