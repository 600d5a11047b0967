import type { AlertPolicy, NotificationChannel, Vm } from '@twarga/contract';
import { useState } from 'react';
import { client, errorMessage, keys } from '../../api';
import { useMe } from '../../auth/useMe';
import { Alert } from '../../components/Alert';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { Dialog } from '../../components/Dialog';
import { EmptyList } from '../../components/EmptyState';
import { Section } from '../../components/Section';
import { SkeletonRows } from '../../components/Spinner';
import { button, table } from '../../components/ui';
import { useVms } from '../vms/queries';
import { conditionText } from './alertMetrics';
import { MonitorShell } from './MonitorShell';
import { PolicyForm } from './PolicyForm';
import { useChannels, usePolicies } from './queries';
import { useConfirmedRemove } from '../../components/useConfirmedRemove';
import { useEnabledToggle } from './useEnabledToggle';

function appliesTo(p: AlertPolicy, vms: Vm[] | undefined): string {
  if (p.entity === 'host') return 'The host';
  if (p.vm_ids.length === 0) return p.user_id === null ? 'Every VM' : 'All my VMs';
  return p.vm_ids.map((id) => vms?.find((v) => v.id === id)?.name ?? `VM #${id}`).join(', ');
}

function notifies(p: AlertPolicy, channels: NotificationChannel[] | undefined): string {
  if (p.channel_ids.length === 0) return p.user_id === null ? "Admins' channels" : 'All my channels';
  return p.channel_ids.map((id) => channels?.find((c) => c.id === id)?.name ?? `#${id}`).join(', ');
}

/** Alert policies: mine, and (admins) the host's including the system defaults. */
export function PoliciesPage() {
  const { data: me } = useMe();
  const policies = usePolicies();
  const vms = useVms();
  const channels = useChannels();
  const [editing, setEditing] = useState<AlertPolicy | 'new'>();

  const toggle = useEnabledToggle<AlertPolicy>(keys.alertPolicies, (p, enabled) => client.alerts.policies.update(p.id, { enabled }));
  const remove = useConfirmedRemove<AlertPolicy>(keys.alertPolicies, (id) => client.alerts.policies.remove(id));
  const canEdit = (p: AlertPolicy) => p.user_id === me?.id || (me?.is_admin ?? false);

  return (
    <MonitorShell title="Alert policies">
      <Section
        title="Alert policies"
        description="When a metric's average over a window crosses a value, an alert fires once and resolves once, and your channels are told both times."
      >
        <div className="mb-4 flex justify-end">
          <button type="button" className={button.primary} onClick={() => setEditing('new')}>
            New policy
          </button>
        </div>
        {policies.isPending && <SkeletonRows label="Loading policies…" rows={2} />}
        {policies.isError && <Alert>Could not load the alert policies: {errorMessage(policies.error)}</Alert>}
        {toggle.isError && <Alert className="mb-4">{errorMessage(toggle.error)}</Alert>}
        {policies.isSuccess &&
          (policies.data.length === 0 ? (
            <EmptyList>No alert policies yet.</EmptyList>
          ) : (
            <div className={table.wrap}>
              <table className={table.table} data-testid="policies-table">
                <caption className="sr-only">Alert policies</caption>
                <thead>
                  <tr>
                    <th scope="col" className={table.th}>Condition</th>
                    <th scope="col" className={table.th}>On</th>
                    <th scope="col" className={`${table.th} hidden md:table-cell`}>Notifies</th>
                    <th scope="col" className={table.th}>Enabled</th>
                    <th scope="col" className={table.th}><span className="sr-only">Actions</span></th>
                  </tr>
                </thead>
                <tbody className={table.tbody}>
                  {policies.data.map((p) => (
                    <tr key={p.id}>
                      <td className={table.td}>
                        <span className="font-medium text-slate-900 dark:text-white">{conditionText(p)}</span>
                        {(p.description || p.user_id === null) && (
                          <span className="block text-xs text-slate-600 dark:text-slate-400">
                            {p.user_id === null ? 'System default' : ''}
                            {p.user_id === null && p.description ? ' · ' : ''}
                            {p.description}
                          </span>
                        )}
                      </td>
                      <td className={table.td}>{appliesTo(p, vms.data)}</td>
                      <td className={`${table.td} hidden md:table-cell`}>{notifies(p, channels.data)}</td>
                      <td className={table.td}>
                        <label className="inline-flex items-center gap-2">
                          <input
                            type="checkbox"
                            className="accent-indigo-600"
                            checked={p.enabled}
                            disabled={!canEdit(p) || (toggle.isPending && toggle.variables?.id === p.id)}
                            onChange={() => toggle.mutate(p)}
                          />
                          <span className="sr-only">Enabled: {conditionText(p)}</span>
                        </label>
                      </td>
                      <td className={`${table.td} whitespace-nowrap text-right`}>
                        {canEdit(p) && (
                          <>
                            <button type="button" className={button.ghost} onClick={() => setEditing(p)}>
                              Edit<span className="sr-only"> {conditionText(p)}</span>
                            </button>
                            <button type="button" className={button.dangerGhost} onClick={() => remove.ask(p)}>
                              Delete<span className="sr-only"> {conditionText(p)}</span>
                            </button>
                          </>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ))}
      </Section>

      <Dialog open={editing !== undefined} onClose={() => setEditing(undefined)} title={editing === 'new' ? 'New alert policy' : 'Edit alert policy'} wide>
        {editing !== undefined && me && (
          <PolicyForm policy={editing === 'new' ? undefined : editing} isAdmin={me.is_admin} userId={me.id} onDone={() => setEditing(undefined)} />
        )}
      </Dialog>

      <ConfirmDialog
        open={remove.target !== undefined}
        onClose={remove.close}
        title="Delete alert policy?"
        confirmLabel="Delete policy"
        onConfirm={remove.confirm}
        pending={remove.pending}
        error={remove.error}
      >
          <strong className="font-semibold text-slate-900 dark:text-white">{remove.target && conditionText(remove.target)}</strong> stops being watched. Alerts it raised stay in the list.
      </ConfirmDialog>
    </MonitorShell>
  );
}
