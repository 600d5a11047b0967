import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { CreatedChannel, NotificationChannel } from '@twarga/contract';
import { useState, type FormEvent } from 'react';
import { allDetailsMapped, client, errorMessage, fieldErrors, keys } from '../../api';
import { Alert } from '../../components/Alert';
import { SelectField, TextField } from '../../components/Field';
import { SubmitButton } from '../../components/SubmitButton';
import { button } from '../../components/ui';

const LABELS = { kind: 'Type', name: 'Name', email: 'E-mail address', url: 'Webhook URL', format: 'Payload' };

/** Create (no channel) or edit a channel. A new webhook's answer carries its secret, shown once by the caller. */
export function ChannelForm({ channel, onDone }: { channel?: NotificationChannel; onDone: (created?: CreatedChannel) => void }) {
  const queryClient = useQueryClient();
  const [kind, setKind] = useState<'email' | 'webhook'>((channel?.kind as 'email' | 'webhook' | undefined) ?? 'webhook');
  const [name, setName] = useState(channel?.name ?? '');
  const [email, setEmail] = useState(channel?.email ?? '');
  const [url, setUrl] = useState(channel?.url ?? '');
  const [format, setFormat] = useState<'json' | 'slack'>((channel?.format as 'json' | 'slack' | null | undefined) ?? 'json');
  const [enabled, setEnabled] = useState(channel?.enabled ?? true);
  const [local, setLocal] = useState<Record<string, string | undefined>>({});

  const save = useMutation({
    mutationFn: async (): Promise<CreatedChannel | undefined> => {
      const target = kind === 'email' ? { email: email.trim() } : { url: url.trim(), format };
      if (channel) {
        await client.notifications.channels.update(channel.id, { name: name.trim(), enabled, ...target });
        return undefined;
      }
      return client.notifications.channels.create({ kind, name: name.trim(), enabled, ...target });
    },
    onSuccess: async (created) => {
      await queryClient.invalidateQueries({ queryKey: keys.channels });
      onDone(created);
    },
  });

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const errs: Record<string, string | undefined> = {};
    if (!name.trim()) errs.name = 'Give the channel a name, e.g. on-call or ops-slack.';
    if (kind === 'email' && !/^[^\s@]+@[^\s@]+$/.test(email.trim())) errs.email = 'Enter an e-mail address.';
    if (kind === 'webhook' && !/^https?:\/\/\S+$/i.test(url.trim())) errs.url = 'Enter an http:// or https:// URL.';
    setLocal(errs);
    if (Object.values(errs).some(Boolean)) save.reset();
    else save.mutate();
  };
  const errors = { ...fieldErrors(save.error, LABELS), ...local };
  const clear = (f: string) => setLocal((l) => ({ ...l, [f]: undefined }));

  return (
    <form onSubmit={onSubmit} noValidate className="space-y-4" aria-label={channel ? 'Edit channel' : 'New channel'}>
      {save.isError && !allDetailsMapped(save.error, LABELS) && <Alert>{errorMessage(save.error)}</Alert>}
      <div className="grid gap-4 sm:grid-cols-2">
        <SelectField label="Type" value={kind} disabled={channel !== undefined} onChange={(e) => setKind(e.target.value as typeof kind)} error={errors.kind}>
          <option value="webhook">Webhook</option>
          <option value="email">E-mail</option>
        </SelectField>
        <TextField label="Name" value={name} maxLength={80} autoComplete="off" onChange={(e) => (setName(e.target.value), clear('name'))} error={errors.name} />
        {kind === 'email' ? (
          <TextField label="E-mail address" type="email" className="sm:col-span-2" value={email} onChange={(e) => (setEmail(e.target.value), clear('email'))} error={errors.email} />
        ) : (
          <>
            <TextField
              label="Webhook URL"
              type="url"
              className="sm:col-span-2"
              value={url}
              placeholder="https://hooks.example.com/twarga"
              onChange={(e) => (setUrl(e.target.value), clear('url'))}
              error={errors.url}
              hint="Receives a JSON POST signed with HMAC-SHA256 (X-Twarga-Signature); link-local and metadata addresses are refused."
            />
            <SelectField label="Payload" value={format} onChange={(e) => setFormat(e.target.value as typeof format)} error={errors.format}>
              <option value="json">JSON (Twarga)</option>
              <option value="slack">Slack-compatible</option>
            </SelectField>
          </>
        )}
      </div>
      <label className="inline-flex items-center gap-2 text-sm text-slate-800 dark:text-slate-200">
        <input type="checkbox" className="accent-indigo-600" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
        Enabled
      </label>
      <div className="flex flex-wrap justify-end gap-3">
        <button type="button" className={button.secondary} onClick={() => onDone()}>
          Cancel
        </button>
        <SubmitButton pending={save.isPending}>{channel ? 'Save channel' : 'Create channel'}</SubmitButton>
      </div>
    </form>
  );
}
