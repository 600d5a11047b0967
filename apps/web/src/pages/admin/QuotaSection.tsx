import type { UserQuota } from '@twarga/contract';
import { useState, type FormEvent } from 'react';
import { errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { TextField } from '../../components/Field';
import { Section } from '../../components/Section';
import { SubmitButton } from '../../components/SubmitButton';
import { formatNumber } from '../../format';
import { checkQuota, QUOTA_FIELDS, quotaDraft, type QuotaDraft } from './quotaForm';
import { adminApi, useAdminMutation } from './queries';

/**
 * The user's limits: an empty field is the server's default, a number overrides it. Each field
 * says what applies now and what the user's live VMs use of it. After a save the form shows
 * what the server stored.
 */
export function QuotaSection({ userId, quota }: { userId: number; quota: UserQuota }) {
  const [draft, setDraft] = useState<QuotaDraft>(() => quotaDraft(quota.overrides));
  const [errors, setErrors] = useState<Partial<Record<keyof QuotaDraft, string>>>({});
  const [saved, setSaved] = useState(false);
  const save = useAdminMutation((body: ReturnType<typeof checkQuota>['body']) => adminApi.updateQuota(userId, body));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const checked = checkQuota(draft);
    setErrors(checked.errors);
    setSaved(false);
    if (Object.keys(checked.errors).length === 0)
      save.mutate(checked.body, {
        onSuccess: (stored) => {
          setDraft(quotaDraft(stored.overrides));
          setSaved(true);
        },
      });
  };

  return (
    <Section title="Quota" description="Leave a field empty for the server-wide limit. New VMs (and snapshots) beyond a limit are refused; running VMs and kept snapshots are not touched.">
      <form onSubmit={submit} noValidate className="space-y-4" aria-label="Quota overrides">
        {save.isError && <Alert>{errorMessage(save.error)}</Alert>}
        {saved && !save.isPending && <Alert tone="success">Quota saved.</Alert>}
        <div className="grid gap-4 sm:grid-cols-2">
          {QUOTA_FIELDS.map(({ field, label, usage, unit }) => {
            const override = quota.overrides[field];
            const u = unit ? ` ${unit}` : '';
            return (
              <TextField
                key={field}
                label={label}
                name={field}
                type="number"
                inputMode="numeric"
                min={0}
                step={1}
                placeholder={`default (${formatNumber(quota.effective[field])})`}
                value={draft[field]}
                error={errors[field]}
                onChange={(e) => {
                  setDraft((d) => ({ ...d, [field]: e.target.value }));
                  setErrors((x) => ({ ...x, [field]: undefined }));
                  setSaved(false);
                }}
                hint={
                  <span data-testid={`quota-${field}`}>
                    Applies: {formatNumber(quota.effective[field])}{u} ({override === null ? 'server default' : 'override'}) · in use: {formatNumber(quota.usage[usage])}{u}
                  </span>
                }
              />
            );
          })}
        </div>
        <div className="flex justify-end">
          <SubmitButton pending={save.isPending}>Save quota</SubmitButton>
        </div>
      </form>
    </Section>
  );
}
