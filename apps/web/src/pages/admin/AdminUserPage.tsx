import type { AdminUserDetail, DeletedUser, EmergencyStopResult, UpdateUserRequest, User } from '@twarga/contract';
import { useState, type ReactNode } from 'react';
import { Link, useParams } from 'react-router';
import { errorMessage, isApiError } from '../../api';
import { Alert } from '../../components/Alert';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { EmptyList } from '../../components/EmptyState';
import { Section } from '../../components/Section';
import { SkeletonRows } from '../../components/Spinner';
import { button, card, link, muted } from '../../components/ui';
import { formatDateTime, formatNumber } from '../../format';
import { Stat } from '../monitor/Stat';
import { AdjustCreditsDialog } from './AdjustCreditsDialog';
import { AdminShell } from './AdminShell';
import { AdminVmsTable } from './AdminVmsTable';
import { ActiveBadge, BillingStateBadge, RoleBadge } from './badges';
import { DeleteUserDialog } from './DeleteUserDialog';
import { EmergencyStopOutcome, EmergencyStopUserDialog } from './EmergencyStop';
import { Forbidden, isForbidden } from './Forbidden';
import { runwayText } from './params';
import { adminApi, useAdminMutation, useAdminUser } from './queries';
import { QuotaSection } from './QuotaSection';
import { UserEventsSection, UserLedgerSection } from './UserActivity';
import { VmActionDialog, type VmAction } from './VmActionDialog';

interface Change {
  body: UpdateUserRequest;
  title: string;
  text: string;
  label: string;
}

/** Role and sign-in changes, each behind a confirmation that says what it does. */
function changes(u: AdminUserDetail['user']): { active: Change; role: Change } {
  return {
    active: u.is_active
      ? { body: { is_active: false }, title: `Deactivate ${u.username}?`, text: `${u.username} is signed out and cannot sign in or use the API until activated again. Their VMs keep running, and billing.`, label: 'Deactivate' }
      : { body: { is_active: true }, title: `Activate ${u.username}?`, text: `${u.username} can sign in and use the API again.`, label: 'Activate' },
    role: u.is_admin
      ? { body: { is_admin: false }, title: `Remove ${u.username}'s admin role?`, text: `${u.username} loses the admin pages and the admin API at once.`, label: 'Remove admin role' }
      : { body: { is_admin: true }, title: `Make ${u.username} an admin?`, text: `${u.username} can then see and change every user, VM and host, and read the audit log.`, label: 'Make admin' },
  };
}

function Term({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div>
      <dt className={`text-xs font-medium uppercase tracking-wide ${muted}`}>{term}</dt>
      <dd className="mt-0.5 text-sm text-slate-900 dark:text-slate-100">{children}</dd>
    </div>
  );
}

function Detail({ me, data }: { me: User; data: AdminUserDetail }) {
  const { user: u, billing, quota, vms, ledger, events } = data;
  const self = u.id === me.id;
  const deleted = u.deleted_at !== null;
  const [change, setChange] = useState<Change>();
  const update = useAdminMutation((body: UpdateUserRequest) => adminApi.updateUser(u.id, body));
  const [crediting, setCrediting] = useState(false);
  const [stopping, setStopping] = useState(false);
  const [stopResult, setStopResult] = useState<EmergencyStopResult>();
  const [deleting, setDeleting] = useState(false);
  const [deleteCount, setDeleteCount] = useState(0);
  const [deletedInfo, setDeletedInfo] = useState<DeletedUser>();
  const [acting, setActing] = useState<VmAction>();
  const [actCount, setActCount] = useState(0);
  const [notice, setNotice] = useState<string>();
  const c = changes(u);
  const running = vms.filter((v) => v.status === 'running' || v.status === 'paused').length;

  return (
    <div className="space-y-6">
      <p>
        <Link to="/admin/users" className={`${link} text-sm`}>← All users</Link>
      </p>
      <section aria-labelledby="user-heading" className={`${card} p-5 sm:p-6`}>
        <div className="flex flex-wrap items-start justify-between gap-4">
          <div className="min-w-0">
            <h2 id="user-heading" className="flex flex-wrap items-center gap-2 text-xl font-semibold text-slate-900 dark:text-white">
              {u.username}
              {self && <span className={`text-sm font-normal ${muted}`}>(you)</span>}
              <RoleBadge admin={u.is_admin} />
              <ActiveBadge user={u} />
              <BillingStateBadge state={billing.state} />
            </h2>
            <p className={`mt-1 text-sm ${muted}`}>{u.email} · user #{u.id}</p>
          </div>
          {!deleted && (
            <div className="flex flex-wrap gap-2">
              <button type="button" className={button.secondary} onClick={() => setCrediting(true)}>
                Adjust credits<span className="sr-only"> for {u.username}</span>
              </button>
              <button type="button" className={button.secondary} disabled={self} title={self ? 'You cannot deactivate your own account' : undefined} onClick={() => { update.reset(); setChange(c.active); }}>
                {c.active.label}
              </button>
              <button type="button" className={button.secondary} disabled={self} title={self ? 'You cannot change your own role' : undefined} onClick={() => { update.reset(); setChange(c.role); }}>
                {c.role.label}
              </button>
            </div>
          )}
        </div>
        <dl className="mt-5 grid grid-cols-2 gap-x-6 gap-y-3 sm:grid-cols-4">
          <Term term="Created">{formatDateTime(u.created_at)}</Term>
          <Term term="Last login">{u.last_login_at ? formatDateTime(u.last_login_at) : 'never'}</Term>
          <Term term="VMs">{u.vm_count}</Term>
          {deleted && <Term term="Deleted">{formatDateTime(u.deleted_at!)}</Term>}
        </dl>
      </section>

      {deletedInfo && (
        <Alert tone="success">
          Deleted {u.username}.{' '}
          {deletedInfo.destroying.length > 0 ? `Destroying ${deletedInfo.destroying.map((d) => d.name).join(', ')}.` : 'They had no VMs.'} Their history is kept.
        </Alert>
      )}
      {notice && <Alert tone="success">{notice}</Alert>}

      <Section title="Billing" description="Stopped VMs still bill until destroyed.">
        <dl className="grid gap-3 sm:grid-cols-4" data-testid="user-billing">
          <Stat term="Balance" testId="user-balance">{formatNumber(billing.balance)}</Stat>
          <Stat term="Burn rate">{formatNumber(billing.burn_rate_hourly)}/h</Stat>
          <Stat term="Runway">{runwayText(billing.runway_hours)}</Stat>
          <Stat
            term="State"
            hint={
              billing.state === 'grace' && billing.grace_ends_at
                ? `VMs stop ${formatDateTime(billing.grace_ends_at)}`
                : billing.state === 'suspended' && billing.suspended_at
                  ? `Since ${formatDateTime(billing.suspended_at)}${billing.destroy_at ? `; VMs destroyed ${formatDateTime(billing.destroy_at)}` : ''}`
                  : undefined
            }
          >
            <BillingStateBadge state={billing.state} />
          </Stat>
        </dl>
      </Section>

      {!deleted && <QuotaSection userId={u.id} quota={quota} />}

      <Section title="VMs" description={`Their live VMs${running ? `, ${running} running` : ''}.`}>
        {stopResult && <EmergencyStopOutcome result={stopResult} onDismiss={() => setStopResult(undefined)} />}
        <div className="mb-4 flex flex-wrap items-center justify-between gap-3">
          <Link to={`/admin/vms?owner=${u.id}`} className={`${link} text-sm`}>Open in the VMs list</Link>
          {vms.length > 0 && (
            <button type="button" className={button.danger} onClick={() => setStopping(true)}>
              Emergency stop all their VMs
            </button>
          )}
        </div>
        {vms.length === 0 ? (
          <EmptyList>No VMs</EmptyList>
        ) : (
          <AdminVmsTable vms={vms} caption={`${u.username}'s VMs`} onAction={(a) => { setNotice(undefined); setActCount((n) => n + 1); setActing(a); }} />
        )}
      </Section>

      <UserLedgerSection ledger={ledger} />
      <UserEventsSection events={events} />

      {!deleted && !self && (
        <Section title="Danger zone" description="Deleting the account destroys its VMs first; its history (credit history, events, audit log) is kept.">
          <button type="button" className={button.danger} onClick={() => { setDeleteCount((n) => n + 1); setDeleting(true); }}>
            Delete user…
          </button>
        </Section>
      )}

      <ConfirmDialog
        open={change !== undefined}
        onClose={() => !update.isPending && setChange(undefined)}
        title={change?.title ?? ''}
        confirmLabel={change?.label ?? ''}
        pending={update.isPending}
        error={update.error}
        onConfirm={() => change && update.mutate(change.body, { onSuccess: () => setChange(undefined) })}
      >
        {change?.text}
      </ConfirmDialog>
      <AdjustCreditsDialog key={crediting ? 'open' : 'closed'} user={crediting ? u : undefined} onClose={() => setCrediting(false)} selfId={me.id} />
      <EmergencyStopUserDialog user={stopping ? u : undefined} onClose={() => setStopping(false)} onDone={setStopResult} />
      <DeleteUserDialog key={deleteCount} user={u} open={deleting} onClose={() => setDeleting(false)} onDeleted={(d) => { setDeleting(false); setDeletedInfo(d); }} />
      <VmActionDialog key={actCount} target={acting} onClose={() => setActing(undefined)} onDone={setNotice} />
    </div>
  );
}

function UserDetail({ me }: { me: User }) {
  const raw = useParams().id ?? '';
  const id = /^\d{1,9}$/.test(raw) ? Number(raw) : 0;
  const valid = Number.isInteger(id) && id > 0;
  const detail = useAdminUser(valid ? id : 0);
  if (!valid || (detail.isError && isApiError(detail.error) && detail.error.status === 404))
    return (
      <Alert title="No such user">
        There is no user #{raw}. <Link to="/admin/users" className="underline">Back to all users</Link>
      </Alert>
    );
  if (detail.isError && isForbidden(detail.error)) return <Forbidden />;
  if (detail.isPending) return <SkeletonRows label="Loading the user…" rows={5} />;
  if (detail.isError && !detail.data) return <Alert>Could not load the user: {errorMessage(detail.error)}</Alert>;
  return <Detail me={me} data={detail.data} />;
}

/** /admin/users/:id: one user's profile, billing, quota, VMs, credit history and events. */
export function AdminUserPage() {
  return <AdminShell title="User · Admin">{(me) => <UserDetail me={me} />}</AdminShell>;
}
