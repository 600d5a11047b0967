import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { BlockScope, SocBlock, User } from '@twarga/contract';
import { useEffect, useId, useState, type FormEvent } from 'react';
import { client, errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { EmptyList } from '../../components/EmptyState';
import { Section } from '../../components/Section';
import { SkeletonRows, Spinner } from '../../components/Spinner';
import { button, input, table } from '../../components/ui';
import { useConfirmedRemove } from '../../components/useConfirmedRemove';
import { useVms } from '../vms/queries';
import { formatEventTime } from './EventRows';
import { allowedScopes, DURATIONS, SCOPE_LABEL } from './incidentText';
import { socKeys, useBlocks } from './queries';

/** The current time, once a second: countdowns tick without refetching anything. */
function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

/** "2 h 05 min", "4 min 09 s", "12 s". */
export function formatRemaining(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  if (m > 0) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${s} s`;
}

function Expiry({ block, now }: { block: SocBlock; now: number }) {
  if (!block.expires_at) return <span>Until lifted</span>;
  const left = Date.parse(block.expires_at) - now;
  return (
    <time dateTime={block.expires_at} title={formatEventTime(block.expires_at)} className="tabular-nums">
      {left > 0 ? `in ${formatRemaining(left)}` : 'expiring…'}
    </time>
  );
}

/** Block an address by hand: where (as the viewer may) and for how long. */
function AddBlockForm({ me, vms }: { me: User; vms: { id: number; name: string }[] }) {
  const queryClient = useQueryClient();
  const scopes = allowedScopes(me, vms.length > 0 ? vms[0]!.id : null);
  const scopeKey = scopes.join(',');
  const [address, setAddress] = useState('');
  const [scope, setScope] = useState<BlockScope | undefined>(scopes[0]);
  const [vmId, setVmId] = useState<string>(vms[0] ? String(vms[0].id) : '');
  const [duration, setDuration] = useState('3600');
  const [reason, setReason] = useState('');
  const id = useId();
  useEffect(() => {
    if (!vmId && vms[0]) setVmId(String(vms[0].id));
    if (!scope && scopes[0]) setScope(scopes[0]);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- scopeKey stands for scopes
  }, [vms, vmId, scope, scopeKey]);
  const add = useMutation({
    mutationFn: () =>
      client.soc.blocks.create({
        address: address.trim(),
        scope: scope!,
        vm_id: scope === 'vm' && vmId ? Number(vmId) : undefined,
        duration_seconds: duration ? Number(duration) : undefined,
        reason: reason.trim() || undefined,
      }),
    onSuccess: () => {
      setAddress('');
      setReason('');
      void queryClient.invalidateQueries({ queryKey: socKeys.blocks });
      void queryClient.invalidateQueries({ queryKey: socKeys.statistics });
    },
  });
  if (!scope) return <p className="mt-6 text-sm text-slate-600 dark:text-slate-400">You have no VM: there is nothing of yours to block an address on.</p>;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    add.mutate();
  };
  const lbl = 'mb-1 block text-xs font-medium text-slate-700 dark:text-slate-300';
  return (
    <form onSubmit={submit} className="mt-6 border-t border-slate-200 pt-5 dark:border-slate-800" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`} className="text-sm font-semibold text-slate-900 dark:text-white">Block an address</h3>
      <div className="mt-3 flex flex-wrap items-end gap-3">
        <div className="w-48">
          <label htmlFor={`${id}-addr`} className={lbl}>Address</label>
          <input id={`${id}-addr`} required minLength={2} maxLength={64} className={`${input} font-mono`} placeholder="203.0.113.9" value={address} onChange={(e) => setAddress(e.target.value)} />
        </div>
        <div>
          <label htmlFor={`${id}-scope`} className={lbl}>Where</label>
          <select id={`${id}-scope`} className={input} value={scope} onChange={(e) => setScope(e.target.value as BlockScope)}>
            {scopes.map((s) => <option key={s} value={s}>{s === 'vm' ? "One VM's SSH" : SCOPE_LABEL[s]}</option>)}
          </select>
        </div>
        {scope === 'vm' && (
          <div>
            <label htmlFor={`${id}-vm`} className={lbl}>VM</label>
            <select id={`${id}-vm`} className={input} value={vmId} onChange={(e) => setVmId(e.target.value)}>
              {vms.map((v) => <option key={v.id} value={v.id}>{v.name} (#{v.id})</option>)}
            </select>
          </div>
        )}
        <div>
          <label htmlFor={`${id}-dur`} className={lbl}>For</label>
          <select id={`${id}-dur`} className={input} value={duration} onChange={(e) => setDuration(e.target.value)}>
            {DURATIONS.map((d) => <option key={d.label} value={d.seconds ?? ''}>{d.label}</option>)}
          </select>
        </div>
        <div className="min-w-48 flex-1">
          <label htmlFor={`${id}-reason`} className={lbl}>Reason (optional)</label>
          <input id={`${id}-reason`} maxLength={500} className={input} value={reason} onChange={(e) => setReason(e.target.value)} />
        </div>
        <button type="submit" className={button.danger} disabled={add.isPending}>
          {add.isPending && <Spinner />}
          Block
        </button>
      </div>
      {add.isError && <Alert className="mt-3">{errorMessage(add.error)}</Alert>}
    </form>
  );
}

/** Active blocks with their countdown and offence, lifting (confirmed) and blocking by hand. */
export function BlocksSection({ me }: { me: User }) {
  const blocks = useBlocks();
  const vms = useVms();
  const now = useNow();
  const lift = useConfirmedRemove<SocBlock>(socKeys.blocks, client.soc.blocks.lift);
  const queryClient = useQueryClient();
  // A countdown that reached zero: ask the server once, which drops the block from the active list.
  const expired = (blocks.data ?? []).filter((b) => b.expires_at && Date.parse(b.expires_at) <= now).length;
  useEffect(() => {
    if (expired > 0) void queryClient.invalidateQueries({ queryKey: socKeys.blocks });
  }, [expired, queryClient]);
  const myVmIds = new Set((vms.data ?? []).filter((v) => v.user_id === me.id).map((v) => v.id));
  const mayLift = (b: SocBlock) => me.is_admin || (b.scope === 'vm' && b.vm_id !== null && myVmIds.has(b.vm_id));
  return (
    <Section title="Blocked addresses" description="Addresses refused right now: on one VM's SSH, on every VM's SSH, or on the control plane. Every block and lift is audited.">
      {blocks.isPending && <SkeletonRows label="Loading blocks…" rows={2} />}
      {blocks.isError && <Alert>Could not load the blocks: {errorMessage(blocks.error)}</Alert>}
      {blocks.isSuccess &&
        (blocks.data.length === 0 ? (
          <EmptyList>No address is blocked.</EmptyList>
        ) : (
          <div className={table.wrap}>
            <table className={table.table} data-testid="soc-blocks">
              <caption className="sr-only">Active blocks</caption>
              <thead>
                <tr>
                  <th scope="col" className={table.th}>Address</th>
                  <th scope="col" className={table.th}>Where</th>
                  <th scope="col" className={table.th}>Expires</th>
                  <th scope="col" className={`${table.th} hidden md:table-cell`}>Offence</th>
                  <th scope="col" className={`${table.th} hidden lg:table-cell`}>Reason</th>
                  <th scope="col" className={table.th}><span className="sr-only">Actions</span></th>
                </tr>
              </thead>
              <tbody className={table.tbody}>
                {blocks.data.map((b) => (
                  <tr key={b.id} data-testid="soc-block" data-block-id={b.id}>
                    <td className={`${table.td} font-mono text-xs`}>{b.address}</td>
                    <td className={`${table.td} text-xs`}>{b.scope === 'vm' ? `VM #${b.vm_id}'s SSH` : SCOPE_LABEL[b.scope]}</td>
                    <td className={`${table.td} whitespace-nowrap text-xs`}><Expiry block={b} now={now} /></td>
                    <td className={`${table.td} hidden tabular-nums md:table-cell`}>{b.offence > 1 ? <span className="font-semibold text-red-800 dark:text-red-300">{b.offence} (repeat)</span> : b.offence}</td>
                    <td className={`${table.td} hidden text-xs lg:table-cell`}>
                      {b.reason}
                      <span className="block text-slate-600 dark:text-slate-400">{b.created_by === null ? `automatic${b.rule_id ? ` (${b.rule_id})` : ''}` : `by user #${b.created_by}`}{b.incident_id ? ` · incident #${b.incident_id}` : ''} · {formatEventTime(b.created_at)}</span>
                    </td>
                    <td className={`${table.td} text-right`}>
                      {mayLift(b) && (
                        <button type="button" className={button.dangerGhost} onClick={() => lift.ask(b)} aria-label={`Lift the block on ${b.address}`}>
                          Lift
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      <AddBlockForm me={me} vms={(vms.data ?? []).filter((v) => me.is_admin || v.user_id === me.id).map((v) => ({ id: v.id, name: v.name }))} />
      <ConfirmDialog open={lift.target !== undefined} onClose={lift.close} title="Lift this block?" confirmLabel="Lift block" onConfirm={lift.confirm} pending={lift.pending} error={lift.error}>
        {lift.target && (
          <>
            <code className="font-mono">{lift.target.address}</code> will be able to connect again ({lift.target.scope === 'vm' ? `VM #${lift.target.vm_id}'s SSH` : SCOPE_LABEL[lift.target.scope].toLowerCase()}).
          </>
        )}
      </ConfirmDialog>
    </Section>
  );
}
