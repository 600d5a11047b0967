import type { InstanceSpec } from '../driver.js';

/** The XML namespace of the metadata element that carries the instance's .vm_info record. */
export const METADATA_NAMESPACE = 'https://twarga.cloud/xmlns/libvirt/instance/1';
export const METADATA_KEY = 'twarga';

export type DomainType = 'qemu' | 'kvm';

export interface DomainXmlOptions {
  /** The libvirt domain name (namePrefix + instance id). */
  name: string;
  /** qemu = software emulation (TCG), kvm = hardware acceleration. */
  domainType: DomainType;
  /** The libvirt network the VM's NIC joins (its DHCP lease is the VM's private address). */
  network: string;
  /** Paths on the libvirt host, as `virsh vol-path` reports them. */
  volumes: {
    disk: string;
    seed: string;
    /** Present for kernel boots: the shared kernel and initrd volumes. */
    kernel?: string;
    initrd?: string;
  };
  /** Where virtlogd keeps everything the serial console printed (a path on the libvirt host). */
  consoleLog: string;
  /** The .vm_info record, stored as domain metadata. */
  info?: Record<string, unknown>;
  /** Kept from an earlier definition when re-defining (rebuild): same uuid, same MAC, same DHCP lease. */
  uuid?: string;
  mac?: string;
}

/** Escapes text and attribute values (names and paths are validated by callers; escape anyway). */
export function xmlEscape(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export function xmlUnescape(value: string): string {
  return value.replace(/&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/g, (_, e: string) => {
    switch (e) {
      case 'amp': return '&';
      case 'lt': return '<';
      case 'gt': return '>';
      case 'quot': return '"';
      case 'apos': return "'";
      default: return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    }
  });
}

/**
 * The <instance> element stored under the domain's <metadata> (namespace METADATA_NAMESPACE):
 * the .vm_info JSON as its <info> text. `prefixed` adds the namespace prefix (for a full domain
 * XML); `virsh metadata --set` takes it without (virsh adds the namespace from --uri/--key).
 */
export function infoMetadataElement(info: Record<string, unknown>, prefixed: boolean): string {
  const json = xmlEscape(JSON.stringify(info));
  return prefixed
    ? `<${METADATA_KEY}:instance xmlns:${METADATA_KEY}="${xmlEscape(METADATA_NAMESPACE)}"><${METADATA_KEY}:info>${json}</${METADATA_KEY}:info></${METADATA_KEY}:instance>`
    : `<instance><info>${json}</info></instance>`;
}

/** Reads the .vm_info record back from `virsh metadata <dom> <uri>` output; undefined if absent. */
export function parseInfoMetadata(xml: string): Record<string, unknown> | undefined {
  const m = /<(?:[\w.-]+:)?info(?:\s[^>]*)?>([\s\S]*?)<\/(?:[\w.-]+:)?info>/.exec(xml);
  if (!m) return undefined;
  try {
    const value: unknown = JSON.parse(xmlUnescape(m[1]!));
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The libvirt domain XML for an instance. Pure: same input, same XML (unit-tested).
 * - kernel boot: direct kernel boot from the shared kernel/initrd volumes; vda is a blank data disk.
 * - disk boot: vda is a qcow2 overlay of the image volume, booted by the BIOS.
 * The NoCloud seed is a read-only virtio disk (vdb), not a SATA/IDE cdrom: the tiny initramfs
 * has no AHCI driver. The serial port is a PTY (for the console) that virtlogd also logs.
 * The NIC's bridge port is isolated (no guest-to-guest traffic on the network).
 */
export function domainXml(spec: InstanceSpec, opts: DomainXmlOptions): string {
  const e = xmlEscape;
  const v = opts.volumes;
  let os: string;
  if (spec.boot.kind === 'kernel') {
    if (!v.kernel || !v.initrd) throw new Error('a kernel boot needs kernel and initrd volumes');
    os = [
      `    <type arch='x86_64' machine='q35'>hvm</type>`,
      `    <kernel>${e(v.kernel)}</kernel>`,
      `    <initrd>${e(v.initrd)}</initrd>`,
      `    <cmdline>${e(spec.boot.cmdline)}</cmdline>`,
    ].join('\n');
  } else {
    os = [`    <type arch='x86_64' machine='q35'>hvm</type>`, `    <boot dev='hd'/>`].join('\n');
  }
  const lines = [
    `<domain type='${e(opts.domainType)}'>`,
    `  <name>${e(opts.name)}</name>`,
    ...(opts.uuid ? [`  <uuid>${e(opts.uuid)}</uuid>`] : []),
    `  <title>${e(spec.hostname)}</title>`,
    ...(opts.info ? [`  <metadata>`, `    ${infoMetadataElement(opts.info, true)}`, `  </metadata>`] : []),
    `  <memory unit='MiB'>${e(spec.memoryMb)}</memory>`,
    `  <vcpu>${e(spec.vcpus)}</vcpu>`,
    `  <os>`,
    os,
    `  </os>`,
    `  <features><acpi/></features>`,
    ...(opts.domainType === 'kvm' ? [`  <cpu mode='host-passthrough'/>`] : []),
    `  <clock offset='utc'/>`,
    `  <on_poweroff>destroy</on_poweroff>`,
    `  <on_reboot>restart</on_reboot>`,
    `  <on_crash>destroy</on_crash>`,
    `  <devices>`,
    `    <disk type='file' device='disk'>`,
    `      <driver name='qemu' type='qcow2' discard='unmap'/>`,
    `      <source file='${e(v.disk)}'/>`,
    `      <target dev='vda' bus='virtio'/>`,
    `    </disk>`,
    `    <disk type='file' device='disk'>`,
    `      <driver name='qemu' type='raw'/>`,
    `      <source file='${e(v.seed)}'/>`,
    `      <target dev='vdb' bus='virtio'/>`,
    `      <readonly/>`,
    `    </disk>`,
    `    <interface type='network'>`,
    `      <source network='${e(opts.network)}'/>`,
    ...(opts.mac ? [`      <mac address='${e(opts.mac)}'/>`] : []),
    `      <model type='virtio'/>`,
    // The bridge port is isolated: guests on the network cannot reach each other (only the host
    // and the NAT uplink), so one tenant's VM cannot talk to another's SSH.
    `      <port isolated='yes'/>`,
    `    </interface>`,
    `    <serial type='pty'>`,
    `      <log file='${e(opts.consoleLog)}' append='on'/>`,
    `      <target port='0'/>`,
    `    </serial>`,
    `    <console type='pty'>`,
    `      <target type='serial' port='0'/>`,
    `    </console>`,
    // The QEMU guest agent's channel (libvirt picks the socket path) and the balloon, for the
    // guest's own statistics every 2 s (virsh dommemstat).
    `    <channel type='unix'>`,
    `      <target type='virtio' name='org.qemu.guest_agent.0'/>`,
    `    </channel>`,
    `    <memballoon model='virtio'>`,
    `      <stats period='2'/>`,
    `    </memballoon>`,
    `    <rng model='virtio'>`,
    `      <backend model='random'>/dev/urandom</backend>`,
    `    </rng>`,
    `  </devices>`,
    `</domain>`,
  ];
  return lines.join('\n') + '\n';
}

/**
 * A domain's inactive XML (`virsh dumpxml --inactive`) with new RAM and vCPUs: <memory>,
 * <currentMemory> and <vcpu> replaced, everything else (uuid, MAC, disks, metadata) kept. Pure.
 */
export function resizedDomainXml(xml: string, to: { memoryMb: number; vcpus: number }): string {
  if (!Number.isInteger(to.memoryMb) || to.memoryMb < 1 || !Number.isInteger(to.vcpus) || to.vcpus < 1) {
    throw new Error(`invalid resize target: ${JSON.stringify(to)}`);
  }
  const replaceOne = (text: string, re: RegExp, by: string, what: string) => {
    if (!re.test(text)) throw new Error(`the domain XML has no ${what}`);
    return text.replace(re, by);
  };
  let out = replaceOne(xml, /<memory\b[^>]*>\s*[0-9]+\s*<\/memory>/, `<memory unit='MiB'>${to.memoryMb}</memory>`, '<memory>');
  // libvirt adds <currentMemory> (the balloon's target) on define; keep it equal to <memory>.
  out = out.replace(/<currentMemory\b[^>]*>\s*[0-9]+\s*<\/currentMemory>/, `<currentMemory unit='MiB'>${to.memoryMb}</currentMemory>`);
  return replaceOne(out, /<vcpu\b[^>]*>\s*[0-9]+\s*<\/vcpu>/, `<vcpu placement='static'>${to.vcpus}</vcpu>`, '<vcpu>');
}

/** The domain's uuid and first MAC address from its XML (kept across a rebuild's re-define). */
export function domainIdentity(xml: string): { uuid?: string; mac?: string } {
  const uuid = /<uuid>\s*([0-9a-fA-F-]{36})\s*<\/uuid>/.exec(xml)?.[1];
  const mac = /<mac\s+address=['"]([0-9a-fA-F:]{17})['"]/.exec(xml)?.[1];
  return { ...(uuid ? { uuid } : {}), ...(mac ? { mac } : {}) };
}
