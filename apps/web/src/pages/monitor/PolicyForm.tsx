import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { AlertPolicy, CreateAlertPolicyRequest } from '@twarga/contract';
import { useState, type FormEvent } from 'react';
import { allDetailsMapped, client, errorMessage, fieldErrors, keys } from '../../api';
import { Alert } from '../../components/Alert';
import { SelectField, TextField } from '../../components/Field';
import { SubmitButton } from '../../components/SubmitButton';
import { button } from '../../components/ui';
import { useVms } from '../vms/queries';
import { ALERT_COMPARES, ALERT_WINDOWS, HOST_ALERT_METRICS, metricLabel, valueUnitText, VM_ALERT_METRICS } from './alertMetrics';
import { Checklist } from './Checklist';
import { useChannels } from './queries';

const LABELS = { entity: 'Watch', metric: 'Metric', compare: 'Condition', value: 'Value', window: 'For at least', vm_ids: 'VMs', channel_ids: 'Channels', description: 'Description' };

type Entity = 'vm' | 'host';

/** Create (no policy) or edit a policy. Host policies are offered to admins only. */
export function PolicyForm({ policy, isAdmin, userId, onDone }: { policy?: AlertPolicy; isAdmin: boolean; userId: number; onDone: () => void }) {
  const queryClient = useQueryClient();
  const vms = useVms();
  const channels = useChannels();
  const [entity, setEntity] = useState<Entity>((policy?.entity as Entity | undefined) ?? 'vm');
  const [metric, setMetric] = useState(policy?.metric ?? 'cpu_percent');
  const [compare, setCompare] = useState<(typeof ALERT_COMPARES)[number]>((policy?.compare as (typeof ALERT_COMPARES)[number] | undefined) ?? 'GreaterThan');
  const [value, setValue] = useState(policy ? String(policy.value) : '80');
  const [win, setWin] = useState<(typeof ALERT_WINDOWS)[number]>((policy?.window as (typeof ALERT_WINDOWS)[number] | undefined) ?? '5m');
  const [vmIds, setVmIds] = useState<number[] | 'all'>(policy && policy.vm_ids.length ? policy.vm_ids : 'all');
  const [channelIds, setChannelIds] = useState<number[] | 'all'>(policy && policy.channel_ids.length ? policy.channel_ids : 'all');
  const [description, setDescription] = useState(policy?.description ?? '');
  const [enabled, setEnabled] = useState(policy?.enabled ?? true);
  const [local, setLocal] = useState<Record<string, string | undefined>>({});

  const metrics: readonly string[] = entity === 'host' ? HOST_ALERT_METRICS : VM_ALERT_METRICS;
  const myVms = (vms.data ?? []).filter((v) => v.user_id === userId && v.status !== 'destroyed').map((v) => ({ id: v.id, label: v.name }));
  // A system policy notifies the admins' channels: nobody picks one of their own for it.
  const system = policy !== undefined && policy.user_id === null;
  const myChannels = (channels.data ?? []).map((c) => ({ id: c.id, label: `${c.name} (${c.kind})${c.enabled ? '' : ' — disabled'}` }));

  const save = useMutation({
    mutationFn: () => {
      const body = {
        metric,
        compare,
        value: Number(value),
        window: win,
        vm_ids: entity === 'vm' && vmIds !== 'all' ? vmIds : [],
        ...(system ? {} : { channel_ids: channelIds === 'all' ? [] : channelIds }),
        description: description.trim(),
        enabled,
      };
      return policy ? client.alerts.policies.update(policy.id, body) : client.alerts.policies.create({ entity, ...body } as CreateAlertPolicyRequest);
    },
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: keys.alertPolicies });
      onDone();
    },
  });

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const errs: Record<string, string | undefined> = {};
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) errs.value = 'Enter a number.';
    else if (metric.endsWith('_percent') && (n < 0 || n > 100)) errs.value = 'A percentage goes from 0 to 100.';
    else if (n < 0) errs.value = 'Enter 0 or more.';
    if (vmIds !== 'all' && entity === 'vm' && vmIds.length === 0) errs.vm_ids = 'Tick at least one VM, or choose all of them.';
    if (channelIds !== 'all' && !system && channelIds.length === 0) errs.channel_ids = 'Tick at least one channel, or choose all of them.';
    setLocal(errs);
    if (Object.values(errs).some(Boolean)) save.reset();
    else save.mutate();
  };

  const errors = { ...fieldErrors(save.error, LABELS), ...local };
  const unit = valueUnitText(metric);

  return (
    <form onSubmit={onSubmit} noValidate className="space-y-4" aria-label={policy ? 'Edit alert policy' : 'New alert policy'}>
      {save.isError && !allDetailsMapped(save.error, LABELS) && <Alert>{errorMessage(save.error)}</Alert>}
      <div className="grid gap-4 sm:grid-cols-2">
        <SelectField
          label="Watch"
          value={entity}
          disabled={policy !== undefined}
          onChange={(e) => {
            const next = e.target.value as Entity;
            setEntity(next);
            if (!(next === 'host' ? HOST_ALERT_METRICS : VM_ALERT_METRICS).includes(metric as never)) setMetric('cpu_percent');
          }}
          error={errors.entity}
          hint={isAdmin ? undefined : 'Host policies are for admins.'}
        >
          <option value="vm">My VMs</option>
          {(isAdmin || entity === 'host') && <option value="host">The host</option>}
        </SelectField>
        <SelectField label="Metric" value={metric} onChange={(e) => setMetric(e.target.value)} error={errors.metric}>
          {metrics.map((m) => (
            <option key={m} value={m}>
              {metricLabel(m)}
            </option>
          ))}
        </SelectField>
        <SelectField label="Condition" value={compare} onChange={(e) => setCompare(e.target.value as typeof compare)} error={errors.compare}>
          {ALERT_COMPARES.map((c) => (
            <option key={c} value={c}>
              {c === 'GreaterThan' ? 'is above' : 'is below'}
            </option>
          ))}
        </SelectField>
        <TextField
          label="Value"
          type="number"
          inputMode="decimal"
          step="any"
          min={0}
          value={value}
          onChange={(e) => {
            setValue(e.target.value);
            setLocal((l) => ({ ...l, value: undefined }));
          }}
          error={errors.value}
          hint={unit ? `In ${unit}.` : undefined}
        />
        <SelectField label="For at least" value={win} onChange={(e) => setWin(e.target.value as typeof win)} error={errors.window} hint="The average over this window is compared.">
          {ALERT_WINDOWS.map((w) => (
            <option key={w} value={w}>
              {w}
            </option>
          ))}
        </SelectField>
        <TextField label="Description" value={description} maxLength={200} onChange={(e) => setDescription(e.target.value)} error={errors.description} hint="Optional." />
      </div>
      {entity === 'vm' && (
        <Checklist
          legend="VMs"
          allLabel="All my VMs, including new ones"
          someLabel="Only these"
          items={myVms}
          selected={vmIds}
          onChange={(v) => {
            setVmIds(v);
            setLocal((l) => ({ ...l, vm_ids: undefined }));
          }}
          emptyText="You have no VMs."
          error={errors.vm_ids}
        />
      )}
      {!system && (
        <Checklist
          legend="Notify"
          allLabel="All my enabled channels"
          someLabel="Only these"
          items={myChannels}
          selected={channelIds}
          onChange={(v) => {
            setChannelIds(v);
            setLocal((l) => ({ ...l, channel_ids: undefined }));
          }}
          emptyText="You have no notification channels yet."
          error={errors.channel_ids}
        />
      )}
      <label className="inline-flex items-center gap-2 text-sm text-slate-800 dark:text-slate-200">
        <input type="checkbox" className="accent-indigo-600" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
        Enabled
      </label>
      <div className="flex flex-wrap justify-end gap-3">
        <button type="button" className={button.secondary} onClick={onDone}>
          Cancel
        </button>
        <SubmitButton pending={save.isPending} busy="Saving…">
          {policy ? 'Save policy' : 'Create policy'}
        </SubmitButton>
      </div>
    </form>
  );
}
