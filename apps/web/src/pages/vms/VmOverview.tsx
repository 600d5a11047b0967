import type { Image, Vm } from '@twarga/contract';
import type { ReactNode } from 'react';
import { Section } from '../../components/Section';
import { button } from '../../components/ui';
import { formatDateTime, formatNumber } from '../../format';
import { StoppedBillsNote } from '../billing/BillingNote';
import { CopyButton } from './CopyButton';
import { formatCpus, formatMemory, formatPrice, formatUptime, imageLabel, sizeLabel } from './format';
import { useNow } from './useNow';

function Item({ term, children, mono = false, className = '' }: { term: string; children: ReactNode; mono?: boolean; className?: string }) {
  return (
    <div className={`rounded-lg bg-slate-50 px-4 py-3 dark:bg-slate-800/60 ${className}`}>
      <dt className="text-xs font-medium uppercase tracking-wide text-slate-600 dark:text-slate-400">{term}</dt>
      <dd className={`mt-1 text-sm font-semibold text-slate-900 [overflow-wrap:anywhere] dark:text-white ${mono ? 'font-mono' : ''}`}>{children}</dd>
    </div>
  );
}

export function OverviewSection({ vm, images }: { vm: Vm; images: Image[] | undefined }) {
  const now = useNow();
  return (
    <Section title="Overview">
      <dl className="grid grid-cols-2 gap-3 lg:grid-cols-4">
        <Item term="Image">{imageLabel(vm.image, images)}</Item>
        <Item term="Size">{sizeLabel(vm)}</Item>
        <Item term="RAM / CPU / disk">
          {formatMemory(vm.ram)} / {formatCpus(vm.cpu)} / {formatNumber(vm.disk)} GB
        </Item>
        <Item term="Price">{formatPrice(vm.price_hourly)}</Item>
        <Item term="Created">{formatDateTime(vm.created_at)}</Item>
        <Item term="Uptime">{formatUptime(vm, now)}</Item>
        <Item term="Driver">{vm.driver}</Item>
        <Item term="OS type">{vm.os_type}</Item>
      </dl>
      {vm.status !== 'destroyed' && <StoppedBillsNote priceHourly={vm.price_hourly} className="mt-3" />}
    </Section>
  );
}

export function ConnectSection({ vm }: { vm: Vm }) {
  const note =
    vm.status === 'stopped'
      ? 'The VM is stopped: SSH works when the VM runs. Start it to connect.'
      : vm.status === 'running'
        ? !vm.ssh_command && 'The SSH command appears here in a moment.'
        : vm.ssh_command || vm.status === 'error'
          ? 'SSH works when the VM runs.'
          : 'The SSH command appears here once the VM is running.';
  return (
    <Section title="Connect" description={`Log in as ${vm.ssh_user} with one of the SSH keys you chose at creation.`}>
      <dl className="grid grid-cols-2 gap-3 sm:grid-cols-3">
        <Item term="IP address" mono className="col-span-2 sm:col-span-1">
          {vm.ip_address ?? '—'}
        </Item>
        <Item term="SSH user" mono>
          {vm.ssh_user}
        </Item>
        <Item term="SSH port" mono>
          {vm.ssh_port ?? '—'}
        </Item>
      </dl>
      <h3 className="mb-2 mt-5 text-sm font-medium text-slate-800 dark:text-slate-200">SSH command</h3>
      {vm.ssh_command && (
        <div className="flex flex-col gap-2 sm:flex-row sm:items-center">
          <pre className="min-w-0 flex-1 overflow-x-auto rounded-lg bg-slate-900 px-4 py-3 text-sm text-slate-100 dark:bg-slate-950 dark:ring-1 dark:ring-slate-800">
            <code className="font-mono">{vm.ssh_command}</code>
          </pre>
          <CopyButton text={vm.ssh_command} label="Copy SSH command" className={button.secondary} />
        </div>
      )}
      {note && <p className={`text-sm text-slate-600 dark:text-slate-400 ${vm.ssh_command ? 'mt-3' : ''}`}>{note}</p>}
    </Section>
  );
}
