import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { InstanceSpec } from '../driver.js';
import { domainXml, infoMetadataElement, METADATA_NAMESPACE, parseInfoMetadata, xmlEscape, xmlUnescape, type DomainXmlOptions } from './domain-xml.js';

const spec: InstanceSpec = {
  id: 'vm-7',
  hostname: 'web-1',
  memoryMb: 512,
  vcpus: 2,
  diskGb: 10,
  sshPort: 24007,
  boot: { kind: 'kernel', kernel: '/img/vmlinuz', initrd: '/img/initrd.img', cmdline: 'console=ttyS0 panic=-1' },
  seed: { metaData: 'instance-id: vm-7\n', userData: '#cloud-config\n' },
  info: { name: 'web-1', owner: 'alice' },
};

const opts: DomainXmlOptions = {
  name: 'twarga-vm-7',
  domainType: 'qemu',
  network: 'default',
  volumes: {
    disk: '/pool/twarga-vm-7-disk.qcow2',
    seed: '/pool/twarga-vm-7-seed.iso',
    kernel: '/pool/shared-0123-vmlinuz',
    initrd: '/pool/shared-4567-initrd.img',
  },
  consoleLog: '/var/log/libvirt/qemu/twarga-vm-7.console.log',
  info: spec.info,
};

/** Well-formed enough: every start tag is closed in order, and no raw & or < in text/attributes. */
function assertBalanced(xml: string): void {
  const stack: string[] = [];
  const body = xml.replace(/<\?[^>]*\?>/g, '');
  for (const m of body.matchAll(/<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:'[^'<]*'|"[^"<]*"))*)\s*(\/?)>/g)) {
    const [, close, tag, , selfClose] = m;
    if (selfClose) continue;
    if (close) assert.equal(stack.pop(), tag, `closing </${tag}>`);
    else stack.push(tag!);
  }
  assert.deepEqual(stack, [], 'every tag is closed');
  const text = body.replace(/<[^>]*>/g, '');
  assert.doesNotMatch(text, /&(?!(amp|lt|gt|quot|apos);)/, 'bare & in text');
  assert.doesNotMatch(text, /[<>]/, 'bare < or > in text');
}

describe('libvirt domain XML', () => {
  test('kernel boot: q35, kernel/initrd/cmdline from the shared volumes, software emulation', () => {
    const xml = domainXml(spec, opts);
    assertBalanced(xml);
    assert.match(xml, /^<domain type='qemu'>/);
    assert.match(xml, /<name>twarga-vm-7<\/name>/);
    assert.match(xml, /<title>web-1<\/title>/);
    assert.match(xml, /<memory unit='MiB'>512<\/memory>/);
    assert.match(xml, /<vcpu>2<\/vcpu>/);
    assert.match(xml, /<type arch='x86_64' machine='q35'>hvm<\/type>/);
    assert.match(xml, /<kernel>\/pool\/shared-0123-vmlinuz<\/kernel>/);
    assert.match(xml, /<initrd>\/pool\/shared-4567-initrd\.img<\/initrd>/);
    assert.match(xml, /<cmdline>console=ttyS0 panic=-1<\/cmdline>/);
    assert.doesNotMatch(xml, /<boot dev=/);
    assert.doesNotMatch(xml, /host-passthrough/);
    assert.match(xml, /<features><acpi\/><\/features>/);
    assert.match(xml, /<on_poweroff>destroy<\/on_poweroff>/);
    // Isolated port: another guest on the same network cannot reach this one (tenant isolation).
    assert.match(xml, /<interface type='network'>\s*<source network='default'\/>\s*<model type='virtio'\/>\s*<port isolated='yes'\/>\s*<\/interface>/);
    // The guest agent's channel and the balloon with its statistics period (guestReport).
    assert.match(xml, /<channel type='unix'>\s*<target type='virtio' name='org\.qemu\.guest_agent\.0'\/>\s*<\/channel>/);
    assert.match(xml, /<memballoon model='virtio'>\s*<stats period='2'\/>\s*<\/memballoon>/);
  });

  test('disk boot: BIOS boots vda, no kernel; kvm gets host-passthrough', () => {
    const xml = domainXml(
      { ...spec, boot: { kind: 'disk', path: '/images/debian.qcow2', format: 'qcow2' } },
      { ...opts, domainType: 'kvm', volumes: { disk: opts.volumes.disk, seed: opts.volumes.seed } },
    );
    assertBalanced(xml);
    assert.match(xml, /^<domain type='kvm'>/);
    assert.match(xml, /<boot dev='hd'\/>/);
    assert.doesNotMatch(xml, /<kernel>|<initrd>|<cmdline>/);
    assert.match(xml, /<cpu mode='host-passthrough'\/>/);
    assert.match(xml, /<source file='\/pool\/twarga-vm-7-disk\.qcow2'\/>/);
  });

  test('a kernel boot without kernel volumes is refused', () => {
    assert.throws(() => domainXml(spec, { ...opts, volumes: { disk: '/d', seed: '/s' } }), /kernel and initrd/);
  });

  test('the qcow2 disk is vda and the seed is a read-only raw virtio disk vdb (not a cdrom)', () => {
    const xml = domainXml(spec, opts);
    const disks = [...xml.matchAll(/<disk [^>]*>[\s\S]*?<\/disk>/g)].map((m) => m[0]);
    assert.equal(disks.length, 2);
    assert.match(disks[0]!, /device='disk'/);
    assert.match(disks[0]!, /type='qcow2'/);
    assert.match(disks[0]!, /<target dev='vda' bus='virtio'\/>/);
    assert.match(disks[1]!, /device='disk'/);
    assert.match(disks[1]!, /<driver name='qemu' type='raw'\/>/);
    assert.match(disks[1]!, /<source file='\/pool\/twarga-vm-7-seed\.iso'\/>/);
    assert.match(disks[1]!, /<target dev='vdb' bus='virtio'\/>/);
    assert.match(disks[1]!, /<readonly\/>/);
    assert.doesNotMatch(xml, /cdrom|bus='sata'|bus='ide'/);
  });

  test('the serial port is a PTY logged to the console log, and is the console', () => {
    const xml = domainXml(spec, opts);
    assert.match(xml, /<serial type='pty'>\s*<log file='\/var\/log\/libvirt\/qemu\/twarga-vm-7\.console\.log' append='on'\/>\s*<target port='0'\/>\s*<\/serial>/);
    assert.match(xml, /<console type='pty'>\s*<target type='serial' port='0'\/>\s*<\/console>/);
  });

  test('every value is escaped', () => {
    const nasty = `a'b"c<d>e&f`;
    const xml = domainXml(
      { ...spec, hostname: nasty, boot: { kind: 'kernel', kernel: '/k', initrd: '/i', cmdline: `console=ttyS0 x="<&>"` } },
      {
        ...opts,
        name: `n${nasty}`,
        network: `net${nasty}`,
        consoleLog: `/log/${nasty}`,
        volumes: { disk: `/d/${nasty}`, seed: `/s/${nasty}`, kernel: `/k/${nasty}`, initrd: `/i/${nasty}` },
        info: { note: `</info></instance>${nasty}` },
      },
    );
    assertBalanced(xml);
    const esc = 'a&apos;b&quot;c&lt;d&gt;e&amp;f';
    assert.ok(xml.includes(`<name>n${esc}</name>`));
    assert.ok(xml.includes(`<title>${esc}</title>`));
    assert.ok(xml.includes(`<source network='net${esc}'/>`));
    assert.ok(xml.includes(`<log file='/log/${esc}' append='on'/>`));
    assert.ok(xml.includes(`<source file='/d/${esc}'/>`));
    assert.ok(xml.includes(`<kernel>/k/${esc}</kernel>`));
    assert.ok(xml.includes(`<cmdline>console=ttyS0 x=&quot;&lt;&amp;&gt;&quot;</cmdline>`));
    assert.equal(xml.match(/<\/twarga:info>/g)?.length, 1, 'the record cannot close its element');
    assert.deepEqual(parseInfoMetadata(xml), { note: `</info></instance>${nasty}` });
  });

  test('the .vm_info record is domain metadata in our namespace, and reads back', () => {
    const xml = domainXml(spec, opts);
    assert.ok(xml.includes(`<twarga:instance xmlns:twarga="${METADATA_NAMESPACE}">`));
    assert.deepEqual(parseInfoMetadata(xml), spec.info);
    assert.equal(domainXml(spec, { ...opts, info: undefined }).includes('<metadata>'), false);
    // What `virsh metadata <dom> <uri>` prints back (no prefix, indented).
    const fromVirsh = `<instance>\n  <info>${xmlEscape(JSON.stringify({ a: '<b>&"c"', n: 1 }))}</info>\n</instance>\n`;
    assert.deepEqual(parseInfoMetadata(fromVirsh), { a: '<b>&"c"', n: 1 });
    assert.equal(infoMetadataElement({ a: 1 }, false), '<instance><info>{&quot;a&quot;:1}</info></instance>');
    assert.equal(parseInfoMetadata('<instance/>'), undefined);
    assert.equal(parseInfoMetadata('<instance><info>not json</info></instance>'), undefined);
  });

  test('the same input gives the same XML', () => {
    assert.equal(domainXml(spec, opts), domainXml(structuredClone(spec), structuredClone(opts)));
  });

  test('xmlUnescape undoes xmlEscape, and numeric references', () => {
    const s = `<&>"' plain ünï`;
    assert.equal(xmlUnescape(xmlEscape(s)), s);
    assert.equal(xmlUnescape('&#65;&#x42;'), 'AB');
  });
});
