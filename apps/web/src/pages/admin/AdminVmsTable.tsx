import type { AdminVm } from '@twarga/contract';
import { Link } from 'react-router';
import { button, link, muted, table } from '../../components/ui';
import { formatNumber } from '../../format';
import { formatResources } from '../vms/format';
import { HealthBadge } from '../vms/HealthBadge';
import { VmStatusBadge } from '../vms/StatusBadge';
import type { VmAction } from './VmActionDialog';

/** Statuses a stop makes sense in (the server refuses the rest with its own message anyway). */
const STOPPABLE = new Set(['running', 'paused', 'rebooting', 'provisioning', 'stopping', 'error']);
const GONE = new Set(['destroying', 'destroyed']);

/**
 * VMs of any user with stop and destroy. `onOwner` filters by the owner (the VMs page); without it
 * the owner column is left out (a user's own page).
 */
export function AdminVmsTable({ vms, onAction, onOwner, caption }: { vms: AdminVm[]; onAction: (a: VmAction) => void; onOwner?: (vm: AdminVm) => void; caption: string }) {
  return (
    <div className={table.wrap}>
      <table className={table.table}>
        <caption className="sr-only">{caption}</caption>
        <thead>
          <tr>
            <th scope="col" className={table.th}>VM</th>
            {onOwner && <th scope="col" className={table.th}>Owner</th>}
            <th scope="col" className={table.th}>Host</th>
            <th scope="col" className={table.th}>Status</th>
            <th scope="col" className={`${table.th} hidden md:table-cell`}>Resources</th>
            <th scope="col" className={`${table.th} hidden text-right md:table-cell`}>Credits/h</th>
            <th scope="col" className={table.th}><span className="sr-only">Actions</span></th>
          </tr>
        </thead>
        <tbody className={table.tbody}>
          {vms.map((vm) => (
            <tr key={vm.id} data-testid="admin-vm-row" data-vm={vm.name}>
              <th scope="row" className={`${table.td} whitespace-nowrap text-left font-medium`}>
                <Link to={`/vms/${vm.id}`} className={link}>{vm.name}</Link>
                <span className={`block text-xs font-normal ${muted}`}>#{vm.id}{vm.ip_address ? ` · ${vm.ip_address}` : ''}</span>
              </th>
              {onOwner && (
                <td className={`${table.td} whitespace-nowrap`}>
                  <Link to={`/admin/users/${vm.user_id}`} className={link}>{vm.owner_username}</Link>
                  <button type="button" className={`ml-1 rounded px-1 text-xs ${muted} hover:underline`} onClick={() => onOwner(vm)}>
                    only theirs<span className="sr-only"> (show only {vm.owner_username}'s VMs)</span>
                  </button>
                </td>
              )}
              <td className={`${table.td} whitespace-nowrap`}>{vm.host_name ?? '—'}</td>
              <td className={table.td}>
                <div className="flex flex-wrap items-center gap-1.5">
                  <VmStatusBadge status={vm.status} reason={vm.status_reason} />
                  <HealthBadge health={vm.health} since={vm.health_since} />
                  {vm.locked && <span className={`text-xs ${muted}`} title="An action is running on it">busy</span>}
                </div>
              </td>
              <td className={`${table.td} hidden whitespace-nowrap md:table-cell`}>{formatResources(vm.ram, vm.cpu, vm.disk)}</td>
              <td className={`${table.td} hidden text-right tabular-nums md:table-cell`}>{formatNumber(vm.price_hourly)}</td>
              <td className={`${table.td} whitespace-nowrap text-right`}>
                {!GONE.has(vm.status) && (
                  <>
                    <button type="button" className={button.ghost} disabled={!STOPPABLE.has(vm.status)} onClick={() => onAction({ vm, action: 'stop' })}>
                      Stop<span className="sr-only"> {vm.name}</span>
                    </button>
                    <button type="button" className={button.dangerGhost} onClick={() => onAction({ vm, action: 'destroy' })}>
                      Destroy<span className="sr-only"> {vm.name}</span>
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
