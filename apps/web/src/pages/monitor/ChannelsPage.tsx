import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { CreatedChannel, NotificationChannel, NotificationDelivery } from '@twarga/contract';
import { useState } from 'react';
import { client, errorMessage, keys } from '../../api';
import { Alert } from '../../components/Alert';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { Dialog } from '../../components/Dialog';
import { EmptyList } from '../../components/EmptyState';
import { Section } from '../../components/Section';
import { SkeletonRows, Spinner } from '../../components/Spinner';
import { button, table } from '../../components/ui';
import { ChannelForm } from './ChannelForm';
import { DeliveriesTable, DeliveryStatus, deliveryOutcome } from './DeliveriesTable';
import { MonitorShell } from './MonitorShell';
import { useChannels, useDeliveries } from './queries';
import { SecretBox } from './SecretBox';
import { useConfirmedRemove } from '../../components/useConfirmedRemove';
import { useEnabledToggle } from './useEnabledToggle';

const target = (c: NotificationChannel) => (c.kind === 'email' ? c.email : `${c.url}${c.format === 'slack' ? ' (Slack)' : ''}`);

/** Where alerts go (e-mail, webhooks), a test button for each, and the log of what was sent. */
export function ChannelsPage() {
  const queryClient = useQueryClient();
  const channels = useChannels();
  const deliveries = useDeliveries();
  const [editing, setEditing] = useState<NotificationChannel | 'new'>();
  const [secret, setSecret] = useState<CreatedChannel>();
  const [tested, setTested] = useState<{ channel: NotificationChannel; delivery: NotificationDelivery }>();

  const refreshDeliveries = () => queryClient.invalidateQueries({ queryKey: ['notification-deliveries'] });
  const test = useMutation({
    mutationFn: (c: NotificationChannel) => client.notifications.channels.test(c.id),
    onSuccess: async (delivery, channel) => {
      setTested({ channel, delivery });
      await refreshDeliveries();
    },
  });
  const rotate = useMutation({
    mutationFn: (c: NotificationChannel) => client.notifications.channels.rotateSecret(c.id),
    onSuccess: (created) => setSecret(created),
  });
  const toggle = useEnabledToggle<NotificationChannel>(keys.channels, (c, enabled) => client.notifications.channels.update(c.id, { enabled }));
  const remove = useConfirmedRemove<NotificationChannel>(keys.channels, (id) => client.notifications.channels.remove(id));
  const problem = test.error ?? rotate.error ?? toggle.error;

  return (
    <MonitorShell title="Notification channels">
      <Section title="Notification channels" description="Alerts are sent to these when they fire and when they resolve. A failed delivery is retried in the background and never holds anything up.">
        {secret && <SecretBox channel={secret} onDismiss={() => setSecret(undefined)} />}
        <div className="mb-4 flex justify-end">
          <button type="button" className={button.primary} onClick={() => setEditing('new')}>
            New channel
          </button>
        </div>
        {problem && <Alert className="mb-4">{errorMessage(problem)}</Alert>}
        {tested && (
          <Alert tone={tested.delivery.status === 'failed' ? 'error' : tested.delivery.status === 'delivered' ? 'success' : 'info'} className="mb-4" title={`Test sent to ${tested.channel.name}`}>
            <span data-testid="test-delivery">
              <DeliveryStatus d={tested.delivery} /> {deliveryOutcome(tested.delivery)}
            </span>
          </Alert>
        )}
        {channels.isPending && <SkeletonRows label="Loading channels…" rows={2} />}
        {channels.isError && <Alert>Could not load your channels: {errorMessage(channels.error)}</Alert>}
        {channels.isSuccess &&
          (channels.data.length === 0 ? (
            <EmptyList>No channels yet: add an e-mail address or a webhook.</EmptyList>
          ) : (
            <div className={table.wrap}>
              <table className={table.table} data-testid="channels-table">
                <caption className="sr-only">Notification channels</caption>
                <thead>
                  <tr>
                    <th scope="col" className={table.th}>Name</th>
                    <th scope="col" className={`${table.th} hidden sm:table-cell`}>Sends to</th>
                    <th scope="col" className={table.th}>Enabled</th>
                    <th scope="col" className={table.th}><span className="sr-only">Actions</span></th>
                  </tr>
                </thead>
                <tbody className={table.tbody}>
                  {channels.data.map((c) => (
                    <tr key={c.id}>
                      <td className={table.td}>
                        <span className="font-medium text-slate-900 dark:text-white">{c.name}</span>
                        <span className="block text-xs text-slate-600 dark:text-slate-400">{c.kind === 'email' ? 'E-mail' : 'Webhook'}</span>
                      </td>
                      <td className={`${table.td} hidden max-w-xs truncate font-mono text-xs sm:table-cell`}>{target(c)}</td>
                      <td className={table.td}>
                        <input type="checkbox" className="accent-indigo-600" aria-label={`Enabled: ${c.name}`} checked={c.enabled} disabled={toggle.isPending} onChange={() => toggle.mutate(c)} />
                      </td>
                      <td className={`${table.td} whitespace-nowrap text-right`}>
                        <button type="button" className={button.ghost} disabled={test.isPending} onClick={() => test.mutate(c)}>
                          {test.isPending && test.variables?.id === c.id && <Spinner />}
                          Send test<span className="sr-only"> to {c.name}</span>
                        </button>
                        {c.kind === 'webhook' && (
                          <button type="button" className={button.ghost} disabled={rotate.isPending} onClick={() => rotate.mutate(c)}>
                            New secret<span className="sr-only"> for {c.name}</span>
                          </button>
                        )}
                        <button type="button" className={button.ghost} onClick={() => setEditing(c)}>
                          Edit<span className="sr-only"> {c.name}</span>
                        </button>
                        <button type="button" className={button.dangerGhost} onClick={() => remove.ask(c)}>
                          Delete<span className="sr-only"> {c.name}</span>
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ))}
      </Section>

      <Section title="Deliveries" description="The latest notifications sent to your channels, tests included.">
        <div className="mb-3 flex justify-end">
          <button type="button" className={button.secondary} onClick={() => void refreshDeliveries()} disabled={deliveries.isFetching}>
            {deliveries.isFetching && <Spinner />}
            Refresh
          </button>
        </div>
        {deliveries.isPending && <SkeletonRows label="Loading deliveries…" rows={2} />}
        {deliveries.isError && <Alert>Could not load the deliveries: {errorMessage(deliveries.error)}</Alert>}
        {deliveries.isSuccess &&
          (deliveries.data.length === 0 ? <EmptyList>Nothing sent yet.</EmptyList> : <DeliveriesTable list={deliveries.data} channels={channels.data} />)}
      </Section>

      <Dialog open={editing !== undefined} onClose={() => setEditing(undefined)} title={editing === 'new' ? 'New notification channel' : 'Edit notification channel'} wide>
        {editing !== undefined && (
          <ChannelForm
            channel={editing === 'new' ? undefined : editing}
            onDone={(created) => {
              setEditing(undefined);
              if (created?.secret) setSecret(created);
            }}
          />
        )}
      </Dialog>

      <ConfirmDialog
        open={remove.target !== undefined}
        onClose={remove.close}
        title="Delete channel?"
        confirmLabel="Delete channel"
        onConfirm={remove.confirm}
        pending={remove.pending}
        error={remove.error}
      >
          Nothing more is sent to <strong className="font-semibold text-slate-900 dark:text-white">{remove.target?.name}</strong>. Policies that named it fall back to
          your other channels.
      </ConfirmDialog>
    </MonitorShell>
  );
}
