/**
 * Vagrantfile templates, one per kind of box. Pure: the same input gives the same text (unit-tested).
 * Every interpolated value goes through rubyString/rubyInt, even though ids, names and paths are
 * validated before they get here.
 */
import { assertInstanceId } from '../driver.js';

export type VagrantProvider = 'libvirt' | 'virtualbox';

/** How a box is booted and reached. */
export interface BoxTemplate {
  /**
   * tiny: the built-in busybox image (direct kernel boot, root over SSH, seed disk read by its init).
   * cloud: a distribution's Vagrant box (user `vagrant`, keys and hostname set by a provisioner,
   * the NoCloud seed attached for cloud-init when the box runs it).
   */
  kind: 'tiny' | 'cloud';
  /** The user Vagrant (and the contract's SSH endpoint) logs in as. */
  sshUser: string;
  providers: VagrantProvider[];
  /** Whether cloud-init runs in the box and reads the NoCloud seed disk. */
  cloudInit: boolean;
  description: string;
}

/** The seed's box names plus the local boxes (images/tiny/build-box.sh, images/debian/build-box.sh). */
export const BOX_TEMPLATES: Readonly<Record<string, BoxTemplate>> = {
  'twarga/tiny': { kind: 'tiny', sshUser: 'root', providers: ['libvirt'], cloudInit: false, description: 'Twarga tiny Linux (kernel + initrd, blank /data disk)' },
  // The Debian 12 image built here, booted from its disk (GRUB); cloud-init's default user.
  'twarga/debian-12': { kind: 'cloud', sshUser: 'debian', providers: ['libvirt'], cloudInit: true, description: 'Debian 12 (bookworm), built here from Debian packages' },
  'ubuntu/focal64': { kind: 'cloud', sshUser: 'vagrant', providers: ['virtualbox', 'libvirt'], cloudInit: true, description: 'Ubuntu 20.04 LTS' },
  'ubuntu/jammy64': { kind: 'cloud', sshUser: 'vagrant', providers: ['virtualbox', 'libvirt'], cloudInit: true, description: 'Ubuntu 22.04 LTS' },
  'debian/bookworm64': { kind: 'cloud', sshUser: 'vagrant', providers: ['libvirt', 'virtualbox'], cloudInit: false, description: 'Debian 12' },
  'centos/stream8': { kind: 'cloud', sshUser: 'vagrant', providers: ['libvirt', 'virtualbox'], cloudInit: false, description: 'CentOS Stream 8' },
};

/**
 * Box for an os_type (seed box names, or the distribution names the images module uses). Debian
 * is the box made from the image built here: the seed's debian/bookworm64 cannot be downloaded
 * on hosts without internet access, and twarga/debian-12 runs the user's cloud-init user-data.
 */
const OS_TYPE_BOXES: Readonly<Record<string, string>> = {
  ubuntu: 'ubuntu/jammy64',
  debian: 'twarga/debian-12',
  'debian/bookworm64': 'twarga/debian-12',
  centos: 'centos/stream8',
};

export function boxForOsType(osType: string | undefined, tinyBox: string): string | undefined {
  if (!osType) return undefined;
  if (osType === 'tiny' || osType === tinyBox) return tinyBox;
  // Own keys only: an os_type of 'constructor' is no box.
  if (Object.hasOwn(OS_TYPE_BOXES, osType)) return OS_TYPE_BOXES[osType];
  return Object.hasOwn(BOX_TEMPLATES, osType) ? osType : undefined;
}

/** The template of a box: a known one, the tiny box under another name, or a generic cloud box. */
export function templateFor(box: string, tinyBox = 'twarga/tiny'): BoxTemplate {
  if (box === tinyBox) return BOX_TEMPLATES['twarga/tiny']!;
  return BOX_TEMPLATES[box] ?? { kind: 'cloud', sshUser: 'vagrant', providers: ['libvirt', 'virtualbox'], cloudInit: false, description: box };
}

export interface VagrantfileInput {
  /** vm-<n>: the Vagrant machine name; the libvirt domain is `<domainPrefix><id>`. */
  instanceId: string;
  box: string;
  /** Name of the tiny box (defaults to twarga/tiny). */
  tinyBox?: string;
  provider: VagrantProvider;
  hostname: string;
  memoryMb: number;
  vcpus: number;
  diskGb: number;
  /** Direct kernel boot (required by the tiny box, libvirt only). */
  kernelBoot?: { kernel: string; initrd: string; cmdline: string };
  /** The per-instance private key Vagrant logs in with (its public half is in the seed). */
  sshPrivateKeyPath: string;
  /** SSH public keys a cloud box's provisioner installs for root and the vagrant user. */
  authorizedKeys?: string[];
  /** The NoCloud seed: a raw volume in the libvirt pool (a virtio disk), or the ISO file (VirtualBox). */
  seed: { libvirtVolume?: string; isoPath: string };
  /** Seconds Vagrant waits for SSH after boot (software emulation is slow). */
  bootTimeoutSec?: number;
  libvirt?: {
    uri?: string;
    /** 'qemu' = software emulation (TCG), 'kvm' = hardware acceleration. */
    domainType?: 'qemu' | 'kvm';
    storagePool?: string;
    domainPrefix?: string;
    /**
     * vagrant-libvirt's management network (the NIC Vagrant reaches the guest by): a network the
     * driver defines itself with isolated ports (managementNetworkXml), instead of vagrant-libvirt's
     * shared `vagrant-libvirt` network, where every guest reaches every other's SSH.
     */
    managementNetwork?: ManagementNetwork;
    /**
     * The guest's serial ports: ttyS0 is a PTY (the interactive console, opened with `virsh
     * ttyconsole`), ttyS1 writes to this file, which a kernel booted here also prints to (the
     * boot log the console shows first). vagrant-libvirt cannot give one PTY a log file.
     */
    serialLog?: string;
  };
}

/**
 * The kernel also prints to ttyS1 (the log file). It goes first: the last console= is
 * /dev/console, which must stay ttyS0, where the shell and init's messages are.
 */
export function withBootLogConsole(cmdline: string): string {
  return /(^|\s)console=ttyS0(\s|,|$)/.test(cmdline) && !/(^|\s)console=ttyS1\b/.test(cmdline) ? `console=ttyS1 ${cmdline}` : cmdline;
}

/** A Ruby single-quoted string literal: only `\` and `'` are special inside it. */
export function rubyString(value: string): string {
  if (value.includes('\0')) throw new Error('a NUL byte cannot go into a Vagrantfile');
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export function rubyInt(value: number, what: string): string {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${what} must be a non-negative integer, got ${value}`);
  return String(value);
}

export const DEFAULT_DOMAIN_PREFIX = 'twarga-vagrant-';

/** A libvirt NAT network for Vagrant guests: its name and IPv4 subnet (`a.b.c.0/nn`). */
export interface ManagementNetwork {
  name: string;
  cidr: string;
}

/**
 * Our own network, not vagrant-libvirt's `vagrant-libvirt` (192.168.121.0/24), which other
 * Vagrant projects on the host share and which must not be changed under them: a subnet of its
 * own, or libvirt would refuse to start both.
 */
export const DEFAULT_MANAGEMENT_NETWORK: ManagementNetwork = { name: 'twarga-vagrant', cidr: '192.168.126.0/24' };

/** The subnet's parts; throws on anything but an IPv4 network address with a /16–/29 prefix. */
export function parseCidr(cidr: string): { network: string; netmask: string; gateway: string; dhcpStart: string; dhcpEnd: string; prefix: number } {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const prefix = m ? Number(m[5]) : NaN;
  if (!m || octets.some((o) => o > 255) || !(prefix >= 16 && prefix <= 29)) throw new Error(`invalid management network ${JSON.stringify(cidr)}: want an IPv4 subnet like 192.168.126.0/24`);
  const addr = octets.reduce((a, o) => a * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  if (addr % size !== 0) throw new Error(`invalid management network ${JSON.stringify(cidr)}: not the subnet's first address`);
  const ip = (n: number) => [24, 16, 8, 0].map((sh) => Math.floor(n / 2 ** sh) % 256).join('.');
  return { network: ip(addr), netmask: ip(2 ** 32 - size), gateway: ip(addr + 1), dhcpStart: ip(addr + 2), dhcpEnd: ip(addr + size - 2), prefix };
}

/** Network names end up in XML and the Vagrantfile: plain ones only. */
const NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * The management network's libvirt XML: NAT with DHCP, and `<port isolated='yes'/>` so every
 * guest's port on the bridge is isolated: guests reach the host and the NAT uplink, never each
 * other. The bridge name is left to libvirt (the next free virbrN).
 */
export function managementNetworkXml(net: ManagementNetwork): string {
  if (!NETWORK_NAME.test(net.name)) throw new Error(`invalid management network name ${JSON.stringify(net.name)}`);
  const c = parseCidr(net.cidr);
  return [
    '<network>',
    `  <name>${net.name}</name>`,
    `  <forward mode='nat'/>`,
    `  <bridge stp='on' delay='0'/>`,
    `  <port isolated='yes'/>`,
    `  <ip address='${c.gateway}' netmask='${c.netmask}'>`,
    `    <dhcp>`,
    `      <range start='${c.dhcpStart}' end='${c.dhcpEnd}'/>`,
    `    </dhcp>`,
    `  </ip>`,
    '</network>',
    '',
  ].join('\n');
}

/** The libvirt domain vagrant-libvirt creates for an instance (prefix + machine name). */
export function domainName(instanceId: string, prefix = DEFAULT_DOMAIN_PREFIX): string {
  assertInstanceId(instanceId);
  return `${prefix}${instanceId}`;
}

/** The libvirt volume holding an instance's NoCloud seed. */
export function seedVolumeName(instanceId: string, prefix = DEFAULT_DOMAIN_PREFIX): string {
  return `${domainName(instanceId, prefix)}-seed.iso`;
}

/**
 * The tiny image is busybox: no `shutdown`, no sudo, no systemd. Vagrant's Linux halt runs
 * `shutdown -h now`, which fails there, so the tiny box gets its own guest (everything else
 * inherited from :linux) whose halt capability runs busybox's `poweroff`.
 */
const TINY_GUEST_PLUGIN = `# The tiny image has no \`shutdown\`: its guest (a :linux child) halts with busybox poweroff.
unless defined?(TwargaTinyGuestPlugin)
  class TwargaTinyGuestPlugin < Vagrant.plugin('2')
    name 'twarga-tiny-guest'
    guest(:twarga_tiny, :linux) do
      Class.new(Vagrant.plugin('2', :guest)) do
        def detect?(_machine)
          false
        end
      end
    end
    guest_capability(:twarga_tiny, :halt) do
      Module.new do
        def self.halt(machine)
          machine.communicate.execute('poweroff')
        rescue IOError, Vagrant::Errors::SSHDisconnected
          # The guest went away mid-command: it is powering off.
        end
      end
    end
  end
end
`;

/** Installs the user's keys for root and the box user, whatever the box runs (cloud-init or not). */
const KEYS_SCRIPT = [
  'set -e',
  'for home in /root /home/vagrant; do',
  '  [ -d "$home" ] || continue',
  '  mkdir -p "$home/.ssh" && chmod 700 "$home/.ssh"',
  '  touch "$home/.ssh/authorized_keys"',
  '  printf \'%s\\n\' "$TWARGA_KEYS" | while IFS= read -r key; do',
  '    [ -n "$key" ] || continue',
  '    grep -qxF "$key" "$home/.ssh/authorized_keys" || printf \'%s\\n\' "$key" >>"$home/.ssh/authorized_keys"',
  '  done',
  '  chmod 600 "$home/.ssh/authorized_keys"',
  '  [ "$home" = /root ] || chown -R "$(basename "$home")": "$home/.ssh"',
  'done',
].join('\n');

export function renderVagrantfile(input: VagrantfileInput): string {
  assertInstanceId(input.instanceId);
  const tmpl = templateFor(input.box, input.tinyBox);
  if (!tmpl.providers.includes(input.provider)) {
    throw new Error(`box ${input.box} does not run on the ${input.provider} provider (it needs ${tmpl.providers.join(' or ')})`);
  }
  if (tmpl.kind === 'tiny' && !input.kernelBoot) throw new Error(`box ${input.box} boots a kernel and initrd: kernelBoot is required`);
  if (input.kernelBoot && input.provider !== 'libvirt') throw new Error('direct kernel boot needs the libvirt provider');
  const lv = input.libvirt ?? {};
  const s = rubyString;
  const mem = rubyInt(input.memoryMb, 'memoryMb');
  const cpus = rubyInt(input.vcpus, 'vcpus');
  const disk = rubyInt(input.diskGb, 'diskGb');

  const out: string[] = [];
  const add = (indent: number, ...lines: string[]) => lines.forEach((l) => out.push(' '.repeat(indent) + l));

  out.push(
    `# Generated by Twarga Cloud for ${input.instanceId} (box ${input.box.replace(/[^\w./-]/g, '?')}, provider ${input.provider}).`,
    '# Rewritten on every create: do not edit by hand.',
    '# TWARGA_HALT_TIMEOUT (seconds) is set by the driver for each halt: the graceful budget before power-off.',
  );
  if (tmpl.kind === 'tiny') out.push('', ...TINY_GUEST_PLUGIN.trimEnd().split('\n'));
  out.push('', "Vagrant.configure('2') do |config|");
  add(2, `config.vm.define ${s(input.instanceId)} do |m|`);
  add(4,
    `m.vm.box = ${s(input.box)}`,
    'm.vm.box_check_update = false',
    `m.vm.boot_timeout = ${rubyInt(input.bootTimeoutSec ?? 900, 'bootTimeoutSec')}`,
    "m.vm.graceful_halt_timeout = Integer(ENV.fetch('TWARGA_HALT_TIMEOUT', '60'))",
    "m.vm.synced_folder '.', '/vagrant', disabled: true",
    'm.ssh.insert_key = false',
    `m.ssh.username = ${s(tmpl.sshUser)}`,
  );
  if (tmpl.kind === 'tiny') {
    add(4,
      // Vagrant must not guess the guest: detection runs commands the tiny image lacks.
      'm.vm.guest = :twarga_tiny',
      "m.ssh.shell = 'sh'",
      // Root already, and there is no sudo in the image.
      "m.ssh.sudo_command = '%c'",
      `m.ssh.private_key_path = [${s(input.sshPrivateKeyPath)}]`,
    );
  } else {
    add(4,
      'm.vm.guest = :linux',
      `m.vm.hostname = ${s(input.hostname)}`,
      // The box's own (insecure) key until the provisioner has installed ours.
      `m.ssh.private_key_path = [${s(input.sshPrivateKeyPath)}, File.join(Vagrant.source_root.to_s, 'keys', 'vagrant')]`,
      `m.vm.provision 'twarga-keys', type: 'shell', privileged: true, env: { 'TWARGA_KEYS' => ${s((input.authorizedKeys ?? []).join('\n'))} }, inline: ${s(KEYS_SCRIPT)}`,
    );
  }

  if (input.provider === 'libvirt') {
    add(4, 'm.vm.provider :libvirt do |lv|');
    const p = (...lines: string[]) => add(6, ...lines);
    if (lv.uri) p(`lv.uri = ${s(lv.uri)}`);
    const type = lv.domainType ?? 'qemu';
    p(`lv.driver = ${s(type)}`);
    // Under software emulation the host's CPU model cannot be offered: a generic x86-64 one is.
    if (type === 'qemu') p("lv.cpu_mode = 'custom'", "lv.cpu_model = 'qemu64'");
    else p("lv.cpu_mode = 'host-passthrough'");
    p(
      `lv.default_prefix = ${s(lv.domainPrefix ?? DEFAULT_DOMAIN_PREFIX)}`,
      `lv.memory = ${mem}`,
      `lv.cpus = ${cpus}`,
      `lv.machine_virtual_size = ${disk}`,
      `lv.storage_pool_name = ${s(lv.storagePool ?? 'default')}`,
      "lv.graphics_type = 'none'",
    );
    // The driver defines this network (isolated ports) before `vagrant up`; vagrant-libvirt finds
    // it by its subnet and, with keep, never deletes it on destroy (other machines use it).
    const net = lv.managementNetwork ?? DEFAULT_MANAGEMENT_NETWORK;
    if (!NETWORK_NAME.test(net.name)) throw new Error(`invalid management network name ${JSON.stringify(net.name)}`);
    parseCidr(net.cidr);
    p(`lv.management_network_name = ${s(net.name)}`, `lv.management_network_address = ${s(net.cidr)}`, 'lv.management_network_keep = true');
    if (input.kernelBoot) {
      const cmdline = lv.serialLog ? withBootLogConsole(input.kernelBoot.cmdline) : input.kernelBoot.cmdline;
      p(`lv.kernel = ${s(input.kernelBoot.kernel)}`, `lv.initrd = ${s(input.kernelBoot.initrd)}`, `lv.cmd_line = ${s(cmdline)}`);
    }
    if (input.seed.libvirtVolume) {
      // A virtio disk, not a CD-ROM: the tiny initramfs has no IDE/AHCI/SCSI driver, and
      // cloud-init finds a cidata-labelled filesystem on any block device. The driver uploads
      // the volume before `vagrant up` and deletes it on destroy (allow_existing: Vagrant keeps it).
      p(`lv.storage :file, path: ${s(input.seed.libvirtVolume)}, type: 'raw', bus: 'virtio', allow_existing: true`);
    }
    // The QEMU guest agent's channel (the tiny image runs qemu-ga on it). vagrant-libvirt keeps
    // libvirt's default virtio balloon; the driver turns its statistics period on at run time.
    p("lv.channel :type => 'unix', :target_name => 'org.qemu.guest_agent.0', :target_type => 'virtio'");
    if (lv.serialLog) p("lv.serial type: 'pty'", `lv.serial type: 'file', source: { path: ${s(lv.serialLog)} }`);
    add(4, 'end');
  } else {
    add(4, 'm.vm.provider :virtualbox do |vb|');
    add(6,
      `vb.name = ${s(domainName(input.instanceId, lv.domainPrefix))}`,
      `vb.memory = ${mem}`,
      `vb.cpus = ${cpus}`,
      'vb.gui = false',
      "# TODO(virtualbox): attach the NoCloud seed ISO (the user's cloud-init user-data) with",
      "# vb.customize ['storageattach', :id, '--storagectl', <the box's controller>, ...]: the",
      '# controller name differs per box and VirtualBox cannot be tested on these hosts. Keys and',
      '# hostname come from the provisioner meanwhile.',
      `# Seed: ${input.seed.isoPath.replace(/[^\w./-]/g, '?')}`,
    );
    add(4, 'end');
    // Needs VAGRANT_EXPERIMENTAL=disks (the driver sets it for VirtualBox).
    add(4, `m.vm.disk :disk, name: 'root', size: ${s(`${disk}GB`)}, primary: true`);
  }
  add(2, 'end');
  out.push('end', '');
  return out.join('\n');
}
