import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from './common.js';

export const EventTypes = ['auth', 'security', 'vm', 'system', 'terminal', 'admin'] as const;
export type EventType = (typeof EventTypes)[number];
export const Severities = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof Severities)[number];

/**
 * Every event code the server records (the `action` column). One list, so a typo at a call site
 * is a type error and the SOC's filters and rules can name codes safely. Grouped by what they are
 * about; each line says when it happens.
 */
export const EventCodes = [
  // Control-plane sign-in and accounts
  'user.registered', // someone registered an account
  'register.denied', // a registration attempt while registration is closed
  'login.succeeded', // a sign-in succeeded
  'login.failed', // a sign-in failed (unknown login or wrong password)
  'login.blocked', // a sign-in attempt from an address locked out for that login
  'login.denied', // a correct sign-in to a disabled account
  'account.locked', // too many failed sign-ins: the login is locked for that address
  'logout', // a user logged out
  'password.changed', // a user changed their password
  'password.change_failed', // a password change with a wrong current password
  'admin.bootstrapped', // the first admin account was created on first start
  // Credentials a user holds
  'ssh_key.added', // an SSH key was added
  'ssh_key.deleted', // an SSH key was deleted
  'ssh_key.renamed', // an SSH key was renamed (DO API: PUT /v2/account/keys/{id})
  'token.created', // an API token was created
  'token.revoked', // an API token was revoked
  'token.revoked_all', // all of a user's API tokens were revoked
  // Access control on the HTTP API and the live stream
  'access.denied', // a 403: the caller may not use the route (admin only, CSRF, read-only token)
  'rate_limited', // a client hit the rate limit
  'stream.revoked', // a live event stream ended because its login or rights went away
  // VM lifecycle: requests, outcomes, and what the reconciler and health watch noticed
  'vm.create_requested', // a user asked for a new VM
  'vm.create_refused_storage', // a VM creation was refused: not enough disk space
  'vm.start_requested', // a user asked to start a VM
  'vm.stop_requested', // a user asked to stop a VM
  'vm.reboot_requested', // a user asked to reboot a VM
  'vm.destroy_requested', // a user asked to destroy a VM
  'vm.create', // a VM's creation completed
  'vm.start', // a VM's start completed
  'vm.stop', // a VM's stop completed
  'vm.reboot', // a VM's reboot completed
  'vm.destroy', // a VM's destruction completed
  'vm.create_failed', // a VM's creation failed
  'vm.start_failed', // a VM's start failed
  'vm.stop_failed', // a VM's stop failed
  'vm.reboot_failed', // a VM's reboot failed
  'vm.destroy_failed', // a VM's destruction failed
  'vm.snapshot_requested', // a user asked to snapshot a VM
  'vm.restore_requested', // a user asked to restore a VM to a snapshot
  'vm.resize_requested', // a user asked to resize a VM
  'vm.rebuild_requested', // a user asked to rebuild (reinstall) a VM
  'vm.snapshot', // a VM's snapshot completed
  'vm.restore', // a VM's restore to a snapshot completed
  'vm.resize', // a VM's resize completed
  'vm.rebuild', // a VM's rebuild completed
  'vm.snapshot_failed', // a VM's snapshot failed
  'vm.restore_failed', // a VM's restore failed
  'vm.resize_failed', // a VM's resize failed
  'vm.rebuild_failed', // a VM's rebuild failed
  'vm.migrate_requested', // an admin asked to move a stopped VM to another compute host
  'vm.migrate', // a VM's move to another compute host completed
  'vm.migrate_failed', // a VM's move to another compute host failed (it stays where it was)
  'vm.instant_fallback', // an instant creation fell back to a cold boot (warm snapshot missing, stale or failing)
  'snapshot.deleted', // a user deleted a snapshot
  'snapshot.orphan_removed', // snapshot files with no live snapshot row were removed
  'snapshot.missing', // a snapshot's files are gone from its host
  'warm_snapshot.built', // a warm snapshot (instant VMs) was built for an image and shape
  'warm_snapshot.failed', // building a warm snapshot failed
  'vm.died', // a running VM's process is gone
  'vm.adopted', // a running VM was re-adopted (e.g. after a server restart)
  'vm.paused', // the hypervisor paused a VM's guest (e.g. an I/O error)
  'vm.resumed', // a paused VM's guest runs again
  'vm.lock_released', // the reconciler released a VM lock no action held
  'vm.recovered', // an action interrupted by a server stop was resumed or settled
  'vm.action_taken_over', // another server process carries on an action whose process died
  'vm.orphan_removed', // an instance with no VM row was removed
  'vm.health.responsive', // a VM's guest answered (agent or SSH)
  'vm.health.unresponsive', // a running VM's guest stopped answering
  'vm.boot_watchdog', // a VM did not become responsive within its boot watchdog
  'vm.watchdog_reset', // the watchdog reset an unresponsive VM
  'vm.watchdog_reset_failed', // the watchdog's reset of a VM failed
  // Terminal sessions
  'terminal.session_started', // a terminal session opened on a VM
  'terminal.session_ended', // a terminal session ended normally (or by a backend error)
  'terminal.session_timed_out', // a terminal session hit its idle or maximum duration
  'terminal.session_revoked', // a terminal session ended because its login or rights went away
  'terminal.denied', // a terminal was refused (someone else's VM, revoked access)
  'terminal.host_key_changed', // a VM's SSH host key differs from the one pinned: possible interception
  // Administration
  'user.updated', // an admin changed a user (admin flag, disabled, limits)
  'credits.adjusted', // an admin adjusted a user's credits
  'admin.terminal_ended', // an admin ended someone's terminal session
  'admin.host_created', // an admin added a compute host
  'admin.host_updated', // an admin changed a compute host
  'admin.host_deleted', // an admin removed a compute host
  'admin.vm_migrated', // an admin moved a stopped VM to another compute host
  'user.deleted', // an admin deleted a user (their VMs are destroyed, their history stays)
  'user.quota_changed', // an admin changed a user's quota overrides
  'users.bulk_updated', // an admin activated, deactivated or credited many users at once
  'admin.vm_action', // an admin stopped or destroyed someone's VM from the admin panel
  'admin.emergency_stop', // an admin stopped every VM of a user, or of the whole service
  // Billing, monitoring and notifications
  'billing.negative_balance', // a user's balance went below zero after billing a VM
  'billing.low_balance', // a user's balance fell below a low-balance threshold
  'billing.grace_started', // a user's balance reached zero: the grace period began
  'billing.suspended', // the grace period ended: the user's VMs were stopped, new VMs and starts refused
  'billing.vms_destroyed', // a suspended user's VMs were destroyed after the longer grace (opt-in)
  'billing.restored', // a top-up ended a user's grace period or suspension
  'billing.monthly_cap', // a VM reached the monthly cap: it bills nothing more this month
  'alert.opened', // a monitoring alert opened
  'alert.resolved', // a monitoring alert resolved
  'notification_channel.created', // a user created a notification channel
  'notification_channel.updated', // a user changed a notification channel
  'notification_channel.deleted', // a user deleted a notification channel
  'notification_channel.secret_rotated', // a webhook channel's signing secret was replaced
  'notification.failed', // a notification could not be delivered after its retries
  // SSH inside VMs: parsed from the guest's own auth log (syslog), attributed by the VM's channel
  'ssh.login_failed', // a wrong password or refused key for an existing user on a VM's SSH server
  'ssh.invalid_user', // a login attempt for a user name the VM does not have
  'ssh.login_succeeded', // a login on a VM's SSH server succeeded (password or key)
  'ssh.disconnected_preauth', // a client left a VM's SSH server before authenticating
  'ssh.connection_refused', // the SSH gateway refused a connection to a VM from a blocked address
  'syslog.dropped', // a VM's log lines were dropped (flood rate limit, malformed or oversize)
  // SOC: detection, incidents and blocks
  'soc.incident_opened', // a detection rule opened an incident
  'soc.incident_updated', // an incident was acknowledged, resolved, marked false positive or commented
  'soc.rule_updated', // an admin enabled, disabled or tuned a detection rule
  'soc.block_added', // an address was blocked (by a rule or by a person)
  'soc.block_lifted', // a block was lifted by a person or expired
  'soc.request_refused', // the control plane refused a request from a blocked address
] as const;
export type EventCode = (typeof EventCodes)[number];

export const Event = Type.Object(
  {
    id: Type.Integer(),
    type: Type.Union(EventTypes.map((t) => Type.Literal(t))),
    severity: Type.Union(Severities.map((s) => Type.Literal(s))),
    /** The event's code (one of EventCodes, e.g. login.failed, token.created); stored as `action`. */
    action: Type.String(),
    /** The same stable code as `action` (the SOC's name for it). */
    code: Type.String(),
    message: Type.String(),
    timestamp: Timestamp,
    user_id: Type.Union([Type.Integer(), Type.Null()]),
    username: Type.Union([Type.String(), Type.Null()]),
    vm_id: Type.Union([Type.Integer(), Type.Null()]),
    source_ip: Type.Union([Type.String(), Type.Null()]),
    details: Type.Record(Type.String(), Type.Unknown()),
    /** How many times it happened: identical security events within a minute share one row. */
    count: Type.Integer({ minimum: 1 }),
    /** When it last happened (the timestamp when count is 1). */
    last_seen: Timestamp,
  },
  { title: 'Event' },
);
export type Event = Static<typeof Event>;
